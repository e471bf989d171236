import Foundation
@testable import ModelScanner
import TestSupport
import XCTest

/// The byte-level fast paths the scanner takes for speed read exactly what
/// the slower text versions they replaced read.
final class ScannerFastPathTests: XCTestCase {
    /// `fileExtension` agrees with Foundation's `pathExtension` (lowercased) on ordinary names.
    func testFileExtensionAgreesWithFoundation() {
        let paths = [".pkl", "a.pkl", "a.b.PKL", "dir.d/file", "dir/.pkl", "a.", "a..pkl", "/x/y.tar.gz", "a/b.pkl/",
                     "é.pt", "a.p k l", "a.Ü", "/", "", ".", "..", "a/..", "a.b/", "x.safetensors", "m/model.SafeTensors//",
                     "noext", "a.b.c.d", "dir.v2/model"]
        for path in paths {
            XCTAssertEqual(ModelScanner.fileExtension(path), (path as NSString).pathExtension.lowercased(), path)
        }
        // Where Foundation's grapheme clusters swallow a separator, the bytes
        // decide, as the file system and os.path.splitext do.
        XCTAssertEqual(ModelScanner.fileExtension("d\u{0600}/.pkl"), "")
        XCTAssertEqual(ModelScanner.fileExtension("e\u{0600}.pkl"), "pkl")
    }

    /// Integer arguments are read as Python reads them: `PythonInteger.parse`
    /// agrees with the pinned CPython's `int(text, base)` on every input here.
    func testIntegerArgumentsAgreeWithCPython() throws {
        let inputs = ["0", "12", "-7", "+5", " 42\t", "\r9", "\u{0B}3", "\u{0C}3\u{0C}", "1_0", "1__0", "_1", "1_", "0x10", "0X1f",
                      "0x_1f", "0x__1", "0x", "0o17", "0b101", "0b2", "010", "00", "0_0", "0_7", "007", "- 5", "--5", "", " ",
                      "12a", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                      "99999999999999999999999", "1e3", "1.0", "\u{0661}", "5L", "0xfL", "4\u{301}"]
        let python = try TestSupport.python()
        let script = """
        import json, sys
        out = []
        for text, base in json.load(sys.stdin):
            try:
                v = int(text.encode("utf-8"), base)   # bytes: PyLong_FromString, as _pickle calls it
                out.append(["small", v] if -2**63 <= v < 2**63 else ["large", 0])
            except ValueError:
                out.append(None)
        print(json.dumps(out))
        """
        var cases: [[Any]] = []
        for text in inputs { for base in [10, 0] { cases.append([text, base]) } }
        let r = try TestSupport.run(python, ["-c", script], stdin: try JSONSerialization.data(withJSONObject: cases))
        XCTAssertEqual(r.status, 0, r.stderrText)
        let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [Any])
        for (index, pair) in cases.enumerated() {
            let text = pair[0] as! String, base = pair[1] as! Int
            let ours = PythonInteger.parse(Array(text.utf8), base: base)
            switch expected[index] {
            case let result as [Any] where result[0] as? String == "small":
                XCTAssertEqual(ours, .small((result[1] as! NSNumber).intValue), "int(\(text.debugDescription), \(base))")
            case let result as [Any]:
                XCTAssertEqual(ours, .large, "int(\(text.debugDescription), \(base)) is \(result)")
            default:
                XCTAssertNil(ours, "Python refuses int(\(text.debugDescription), \(base))")
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
