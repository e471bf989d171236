import Foundation
import TestSupport
import XCTest

/// Parts of the one CLI contract (issue #15) that every command shares.
final class CLIContractTests: XCTestCase {
    func testBareModelsecPrintsHelpAndExitsTwo() throws {
        let result = try TestSupport.modelsec([])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderrText.contains("USAGE: modelsec <subcommand>"), result.stderrText)
    }

    /// A file name inside a model is untrusted text: printed with its control
    /// characters escaped, so it cannot clear the screen or retitle the terminal.
    func testUntrustedFileNamesAreEscapedOnTheTerminal() throws {
        let dir = try TestSupport.makeTemporaryDirectory("cli-contract")
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("w".utf8).write(to: model.appendingPathComponent("weights.bin"))
        let key = dir.appendingPathComponent("k.pem").path
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", key]).status, 0)
        let signature = dir.appendingPathComponent("model.sig").path
        XCTAssertEqual(try TestSupport.modelsec(["sign", model.path, "--key", key, "--output", signature]).status, 0)
        let hostile = "evil\u{1b}[2J\u{1b}]0;owned\u{07}\u{202e}.bin"
        try Data("x".utf8).write(to: model.appendingPathComponent(hostile))
        let result = try TestSupport.modelsec(["verify", model.path, "--signature", signature, "--public-key", key + ".pub"])
        XCTAssertEqual(result.status, 1)
        let everything = result.stdoutText + result.stderrText
        XCTAssertFalse(everything.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x07 || $0.value == 0x202e }, everything)
        XCTAssertTrue(result.stdoutText.contains("extra:    evil\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{202e}.bin"), result.stdoutText)
    }

    /// `--progress always` reaches a CI log (stderr not a terminal) as plain
    /// lines, never carriage returns or escape sequences; `never` is silent;
    /// item-only work (the scanner) counts files, not "0 B".
    func testProgressAlwaysWritesPlainLinesOffATerminal() throws {
        let dir = try TestSupport.makeTemporaryDirectory("cli-progress")
        let input = dir.appendingPathComponent("big.bin").path
        XCTAssertTrue(FileManager.default.createFile(atPath: input, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: input))
        try handle.truncate(atOffset: 64 << 20)
        try handle.close()
        let key = dir.appendingPathComponent("k.key").path
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "aes256", "--out", key]).status, 0)
        let always = try TestSupport.modelsec(["encrypt", input, "--output", input + ".enc", "--key-file", key, "--progress", "always"])
        XCTAssertEqual(always.status, 0, always.stderrText)
        XCTAssertTrue(always.stderrText.contains("encrypting: 64.0 MiB of 64.0 MiB (100%)"), always.stderrText)
        XCTAssertFalse(always.stderrText.contains("\r") || always.stderrText.contains("\u{1B}"), always.stderrText)
        let never = try TestSupport.modelsec(["decrypt", input + ".enc", "--output", input + ".out", "--key-file", key],
                                             environment: ["MODELSEC_PROGRESS": "never"])
        XCTAssertEqual(never.status, 0, never.stderrText)
        XCTAssertFalse(never.stderrText.contains("decrypting"), never.stderrText)
        let scan = try TestSupport.modelsec(["scan", dir.path, "--progress", "always"])
        XCTAssertTrue(scan.stderrText.contains("scan: "), scan.stderrText)
        XCTAssertFalse(scan.stderrText.contains("0 B"), scan.stderrText)
        let bad = try TestSupport.modelsec(["scan", dir.path], environment: ["MODELSEC_PROGRESS": "sometimes"])
        XCTAssertEqual(bad.status, 2, bad.stderrText)
    }

    /// One overwrite rule: every command that writes a file refuses an
    /// existing one unless given --force.
    func testExistingOutputsNeedForce() throws {
        let dir = try TestSupport.makeTemporaryDirectory("cli-overwrite")
        let key = dir.appendingPathComponent("k.pem").path
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", key]).status, 0)
        let jwks = dir.appendingPathComponent("jwks.json").path
        XCTAssertEqual(try TestSupport.modelsec(["token", "jwks", "--public-key", key + ".pub", "--out", jwks]).status, 0)
        let again = try TestSupport.modelsec(["token", "jwks", "--public-key", key + ".pub", "--out", jwks])
        XCTAssertEqual(again.status, 2, again.stderrText)
        XCTAssertTrue(again.stderrText.contains("--force"), again.stderrText)
        XCTAssertEqual(try TestSupport.modelsec(["token", "jwks", "--public-key", key + ".pub", "--out", jwks, "--force"]).status, 0)
        let model = dir.appendingPathComponent("w.bin").path
        try Data("w".utf8).write(to: URL(fileURLWithPath: model))
        let signature = dir.appendingPathComponent("w.sig").path
        XCTAssertEqual(try TestSupport.modelsec(["sign", model, "--key", key, "--output", signature]).status, 0)
        XCTAssertEqual(try TestSupport.modelsec(["sign", model, "--key", key, "--output", signature]).status, 2)
        XCTAssertEqual(try TestSupport.modelsec(["sign", model, "--key", key, "--output", signature, "--force"]).status, 0)
    }
}
