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
        XCTAssertEqual(r.map(\.fields), [["a", "b", "c"], ["x, y", "he said \"hi\"", ""], ["multi\nline", "2", "3"], ["last", "", ""]] as [[String?]])
        XCTAssertEqual(r.map(\.line), [1, 2, 3, 6])
    }

    func testByteOrderMarkIsSkipped() throws {
        XCTAssertEqual(try records("\u{FEFF}age,x\n1,2\n").first?.fields, ["age", "x"])
    }

    /// Regression (data-dependent failures): a stray quote, text after a
    /// closing quote, invalid UTF-8 or an over-long field makes only that
    /// field unreadable; the record and the file go on with the same
    /// record boundaries Python's csv module finds.
    func testMalformedFieldsAreConfinedToTheirField() throws {
        let r = try records("a,b\nba\"d,1\n\"x\"y,2\n\u{FFFF}ok,3\n4,5\n")
        XCTAssertEqual(r.map(\.fields), [["a", "b"], [nil, "1"], [nil, "2"], ["\u{FFFF}ok", "3"], ["4", "5"]] as [[String?]])
        XCTAssertEqual(r.map(\.line), [1, 2, 3, 4, 5])
        let dir = try TestSupport.makeTemporaryDirectory("csv")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.csv")
        try Data("a,b\n".utf8 + [0xFF, 0xFE] + Data(",1\n".utf8) + Data(String(repeating: "9", count: CSVReader.maxFieldBytes + 1).utf8) + Data(",2\n".utf8)).write(to: url)
        let reader = try CSVReader(path: url.path)
        var out: [CSVReader.Record] = []
        while let rec = try reader.next() { out.append(rec) }
        XCTAssertEqual(out.map(\.fields), [["a", "b"], [nil, "1"], [nil, "2"]] as [[String?]])
        XCTAssertEqual(out.map(\.fieldCount), [2, 2, 2])
    }

    /// The one error that cannot be confined names the line where the record starts.
    func testUnterminatedQuoteNamesItsLine() throws {
        XCTAssertThrowsError(try records("a\n1\n\"open\n")) { XCTAssertTrue("\($0)".contains(":3"), "\($0)") }
    }

    /// The digest covers every byte of the file, checked with sha256sum.
    func testDigestCoversTheWholeFile() throws {
        let dir = try TestSupport.makeTemporaryDirectory("csv")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.csv")
        try Data(("\u{FEFF}v\n" + (0..<50_000).map { "\($0)" }.joined(separator: "\n")).utf8).write(to: url)
        let reader = try CSVReader(path: url.path)
        XCTAssertNil(reader.sha256)
        while try reader.next() != nil {}
        let expected = try TestSupport.run("sha256sum", [url.path]).stdoutText.prefix(64)
        XCTAssertEqual(reader.sha256?.hex, String(expected))
    }

    func testLargeFileStreams() throws {
        var text = "v\n"
        for i in 0..<100_000 { text += "\(i)\n" }
        let r = try records(text)
        XCTAssertEqual(r.count, 100_001)
        XCTAssertEqual(r.last?.fields, ["99999"] as [String?])
        XCTAssertEqual(r.last?.line, 100_001)
    }
}
