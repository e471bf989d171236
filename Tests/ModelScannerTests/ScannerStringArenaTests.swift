import XCTest
import TestSupport
@testable import ModelScanner

/// String values are kept as checked UTF-8 bytes in one arena per stream
/// (``PickleValues``) and made text only when a STACK_GLOBAL, a BUILD or a
/// dtype needs them: every string opcode must still decode as CPython does,
/// and past the arena's bound strings become values the scanner cannot
/// resolve (fail closed), never names it guesses.
final class ScannerStringArenaTests: XCTestCase {
    private func scanBytes(_ bytes: [UInt8]) throws -> FileScanReport {
        let url = try TestSupport.makeTemporaryDirectory("scanner-strings").appendingPathComponent("sample.pkl")
        try Data(bytes).write(to: url)
        return ModelScanner.scanFile(at: url.path)
    }

    private static func le(_ value: Int, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// `text` pushed by each string opcode (raw bytes after the opcode's own decoding).
    private static let spellings: [(String, @Sendable ([UInt8]) -> [UInt8])] = [
        ("SHORT_BINUNICODE", { [0x8C, UInt8($0.count)] + $0 }),
        ("BINUNICODE", { [UInt8(ascii: "X")] + le($0.count, 4) + $0 }),
        ("BINUNICODE8", { [0x8D] + le($0.count, 8) + $0 }),
        ("SHORT_BINSTRING", { [UInt8(ascii: "U"), UInt8($0.count)] + $0 }),
        ("BINSTRING", { [UInt8(ascii: "T")] + le($0.count, 4) + $0 }),
        ("STRING", { [UInt8(ascii: "S"), UInt8(ascii: "'")] + $0 + [UInt8(ascii: "'"), 0x0A] }),
        ("UNICODE", { [UInt8(ascii: "V")] + $0 + [0x0A] }),
    ]

    /// `module name STACK_GLOBAL () REDUCE STOP` with both strings spelled by `spell`.
    private static func stackGlobal(_ module: [UInt8], _ name: [UInt8], prefix: [UInt8] = [0x80, 0x04],
                                    spell: ([UInt8]) -> [UInt8]) -> [UInt8] {
        prefix + spell(module) + spell(name) + [0x93, UInt8(ascii: ")"), UInt8(ascii: "R"), UInt8(ascii: ".")]
    }

    func testEveryStringOpcodeResolvesAStackGlobal() throws {
        for (opcode, spell) in Self.spellings {
            let report = try scanBytes(Self.stackGlobal(Array("os".utf8), Array("system".utf8), spell: spell))
            XCTAssertEqual(report.findings.map(\.kind), [.dangerousGlobal], "\(opcode): \(report.findings)")
            XCTAssertEqual(report.findings.first?.global.map { Array($0.utf8) }, Array("os.system".utf8), opcode)
        }
    }

    /// Non-ASCII text decodes as before the arena: Latin-1 for the
    /// byte-string opcodes (`encoding="latin1"`, the reading that accepts
    /// every byte), UTF-8 with surrogatepass for BINUNICODE (a lone
    /// surrogate kept as U+FFFD), raw-unicode-escape for UNICODE.
    func testNonASCIINamesDecodeAsCPythonDoes() throws {
        let cases: [(String, [UInt8], String)] = [
            ("SHORT_BINSTRING", [0x63, 0x61, 0x66, 0xE9], "caf\u{E9}"),                    // b"caf\xe9".decode("latin-1")
            ("BINSTRING", [0xFF, 0x41], "\u{FF}A"),
            ("SHORT_BINUNICODE", [0x63, 0x61, 0x66, 0xC3, 0xA9], "caf\u{E9}"),
            ("BINUNICODE", [0x61, 0xED, 0xA0, 0x80], "a\u{FFFD}"),                        // "a\ud800" via surrogatepass
            ("UNICODE", Array("caf\\u00e9".utf8), "caf\u{E9}"),
            ("STRING", Array("caf\\xe9".utf8), "caf\u{E9}"),
        ]
        for (opcode, raw, expected) in cases {
            let spell = try XCTUnwrap(Self.spellings.first { $0.0 == opcode }?.1)
            let report = try scanBytes(Self.stackGlobal(Array("mymodule".utf8), raw, spell: spell))
            XCTAssertEqual(report.findings.map(\.kind), [.unknownGlobal], "\(opcode): \(report.findings)")
            XCTAssertEqual(report.findings.first?.global.map { Array($0.utf8) }, Array("mymodule.\(expected)".utf8), opcode)
        }
        // Invalid UTF-8 in BINUNICODE fails the stream where CPython's decode fails.
        let invalid = try scanBytes(Self.stackGlobal(Array("os".utf8), [0x61, 0xFF], spell: Self.spellings[1].1))
        XCTAssertEqual(invalid.findings.map(\.kind), [.malformedPickle], "\(invalid.findings)")
    }

    /// Strings pushed and popped still count towards the arena's bound; past
    /// it a STACK_GLOBAL cannot be resolved, and since filling the bound is a
    /// way to hide an import CPython resolves (`os.system` here), it is
    /// reported as dangerous, not merely unresolved (the attacker review).
    func testStringsPastTheArenaBoundFailClosed() throws {
        let line = [UInt8(ascii: "V")] + [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20) + [0x0A, UInt8(ascii: "0")]   // UNICODE, POP
        let spell = Self.spellings[0].1
        let lines = PickleValues.maxStringArenaBytes >> 20
        let below = try scanBytes(Self.stackGlobal(Array("os".utf8), Array("system".utf8),
                                                   prefix: Array(repeating: line, count: lines - 1).flatMap { $0 }, spell: spell))
        XCTAssertEqual(below.findings.map(\.kind), [.dangerousGlobal], "\(below.findings)")
        let past = try scanBytes(Self.stackGlobal(Array("os".utf8), Array("system".utf8),
                                                  prefix: Array(repeating: line, count: lines + 1).flatMap { $0 }, spell: spell))
        XCTAssertEqual(past.findings.map(\.kind), [.unresolvedGlobal], "\(past.findings)")
        XCTAssertEqual(past.findings.map(\.severity), [.dangerous], "\(past.findings)")
    }
}
