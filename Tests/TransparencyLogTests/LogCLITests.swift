import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// `modelsec log …` end to end with real releases: init, append (with the
/// release signature checked), prove, check-proof, cosign, monitor, verify.
final class LogCLITests: LogCLITestCase {
    override var temporaryPrefix: String { "tlog-cli" }

    func makeRelease(_ version: String, signingKey: String) throws -> String {
        let output = path("rel-\(version)")
        try ok(["release", "create", path("model"), "--name", "bert", "--version", version, "--signing-key", signingKey,
                "--recipient", path("deploy.pem.pub"), "--no-scan", "--output", output])
        return output
    }

    func testLogLifecycleWithReleasesWitnessAndMonitor() throws {
        try FileManager.default.createDirectory(atPath: path("model"), withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: URL(fileURLWithPath: path("model/weights.bin")))
        for (name, type) in [("log.pem", "ed25519"), ("signer.pem", "ed25519"), ("other.pem", "ed25519"), ("witness.pem", "ed25519"), ("deploy.pem", "x25519")] {
            try ok(["keygen", "--type", type, "--out", path(name)])
        }
        let signerID = try XCTUnwrap(try json(try ok(["key", "inspect", path("signer.pem.pub"), "--json"]))["keyId"] as? String)
        let rel1 = try makeRelease("1.0.0", signingKey: path("signer.pem"))
        let rel2 = try makeRelease("1.0.1", signingKey: path("signer.pem"))
        let rel3 = try makeRelease("2.0.0", signingKey: path("other.pem"))

        let initialised = try json(try ok(["log", "init", "--origin", "example.com/models", "--key", path("log.pem"), path("log"), "--json"]))
        let vkey = try XCTUnwrap(initialised["vkey"] as? String)
        XCTAssertTrue(vkey.hasPrefix("example.com/models+"))

        // A release not signed by the given key is not logged.
        let refused = try TestSupport.modelsec(["log", "append", path("log"), "--key", path("log.pem"), "--release", rel3, "--public-key", path("signer.pem.pub")])
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        let appended = try json(try ok(["log", "append", path("log"), "--key", path("log.pem"), "--release", rel1, "--release", rel2,
                                        "--public-key", path("signer.pem.pub"), "--json"]))
        XCTAssertEqual(appended["treeSize"] as? Int, 2)
        try ok(["log", "append", path("log"), "--key", path("log.pem"), "--release", rel3])
        try Data(try Data(contentsOf: URL(fileURLWithPath: path("log/checkpoint")))).write(to: URL(fileURLWithPath: path("old.checkpoint")))

        // Proof for rel1, checked offline; the same proof refused for rel2.
        let proved = try json(try ok(["log", "prove", path("log"), "--log-key", vkey, "--release", rel1, "--json"]))
        XCTAssertEqual(proved["index"] as? Int, 0)
        let proofFile = rel1 + "/release.tlog-proof"
        XCTAssertTrue(try String(contentsOfFile: proofFile, encoding: .utf8).hasPrefix("c2sp.org/tlog-proof@v1\nextra "))
        try ok(["log", "check-proof", proofFile, "--log-key", vkey, "--release", rel1])
        // An existing proof is replaced only with --force.
        let again = try TestSupport.modelsec(["log", "prove", path("log"), "--log-key", vkey, "--release", rel1])
        XCTAssertEqual(again.status, 2, again.stderrText)
        XCTAssertTrue(again.stderrText.contains("--force"), again.stderrText)
        try ok(["log", "prove", path("log"), "--log-key", vkey, "--release", rel1, "--force"])
        let wrong = try TestSupport.modelsec(["log", "check-proof", proofFile, "--log-key", vkey, "--release", rel2])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderrText.contains("bert@1.0.0"), wrong.stderrText)
        // The log key as a PEM file with the origin works too; a wrong origin does not.
        try ok(["log", "check-proof", proofFile, "--log-key", path("log.pem.pub"), "--origin", "example.com/models", "--release", rel1])
        XCTAssertEqual(try TestSupport.modelsec(["log", "check-proof", proofFile, "--log-key", path("log.pem.pub"), "--origin", "example.com/other",
                                                 "--release", rel1]).status, 1)

        // A witness cosigns; the new proof carries the cosignature.
        let cosigned = try json(try ok(["log", "cosign", path("log"), "--key", path("witness.pem"), "--name", "witness.example/w1",
                                        "--log-key", vkey, "--state", path("witness-state"), "--json"]))
        let witnessVkey = try XCTUnwrap(cosigned["witnessVkey"] as? String)
        try ok(["log", "prove", path("log"), "--log-key", vkey, "--release", rel2])
        let checked = try json(try ok(["log", "check-proof", rel2 + "/release.tlog-proof", "--log-key", vkey, "--release", rel2,
                                       "--witness-key", witnessVkey, "--witnesses", "1", "--json"]))
        XCTAssertEqual(checked["cosigners"] as? Int, 1)
        XCTAssertEqual(try TestSupport.modelsec(["log", "check-proof", proofFile, "--log-key", vkey, "--release", rel1,
                                                 "--witness-key", witnessVkey, "--witnesses", "1"]).status, 1)

        // The key owner's monitor sees both releases signed by its key, and only those.
        let monitored = try json(try ok(["log", "monitor", path("log"), "--log-key", vkey, "--key-id", signerID, "--json"]))
        let found = try XCTUnwrap(monitored["releases"] as? [[String: Any]])
        XCTAssertEqual(found.compactMap { $0["version"] as? String }, ["1.0.0", "1.0.1"])

        // A release that was never logged has no proof.
        let unlogged = try makeRelease("3.0.0", signingKey: path("signer.pem"))
        let missing = try TestSupport.modelsec(["log", "prove", path("log"), "--log-key", vkey, "--release", unlogged])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderrText.contains("bert@3.0.0 is not in the log"), missing.stderrText)

        try ok(["log", "append", path("log"), "--key", path("log.pem"), "--entry-file", path("model/weights.bin")])
        let verified = try json(try ok(["log", "verify", path("log"), "--log-key", vkey, "--since", path("old.checkpoint"), "--json"]))
        XCTAssertEqual(verified["treeSize"] as? Int, 4)
        XCTAssertEqual(verified["consistentWith"] as? Int, 3)
        let since = try json(try ok(["log", "monitor", path("log"), "--log-key", vkey, "--key-id", signerID, "--since", path("old.checkpoint"), "--json"]))
        XCTAssertEqual((since["releases"] as? [Any])?.count, 0)

        // Tampering is reported with exit 1 and says what.
        let bundle = path("log/tile/entries/000.p/4")
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: bundle)))
        bytes[10] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: bundle))
        let tampered = try TestSupport.modelsec(["log", "verify", path("log"), "--log-key", vkey])
        XCTAssertEqual(tampered.status, 1)
        XCTAssertTrue(tampered.stderrText.contains("entry 0"), tampered.stderrText)
    }

    func testUsageErrorsExitTwo() throws {
        XCTAssertEqual(try TestSupport.modelsec(["log", "verify", path("nowhere"), "--log-key", "not a vkey"]).status, 2)
        XCTAssertEqual(try TestSupport.modelsec(["log", "append", path("nowhere"), "--key", path("none.pem")]).status, 2)
        let help = try TestSupport.modelsec(["log", "append", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdoutText.contains("Examples:"))
    }
}
