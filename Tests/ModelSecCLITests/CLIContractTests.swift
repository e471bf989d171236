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
}
