import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// `modelsec log cosign` end to end: one witness key serves one cosigner
/// name (review12 B9: tlog-cosignature forbids one key under two names, as
/// a cosignature does not commit to the name and one key would count as two
/// witnesses), and a forked log, a same-size fork and a rollback each exit
/// 1 with a message that says which, leaving the witness's state alone.
final class LogCosignCLITests: LogCLITestCase {
    override var temporaryPrefix: String { "tlog-cosign" }

    /// `log cosign` with `--json`: status, error code, message.
    func cosign(_ log: String, key: String, name: String, vkey: String) throws -> (status: Int32, code: String?, message: String, size: Int?) {
        let result = try TestSupport.modelsec(["log", "cosign", log, "--key", path(key), "--name", name, "--log-key", vkey,
                                               "--state", path("state"), "--json"])
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], result.stderrText)
        let error = document["error"] as? [String: Any]
        return (result.status, error?["code"] as? String, (error?["message"] as? String) ?? result.stderrText, document["treeSize"] as? Int)
    }

    func append(_ log: String, _ count: Int, _ prefix: String) throws {
        let bundle = path("\(prefix).bin")
        try Data(EntryBundle.encode(entries(count, prefix: prefix))).write(to: URL(fileURLWithPath: bundle))
        try ok(["log", "append", log, "--key", path("log.pem"), "--entry-bundle", bundle])
    }

    func testOneKeyOneNameAndForksRollbacksSayWhich() throws {
        for name in ["log.pem", "witness.pem", "witness2.pem"] { try ok(["keygen", "--type", "ed25519", "--out", path(name)]) }
        let log = path("log")
        let vkey = try ok(["log", "init", "--origin", "example.com/cosign", "--key", path("log.pem"), log]).stdoutText
            .trimmingCharacters(in: .newlines)
        try append(log, 3, "first")
        try FileManager.default.copyItem(atPath: log, toPath: path("log-at-3"))
        XCTAssertEqual(try cosign(log, key: "witness.pem", name: "witness.example/w1", vkey: vkey).size, 3)

        // The same key under another name: refused (exit 2), naming the recorded name, nothing cosigned.
        let before = try Data(contentsOf: URL(fileURLWithPath: log + "/checkpoint"))
        let renamed = try cosign(log, key: "witness.pem", name: "witness.example/w9", vkey: vkey)
        XCTAssertEqual(renamed.status, 2, renamed.message)
        XCTAssertEqual(renamed.code, "tlog.key-malformed", renamed.message)
        XCTAssertTrue(renamed.message.contains("cosigns as witness.example/w1"), renamed.message)
        XCTAssertTrue(renamed.message.contains("not as witness.example/w9"), renamed.message)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: log + "/checkpoint")), before)
        // The recorded name again, and another key under its own name, are fine.
        XCTAssertEqual(try cosign(log, key: "witness.pem", name: "witness.example/w1", vkey: vkey).status, 0)
        XCTAssertEqual(try cosign(log, key: "witness2.pem", name: "witness.example/w2", vkey: vkey).status, 0)

        try append(log, 2, "second")
        XCTAssertEqual(try cosign(log, key: "witness.pem", name: "witness.example/w1", vkey: vkey).size, 5)

        // Rollback: the log as it was at size 3.
        let rollback = try cosign(path("log-at-3"), key: "witness.pem", name: "witness.example/w1", vkey: vkey)
        XCTAssertEqual(rollback.status, 1, rollback.message)
        XCTAssertEqual(rollback.code, "tlog.rollback", rollback.message)
        XCTAssertTrue(rollback.message.contains("rolled back"), rollback.message)
        XCTAssertTrue(rollback.message.contains("size 3 is smaller than the size 5"), rollback.message)

        // Same-size fork: the log made again with the same key and origin, other entries, the same size.
        let fork = path("fork")
        try ok(["log", "init", "--origin", "example.com/cosign", "--key", path("log.pem"), fork])
        try append(fork, 5, "forked")
        let sameSize = try cosign(fork, key: "witness.pem", name: "witness.example/w1", vkey: vkey)
        XCTAssertEqual(sameSize.status, 1, sameSize.message)
        XCTAssertEqual(sameSize.code, "tlog.inconsistent", sameSize.message)
        XCTAssertTrue(sameSize.message.contains("another root hash than the checkpoint of the same size"), sameSize.message)
        XCTAssertFalse(sameSize.message.contains("not an extension"), sameSize.message)

        // Fork: the other history grows past the witnessed size.
        try append(fork, 2, "forked more")
        let forked = try cosign(fork, key: "witness.pem", name: "witness.example/w1", vkey: vkey)
        XCTAssertEqual(forked.status, 1, forked.message)
        XCTAssertEqual(forked.code, "tlog.inconsistent", forked.message)
        XCTAssertTrue(forked.message.contains("the tree of size 7 is not an extension of the tree of size 5"), forked.message)

        // None of the refusals moved the witness: the honest log at 5 is still cosigned.
        XCTAssertEqual(try cosign(log, key: "witness.pem", name: "witness.example/w1", vkey: vkey).size, 5)
    }
}
