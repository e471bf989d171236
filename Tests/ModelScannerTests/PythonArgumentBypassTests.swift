import Foundation
@testable import ModelScanner
import TestSupport
import XCTest

/// Pickles whose protocol 0 arguments or strings only CPython's reading
/// accepts (hex and underscored integers, vertical-tab whitespace, lone
/// surrogates): the pinned CPython loads each one and reaches `os.system`,
/// and a directory scan must scan and flag it even under a name the scanner
/// does not list (a stream it cannot parse there is skipped as "not a model").
final class PythonArgumentBypassTests: XCTestCase {
    static let variants: [(name: String, prefix: [UInt8])] = [
        ("int-hex", Array("I0x10\n0".utf8)),
        ("int-underscore", Array("I1_0\n0".utf8)),
        ("int-vertical-tab", Array("I\u{0B}5\n0".utf8)),
        ("long-hex", Array("L0x10L\n0".utf8)),
        ("put-underscore", Array("Np1_0\n0g1_0\n0".utf8)),
        ("put-vertical-tab", Array("Np\u{0B}3\n0".utf8)),
        ("binunicode-surrogate", [UInt8(ascii: "X"), 3, 0, 0, 0, 0xED, 0xA0, 0x80, UInt8(ascii: "0")]),
        ("short-binunicode-surrogate", [0x8C, 3, 0xED, 0xB0, 0x80, UInt8(ascii: "0")]),
        ("unicode-surrogate", Array("V\\ud800\n0".utf8)),
        // CPython reads number arguments as C strings: a NUL ends them.
        ("int-nul", Array("I12".utf8) + [0] + Array("zz\n0".utf8)),
        ("long-nul", Array("L12".utf8) + [0] + Array("zzL\n0".utf8)),
        ("put-get-nul", Array("Np0".utf8) + [0] + Array("zz\n0g0".utf8) + [0] + Array("q\n0".utf8)),
    ]

    func testEveryArgumentCPythonAcceptsIsReadAndTheGlobalFlagged() throws {
        let dir = try TestSupport.makeTemporaryDirectory("python-arguments")
        var paths: [String] = []
        for variant in Self.variants {
            let path = dir.appendingPathComponent("\(variant.name).cfg").path
            try Data(variant.prefix + Array("cos\nsystem\n.".utf8)).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        // CPython loads every one and gets os.system back (loaded, never called).
        let check = """
        import os, pickle, sys
        for path in sys.argv[1:]:
            assert pickle.loads(open(path, "rb").read()) is os.system, path
        print("all load")
        """
        let loaded = try TestSupport.run(try TestSupport.python(), ["-c", check] + paths)
        XCTAssertEqual(loaded.status, 0, loaded.stdoutText + loaded.stderrText)

        let report = ModelScanner.scan(paths: [dir.path])
        XCTAssertEqual(report.skipped, [], "a pickle was skipped as not a model")
        for path in paths {
            let file = try XCTUnwrap(report.files.first { $0.path.hasSuffix(URL(fileURLWithPath: path).lastPathComponent) }, path)
            XCTAssertTrue(file.findings.contains { $0.kind == .dangerousGlobal && $0.global == "os.system" },
                          "\(path): \(file.findings.map(\.message))")
        }
    }
}
