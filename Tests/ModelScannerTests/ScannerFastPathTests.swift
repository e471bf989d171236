import Foundation
@testable import ModelScanner
import XCTest

/// The byte-level fast paths the scanner takes for speed read exactly what
/// the slower text versions they replaced read.
final class ScannerFastPathTests: XCTestCase {
    /// `fileExtension` agrees with Foundation's `pathExtension` (lowercased).
    func testFileExtensionAgreesWithFoundation() {
        let paths = [".pkl", "a.pkl", "a.b.PKL", "dir.d/file", "dir/.pkl", "a.", "a..pkl", "/x/y.tar.gz", "a/b.pkl/",
                     "é.pt", "a.p k l", "a.Ü", "/", "", ".", "..", "a/..", "a.b/", "x.safetensors", "m/model.SafeTensors//",
                     "noext", "a.b.c.d", "dir.v2/model"]
        for path in paths {
            XCTAssertEqual(ModelScanner.fileExtension(path), (path as NSString).pathExtension.lowercased(), path)
        }
    }

    /// The ASCII decimal fast path accepts exactly what the text path accepts,
    /// with the same value, and leaves everything else (errors, overflow) to it.
    func testASCIIDecimalAgreesWithTheTextPath() throws {
        let inputs = ["0", "12", "-7", "+5", " 42\t", "\r9", "5L", "5 L", "-", "+", "", "  ", "1_0", "0x10", "١٢", "12a",
                      "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                      "007", "3L", "L", "-L", "4\u{301}", " \u{301}4"]
        for text in inputs {
            for allowLong in [false, true] {
                let raw = Array(text.utf8)
                let machine = PickleMachine(bytes: ByteSource([]), start: 0, location: "t", limits: ScanLimits(),
                                            joblib: false, framedReader: false)
                let slow = Result { try machine.textDecimal(raw, allowLongSuffix: allowLong) }
                let fast = PickleMachine.asciiDecimal(raw, allowLongSuffix: allowLong)
                let combined = Result { try machine.decimal(raw, allowLongSuffix: allowLong) }
                if let fast {
                    XCTAssertEqual(try slow.get(), fast, "\(text.debugDescription) long=\(allowLong)")
                }
                switch (slow, combined) {
                case let (.success(a), .success(b)): XCTAssertEqual(a, b, text.debugDescription)
                case (.failure, .failure): break
                default: XCTFail("\(text.debugDescription) long=\(allowLong): \(slow) vs \(combined)")
                }
            }
        }
    }

    /// The memo keeps Python's semantics whatever order indices come in.
    func testMemoMatchesADictionary() {
        var memo = PickleMemo()
        var reference: [Int: Int] = [:]
        var generator = SystemRandomNumberGenerator()
        for step in 0..<5_000 {
            let index = Int.random(in: 0..<64, using: &generator) < 48 ? memo.count : Int.random(in: 0..<80, using: &generator)
            memo.set(index, .int(step))
            reference[index] = step
            XCTAssertEqual(memo.count, reference.count)
            let probe = Int.random(in: -2..<90, using: &generator)
            XCTAssertEqual(memo.contains(probe), reference[probe] != nil, "probe \(probe)")
            if case let .int(value)? = memo[probe] { XCTAssertEqual(value, reference[probe]) } else { XCTAssertNil(reference[probe]) }
        }
    }
}
