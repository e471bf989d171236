import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

final class CSVReaderTests: XCTestCase {
    func records(_ text: String) throws -> [CSVReader.Record] {
        let dir = try TestSupport.makeTemporaryDirectory("csv")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.csv")
        try Data(text.utf8).write(to: url)
        let reader = try CSVReader(path: url.path)
        var out: [CSVReader.Record] = []
        while let r = try reader.next() { out.append(r) }
        return out
    }

    func testRFC4180Quoting() throws {
        let r = try records("a,b,c\r\n\"x, y\",\"he said \"\"hi\"\"\",\r\n\"multi\nline\",2,3\n\nlast,,\"\"")
        XCTAssertEqual(r.map(\.fields), [["a", "b", "c"], ["x, y", "he said \"hi\"", ""], ["multi\nline", "2", "3"], ["last", "", ""]])
        XCTAssertEqual(r.map(\.line), [1, 2, 3, 6])
    }

    func testByteOrderMarkIsSkipped() throws {
        XCTAssertEqual(try records("\u{FEFF}age,x\n1,2\n").first?.fields, ["age", "x"])
    }

    func testMalformedRecordsNameTheirLine() throws {
        XCTAssertThrowsError(try records("a\nok\nba\"d\n")) { XCTAssertTrue("\($0)".contains(":3"), "\($0)") }
        XCTAssertThrowsError(try records("a\n\"x\"y\n")) { XCTAssertTrue("\($0)".contains(":2"), "\($0)") }
        XCTAssertThrowsError(try records("a\n1\n\"open\n")) { XCTAssertTrue("\($0)".contains(":3"), "\($0)") }
    }

    func testLargeFileStreams() throws {
        var text = "v\n"
        for i in 0..<100_000 { text += "\(i)\n" }
        let r = try records(text)
        XCTAssertEqual(r.count, 100_001)
        XCTAssertEqual(r.last?.fields, ["99999"])
        XCTAssertEqual(r.last?.line, 100_001)
    }
}
