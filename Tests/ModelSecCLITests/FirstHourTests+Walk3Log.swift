import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: third walkthrough: the transparency log

    /// A log `models-log` (origin example.com/models, key log.pem, vkey in
    /// log.vkey) holding the release `rel`; returns the signer's key id.
    @discardableResult
    func makeLoggedRelease() throws -> String {
        try makeRelease()
        try run(["keygen", "--type", "ed25519", "--out", path("log.pem")])
        let vkey = try run(["log", "init", "--origin", "example.com/models", "--key", path("log.pem"), path("models-log")]).stdoutText
        try vkey.write(toFile: path("log.vkey"), atomically: true, encoding: .utf8)
        try run(["log", "append", path("models-log"), "--key", path("log.pem"), "--release", path("rel")])
        let inspected = try run(["key", "inspect", path("release.pem.pub"), "--json"])
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: inspected.stdout) as? [String: Any])?["keyId"] as? String)
    }

    /// Validates each of `documents` against docs/schemas/`schema` with the pinned jsonschema.
    func assertMatchesSchema(_ schema: String, _ documents: [Data], file: StaticString = #filePath, line: UInt = #line) throws {
        let script = """
        import json, pathlib, sys
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        docs = pathlib.Path(sys.argv[1])
        resources = []
        for f in sorted((docs / "schemas").glob("*.schema.json")):
            doc = json.loads(f.read_text())
            resources.append((doc["$id"], Resource.from_contents(doc)))
        registry = Registry().with_resources(resources)
        schema = {"$ref": "https://schemas.modelsec.example/cli/" + sys.argv[2]}
        bad = 0
        for name in sys.argv[3:]:
            for e in Draft202012Validator(schema, registry=registry).iter_errors(json.loads(pathlib.Path(name).read_text())):
                print(name, e.message, list(e.absolute_path)); bad += 1
        sys.exit(1 if bad else 0)
        """
        try script.write(toFile: path("validate.py"), atomically: true, encoding: .utf8)
        var files: [String] = []
        for (index, document) in documents.enumerated() {
            let name = path("document-\(index).json")
            try document.write(to: URL(fileURLWithPath: name))
            files.append(name)
        }
        let r = try TestSupport.run(try TestSupport.python(), [path("validate.py"), TestSupport.repositoryRoot.appendingPathComponent("docs").path, schema] + files)
        XCTAssertEqual(r.status, 0, r.stdoutText + r.stderrText, file: file, line: line)
    }

    /// Item 1: `log monitor --key-id` takes only a whole key id. A
    /// placeholder, a prefix, a key file's name or an uppercase id is a usage
    /// error and no checkpoint is saved (a saved one would hide the releases
    /// before it from the next run); the help example cannot be pasted as an
    /// id; the --json outputs match the schema.
    func testMonitorRefusesAnythingButAWholeKeyID() throws {
        let id = try makeLoggedRelease()
        let saved = path("last.checkpoint")
        let monitor = ["log", "monitor", path("models-log"), "--log-key", path("log.vkey"), "--since", saved, "--save-checkpoint", saved]
        var documents: [Data] = []
        for bad in ["3f2a…", String(id.prefix(8)), path("release.pem.pub"), "KEY_ID", id.uppercased(), id + "0", "g" + id.dropFirst()] {
            let r = try run(monitor + ["--key-id", bad, "--json"], expect: 2)
            XCTAssertEqual(errorCode(r), "usage.invalid-value", "\(bad): \(r.stdoutText)")
            XCTAssertTrue(r.stderrText.contains("is not a key id"), r.stderrText)
            XCTAssertFalse(FileManager.default.fileExists(atPath: saved), "--key-id \(bad) saved the checkpoint")
            documents.append(r.stdout)
        }
        let file = try run(monitor + ["--key-id", path("release.pem.pub")], expect: 2)
        XCTAssertTrue(file.stderrText.contains("modelsec key inspect"), file.stderrText)
        // The whole id lists the release, from the first run on.
        let found = try run(monitor + ["--key-id", id, "--json"])
        let releases = (try JSONSerialization.jsonObject(with: found.stdout) as? [String: Any])?["releases"] as? [[String: Any]]
        XCTAssertEqual(releases?.count, 1, found.stdoutText)
        documents.append(found.stdout)
        try assertMatchesSchema("log-monitor.schema.json", documents)

        // The help examples (log monitor's and log's) name no id-like placeholder,
        // and the monitor example pasted as written is refused, saving nothing.
        let examples = try helpExamples().filter { $0.example.contains("log monitor") }
        XCTAssertGreaterThanOrEqual(examples.count, 2)
        for (_, example) in examples { XCTAssertFalse(example.contains("…") || example.contains("3f2a"), example) }
        let pasted = try XCTUnwrap(examples.first { $0.command == "modelsec log monitor" }?.example)
        try FileManager.default.removeItem(atPath: saved)   // the successful run above saved it
        let words = pasted.split(separator: " ").map(String.init).dropFirst()
        XCTAssertEqual(try run(Array(words), expect: 2).stderrText.contains("is not a key id"), true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("last.checkpoint")))
    }

    /// Item 2: `--witness-key` without `--witnesses N` requires every given
    /// witness to have cosigned (it never checks zero witnesses), in the
    /// gate and in `log check-proof`; `--witnesses 0` says so explicitly.
    /// The gate's log step says how many witnesses cosigned.
    func testWitnessKeysWithoutAQuorumRequireEveryWitness() throws {
        try makeLoggedRelease()
        // A proof written at append time, with no cosignature.
        try run(["log", "prove", path("models-log"), "--log-key", path("log.vkey"), "--release", path("rel"), "--force"])
        try run(["keygen", "--type", "ed25519", "--out", path("witness.pem")])
        let witnessVkey = try run(["log", "cosign", path("models-log"), "--key", path("witness.pem"), "--name", "witness.example/w1",
                                   "--log-key", path("log.vkey"), "--state", path("witness-state")]).stdoutText
        try witnessVkey.write(toFile: path("witness.vkey"), atomically: true, encoding: .utf8)
        let witness = ["--log-key", path("log.vkey"), "--witness-key", path("witness.vkey")]

        let refused = try gate(output: "w-none", extra: witness, expect: 1)
        let steps = (try JSONSerialization.jsonObject(with: refused.stdout) as? [String: Any])?["steps"] as? [[String: Any]] ?? []
        XCTAssertEqual(steps.first { $0["status"] as? String == "failed" }?["name"] as? String, "log", refused.stdoutText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("w-none")))
        let checked = try run(["log", "check-proof", path("rel/release.tlog-proof"), "--release", path("rel")] + witness, expect: 1)
        XCTAssertFalse(checked.stdoutText.contains("ok:"), checked.stdoutText)
        // Explicitly none: passes, and says 0 of 1 cosigned.
        let none = try gate(output: "w-zero", extra: witness + ["--witnesses", "0"], expect: 0)
        XCTAssertTrue(none.stdoutText.contains("cosigned by 0 of 1 trusted witness(es), 0 required"), none.stdoutText)

        // Once the proof carries the cosignature, the default passes.
        try run(["log", "prove", path("models-log"), "--log-key", path("log.vkey"), "--release", path("rel"), "--force"])
        let passed = try gate(output: "w-one", extra: witness, expect: 0)
        XCTAssertTrue(passed.stdoutText.contains("cosigned by 1 of 1 trusted witness(es), 1 required"), passed.stdoutText)
        let ok = try run(["log", "check-proof", path("rel/release.tlog-proof"), "--release", path("rel")] + witness)
        XCTAssertTrue(ok.stdoutText.contains("cosigned by 1 trusted witness(es), 1 required"), ok.stdoutText)
    }

    /// Item 3: `release create --log` opens a passphrase-encrypted log key:
    /// with --key-passphrase-file when both keys share it, or with its own
    /// --log-signing-key-passphrase-file; a missing passphrase names the
    /// option that is missing, not one already given.
    func testReleaseCreateOpensAnEncryptedLogKey() throws {
        try makeRelease()
        try "log secret\n".write(toFile: path("p1"), atomically: true, encoding: .utf8)
        try "other secret\n".write(toFile: path("p2"), atomically: true, encoding: .utf8)
        try run(["keygen", "--type", "ed25519", "--out", path("enclog.pem"), "--key-passphrase-file", path("p1")])
        try run(["log", "init", "--origin", "example.com/enc", "--key", path("enclog.pem"), "--key-passphrase-file", path("p1"), path("enclog")])
        let create = ["release", "create", path("model"), "--name", "clf", "--signing-key", path("release.pem"),
                      "--recipient", path("deploy.pem.pub"), "--log", path("enclog"), "--log-signing-key", path("enclog.pem")]
        // The walkthrough's command: the passphrase option given, the signing key plain.
        let shared = try run(create + ["--version", "1.0.1", "--key-passphrase-file", path("p1"), "--output", path("r1")])
        XCTAssertTrue(shared.stdoutText.contains("log: entry 0"), shared.stdoutText)
        // Its own passphrase option.
        try run(create + ["--version", "1.0.2", "--log-signing-key-passphrase-file", path("p1"), "--output", path("r2")])
        // None given: the message names the log key's options.
        let missing = try run(create + ["--version", "1.0.3", "--output", path("r3"), "--json"], expect: 2)
        XCTAssertEqual(errorCode(missing), "key.passphrase-required")
        XCTAssertTrue(missing.stderrText.contains("--log-signing-key-passphrase-file"), missing.stderrText)
        // The shared passphrase is the wrong one: the message does not ask for the option that was given.
        let wrong = try run(create + ["--version", "1.0.4", "--key-passphrase-file", path("p2"), "--output", path("r4")], expect: 2)
        XCTAssertTrue(wrong.stderrText.contains("--log-signing-key-passphrase-file"), wrong.stderrText)
        XCTAssertFalse(wrong.stderrText.contains("give the key's passphrase with --key-passphrase-file"), wrong.stderrText)
        for output in ["r3", "r4"] { XCTAssertFalse(FileManager.default.fileExists(atPath: path(output))) }
    }

    /// Items 8 and 9: a log key of the wrong kind gets a message that says
    /// what it is and what is needed (never advice that is refused in turn),
    /// naming the flag that took it; `release create --log-key` (the old
    /// spelling of --log-signing-key) still works, with a warning.
    func testLogKeyMixUpsGetClearMessages() throws {
        try makeLoggedRelease()
        try run(["keygen", "--type", "x25519", "--out", path("x.pem")])
        try run(["keygen", "--type", "p256", "--out", path("p.pem")])
        for (key, type) in [("x.pem", "an x25519"), ("p.pem", "a p256")] {
            let r = try run(["log", "init", "--origin", "example.com/x", "--key", path(key), path("log-\(key)")], expect: 2)
            XCTAssertTrue(r.stderrText.contains("is \(type) key; only ed25519 keys are used here"), r.stderrText)
            XCTAssertFalse(r.stderrText.contains("use ed25519 or p256"), r.stderrText)
            XCTAssertFalse(r.stderrText.contains("an p256"), r.stderrText)
        }
        let create = ["release", "create", path("model"), "--name", "clf", "--signing-key", path("release.pem"),
                      "--recipient", path("deploy.pem.pub"), "--log", path("models-log")]
        // The vkey (what release verify --log-key takes).
        let vkey = try run(create + ["--version", "2.0.0", "--log-signing-key", path("log.vkey"), "--output", path("v")], expect: 2)
        XCTAssertTrue(vkey.stderrText.contains("verifier key (vkey)") && vkey.stderrText.contains("--log-signing-key needs the log's Ed25519 private key"),
                      vkey.stderrText)
        XCTAssertFalse(vkey.stderrText.contains("accessible by others"), vkey.stderrText)
        // The public key: the message names the flag.
        let pub = try run(create + ["--version", "2.0.0", "--log-signing-key", path("log.pem.pub"), "--output", path("v")], expect: 2)
        XCTAssertTrue(pub.stderrText.contains("--log-signing-key needs a private key"), pub.stderrText)
        // The old spelling works and warns.
        let old = try run(create + ["--version", "2.0.1", "--log-key", path("log.pem"), "--output", path("old")])
        XCTAssertTrue(old.stderrText.contains("--log-key is deprecated: use --log-signing-key"), old.stderrText)
        let oldVkey = try run(create + ["--version", "2.0.2", "--log-key", path("log.vkey"), "--output", path("v")], expect: 2)
        XCTAssertTrue(oldVkey.stderrText.contains("--log-key needs the log's Ed25519 private key"), oldVkey.stderrText)
        // A witness key given as a PEM to log verify without --origin names the option.
        let pem = try run(["log", "verify", path("models-log"), "--log-key", path("log.pem.pub")], expect: 2)
        XCTAssertTrue(pem.stderrText.contains("with --origin ORIGIN"), pem.stderrText)
        let gatePEM = try gate(output: "g", extra: ["--log-key", path("log.pem.pub")], expect: 2)
        XCTAssertTrue(gatePEM.stdoutText.contains("--log-origin ORIGIN"), gatePEM.stdoutText)
    }
}
