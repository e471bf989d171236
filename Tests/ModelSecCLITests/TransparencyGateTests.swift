import Foundation
import TestSupport
import XCTest

/// `release create --log` records a release in a transparency log and puts
/// its inclusion proof in the release; `release verify --log-key` refuses a
/// release that is not provably in that log (step `log`, exit 1).
final class TransparencyGateTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory("modelsec-tlog-gate")
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    private func run(_ arguments: [String], expect status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(arguments, currentDirectory: dir)
        XCTAssertEqual(r.status, status, "modelsec \(arguments.joined(separator: " ")): \(r.stdoutText) \(r.stderrText)", file: file, line: line)
        return r
    }

    /// The failed step and its detail from a --json gate report.
    private func failedStep(_ r: TestSupport.ProcessResult) throws -> (String, String)? {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText)
        let error = object["error"] as? [String: Any]
        let steps = (object["steps"] ?? (error?["report"] as? [String: Any])?["steps"]) as? [[String: Any]] ?? []
        return steps.first { $0["status"] as? String == "failed" }.map { ($0["name"] as? String ?? "", $0["detail"] as? String ?? "") }
    }

    /// A log, a release key, a deploy key and a model.
    private func setUpLog() throws -> String {
        try run(["keygen", "--type", "ed25519", "--out", path("log.pem")])
        try run(["keygen", "--type", "ed25519", "--out", path("release.pem")])
        try run(["keygen", "--type", "x25519", "--out", path("deploy.pem")])
        let vkey = try run(["log", "init", "--origin", "example.com/models", "--key", path("log.pem"), path("log")]).stdoutText
        try vkey.write(toFile: path("log.vkey"), atomically: true, encoding: .utf8)
        let model = dir.appendingPathComponent("clf")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("safe weights".utf8).write(to: model.appendingPathComponent("weights.bin"))
        return model.path
    }

    private func create(_ model: String, version: String, output: String, log: Bool = true) throws {
        try run(["release", "create", model, "--name", "clf", "--version", version, "--signing-key", path("release.pem"),
                 "--recipient", path("deploy.pem.pub"), "--output", path(output)]
                + (log ? ["--log", path("log"), "--log-signing-key", path("log.pem")] : []))
    }

    private func gate(_ release: String, _ output: String, extra: [String] = [], expect: Int32) throws -> TestSupport.ProcessResult {
        try run(["release", "verify", path(release), "--public-key", path("release.pem.pub"), "--identity", path("deploy.pem"),
                 "--log-key", path("log.vkey"), "--output", path(output), "--json"] + extra, expect: expect)
    }

    func testALoggedReleasePassesAndAnUnloggedOneIsRefused() throws {
        let model = try setUpLog()
        try create(model, version: "1.0.0", output: "rel1")
        try create(model, version: "1.0.1", output: "rel2")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("rel1/release.tlog-proof")))
        _ = try gate("rel1", "out1", expect: 0)
        _ = try gate("rel2", "out2", expect: 0)
        // The older proof still checks (against its own, smaller checkpoint).

        // Signed by the trusted key, but never logged: refused at step log.
        try create(model, version: "2.0.0", output: "secret", log: false)
        let refused = try gate("secret", "out3", expect: 1)
        XCTAssertEqual(try failedStep(refused)?.0, "log")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out3/weights.bin")))

        // The proof of another release copied in: refused, and named as such.
        try FileManager.default.copyItem(atPath: path("rel1/release.tlog-proof"), toPath: path("secret/release.tlog-proof"))
        let copied = try gate("secret", "out4", expect: 1)
        let step = try failedStep(copied)
        XCTAssertEqual(step?.0, "log")
        XCTAssertTrue(step?.1.contains("clf@1.0.0") ?? false, "\(String(describing: step))")
    }

    func testATamperedProofOrAnotherLogsKeyIsRefused() throws {
        let model = try setUpLog()
        try create(model, version: "1.0.0", output: "rel")
        try create(model, version: "1.0.1", output: "rel-next")   // so the proof of rel has a hash to tamper with
        try run(["log", "prove", path("log"), "--log-key", path("log.vkey"), "--release", path("rel"), "--force"])
        let proofPath = path("rel/release.tlog-proof")
        let original = try String(contentsOfFile: proofPath, encoding: .utf8)
        var lines = original.components(separatedBy: "\n")
        // Line 3 is the first proof hash (after the header and the index).
        let hashLine = try XCTUnwrap(lines.firstIndex { $0.count == 44 && $0.hasSuffix("=") && !$0.hasPrefix("index") })
        var bytes = Array(Data(base64Encoded: lines[hashLine])!)
        bytes[0] ^= 1
        lines[hashLine] = Data(bytes).base64EncodedString()
        try lines.joined(separator: "\n").write(toFile: proofPath, atomically: true, encoding: .utf8)
        XCTAssertEqual(try failedStep(try gate("rel", "out1", expect: 1))?.0, "log")

        // The genuine proof, but the gate trusts another log's key.
        try original.write(toFile: proofPath, atomically: true, encoding: .utf8)
        try run(["keygen", "--type", "ed25519", "--out", path("other-log.pem")])
        let otherVkey = try run(["log", "init", "--origin", "example.com/models", "--key", path("other-log.pem"), path("other-log")]).stdoutText
        try otherVkey.write(toFile: path("other.vkey"), atomically: true, encoding: .utf8)
        let other = try run(["release", "verify", path("rel"), "--public-key", path("release.pem.pub"), "--identity", path("deploy.pem"),
                             "--log-key", path("other.vkey"), "--output", path("out2"), "--json"], expect: 1)
        XCTAssertEqual(try failedStep(other)?.0, "log")
        _ = try gate("rel", "out3", expect: 0)
    }

    func testWitnessQuorumIsRequiredWhenAsked() throws {
        let model = try setUpLog()
        try create(model, version: "1.0.0", output: "rel")
        try run(["keygen", "--type", "ed25519", "--out", path("witness.pem")])
        let witnessVkey = try run(["log", "cosign", path("log"), "--key", path("witness.pem"), "--name", "witness.example.com/w1",
                                   "--log-key", path("log.vkey"), "--state", path("witness-state")]).stdoutText
        try witnessVkey.write(toFile: path("witness.vkey"), atomically: true, encoding: .utf8)
        let quorum = ["--witness-key", path("witness.vkey"), "--witnesses", "1"]
        // The proof written at release time carries no cosignature yet.
        let early = try gate("rel", "out1", extra: quorum, expect: 1)
        XCTAssertEqual(try failedStep(early)?.0, "log")
        // Refreshed against the cosigned checkpoint, it passes.
        try run(["log", "prove", path("log"), "--log-key", path("log.vkey"), "--release", path("rel"), "--force"])
        _ = try gate("rel", "out2", extra: quorum, expect: 0)
        // The witness's PEM public key works too (matched to its cosignature by key id),
        // and so does the log's PEM key with its origin.
        _ = try run(["release", "verify", path("rel"), "--public-key", path("release.pem.pub"), "--identity", path("deploy.pem"),
                     "--log-key", path("log.pem.pub"), "--log-origin", "example.com/models",
                     "--witness-key", path("witness.pem.pub"), "--witnesses", "1", "--output", path("out-pem"), "--json"], expect: 0)
        // Another witness's key does not count.
        try run(["keygen", "--type", "ed25519", "--out", path("stranger.pem")])
        let stranger = try gate("rel", "out-stranger", extra: ["--witness-key", path("stranger.pem.pub"), "--witnesses", "1"], expect: 1)
        XCTAssertEqual(try failedStep(stranger)?.0, "log")
        // More witnesses required than keys given is a usage error.
        _ = try gate("rel", "out3", extra: ["--witness-key", path("witness.vkey"), "--witnesses", "2"], expect: 2)
        // The same witness given twice (as vkey, as PEM, or both) is one witness: a quorum of 2 is not met.
        for twice in [[path("witness.vkey"), path("witness.vkey")], [path("witness.pem.pub"), path("witness.pem.pub")],
                      [path("witness.vkey"), path("witness.pem.pub")]] {
            let doubled = try gate("rel", "out-twice-\(UUID().uuidString)",
                                   extra: ["--witness-key", twice[0], "--witness-key", twice[1], "--witnesses", "2"], expect: 1)
            XCTAssertEqual(try failedStep(doubled)?.0, "log")
        }
    }

    /// The log's own key given as a witness key, in every form (vkey text,
    /// vkey file, PEM), is refused (exit 2): before, its vkey as text was
    /// taken without a type check and the log's own signature line counted as
    /// a cosignature, so a forked log that no witness saw met the quorum
    /// (walk12 F1). `log check-proof` refuses it the same way.
    func testTheLogsOwnKeyIsNeverAWitness() throws {
        let model = try setUpLog()
        try create(model, version: "1.0.0", output: "rel")
        let vkeyText = try String(contentsOfFile: path("log.vkey"), encoding: .utf8).trimmingCharacters(in: .newlines)
        for witness in [vkeyText, path("log.vkey"), path("log.pem.pub")] {
            let out = "out-\(UUID().uuidString)"
            let r = try gate("rel", out, extra: ["--witness-key", witness, "--witnesses", "1"], expect: 2)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path(out)), witness)
            XCTAssertTrue(r.stdoutText.contains("\"tlog.key-malformed\"") || r.stdoutText.contains("\"usage.invalid-value\""), "\(witness): \(r.stdoutText)")
            try run(["log", "check-proof", path("rel/release.tlog-proof"), "--log-key", path("log.vkey"), "--release", path("rel"),
                     "--witness-key", witness, "--witnesses", "1"], expect: 2)
        }
    }

    /// walk12 F12: a release.json edited after signing (another version
    /// under a genuine signature) is not logged: before, `log append` took
    /// name, version and time from it unchecked, so anyone holding one genuine
    /// release could log entries the key never signed (and raise false
    /// conflicts in the key owner's monitor). Refused with and without
    /// trusted keys (exit 1), and the log does not grow.
    func testAReleaseJSONEditedAfterSigningIsNotLogged() throws {
        let model = try setUpLog()
        try create(model, version: "1.0.2", output: "genuine", log: false)
        try FileManager.default.copyItem(atPath: path("genuine"), toPath: path("relabelled"))
        let manifest = path("relabelled/release.json")
        let edited = try String(contentsOfFile: manifest, encoding: .utf8).replacingOccurrences(of: "\"1.0.2\"", with: "\"1.0.1\"")
        XCTAssertTrue(edited.contains("\"1.0.1\""))
        try edited.write(toFile: manifest, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: path("trusted"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path("release.pem.pub"), toPath: path("trusted/release.pem.pub"))
        for trust in [[], ["--trusted-keys", path("trusted")], ["--public-key", path("release.pem.pub")]] {
            let r = try run(["log", "append", path("log"), "--key", path("log.pem"), "--release", path("relabelled"), "--json"] + trust, expect: 1)
            XCTAssertTrue(r.stdoutText.contains("tlog.release-signature-rejected"), "\(trust): \(r.stdoutText)")
        }
        let checkpoint = try String(contentsOfFile: path("log/checkpoint"), encoding: .utf8)
        XCTAssertEqual(checkpoint.split(separator: "\n")[1], "0", checkpoint)
        // The genuine release is logged.
        try run(["log", "append", path("log"), "--key", path("log.pem"), "--release", path("genuine"), "--trusted-keys", path("trusted")])
    }

    /// walk12 F15: a vkey file with a CRLF line end, a blank line after it
    /// or indentation is read (a vkey holds no white space); a file that is
    /// not a vkey is refused with its name in the message.
    func testAVkeyFileMayCarryWhiteSpaceAroundTheKey() throws {
        _ = try setUpLog()
        let vkey = try String(contentsOfFile: path("log.vkey"), encoding: .utf8).trimmingCharacters(in: .newlines)
        for (name, text) in [("crlf.vkey", vkey + "\r\n"), ("blank.vkey", vkey + "\n\n"), ("indented.vkey", "  " + vkey + "  \n")] {
            try text.write(toFile: path(name), atomically: true, encoding: .utf8)
            try run(["log", "verify", path("log"), "--log-key", path(name)])
        }
        try (String(vkey.dropLast(4)) + "\n").write(toFile: path("cut.vkey"), atomically: true, encoding: .utf8)
        let r = try run(["log", "verify", path("log"), "--log-key", path("cut.vkey")], expect: 2)
        XCTAssertTrue(r.stderrText.contains(path("cut.vkey")), r.stderrText)
    }

    /// walk12 F11: `release create --log` builds, logs and proves the
    /// release under another name and renames it into place last, so a
    /// release killed before it is logged never stands at OUTPUT. Shown with
    /// the log's lock held by another process: while the command waits for
    /// it (the release already built and signed), OUTPUT does not exist.
    func testAReleaseAppearsAtItsOutputOnlyOnceLogged() throws {
        let model = try setUpLog()
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(float(sys.argv[2]))",
                            path("log/.lock"), "120"]
        let ready = Pipe()
        holder.standardOutput = ready
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        XCTAssertTrue(String(decoding: ready.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("locked"))   // held from here
        // stderr to a file, read while the command runs: it says when it starts waiting for the lock.
        let errFile = path("create.stderr")
        XCTAssertTrue(FileManager.default.createFile(atPath: errFile, contents: nil))
        let create = Process()
        create.executableURL = TestSupport.modelsecBinary
        create.arguments = ["release", "create", model, "--name", "clf", "--version", "1.0.0",
                            "--signing-key", path("release.pem"), "--recipient", path("deploy.pem.pub"),
                            "--output", path("rel"), "--log", path("log"), "--log-signing-key", path("log.pem")]
        create.standardInput = FileHandle.nullDevice
        create.standardOutput = FileHandle.nullDevice
        create.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        let exited = DispatchSemaphore(value: 0)
        create.terminationHandler = { _ in exited.signal() }
        try create.run()
        defer { if create.isRunning { create.terminate() } }
        func stderrText() -> String { (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "" }
        // The release is built under a sibling name; OUTPUT stays absent while the append waits.
        // The lock is held until the command says it waits for it (walk12 F14: it once waited
        // silently), not for a fixed time: on 2 busy cores the command can take any time to get there.
        var waiting = false
        let deadline = Date().addingTimeInterval(60)
        while !waiting, Date() < deadline, create.isRunning {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("rel")), "the release stood at OUTPUT before it was logged")
            waiting = stderrText().contains("another append holds the log")
            if !waiting { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertTrue(waiting, "the command never said it waited for the held lock (running: \(create.isRunning)): \(stderrText())")
        if waiting {
            // Waiting: built and signed beside OUTPUT, not at it.
            let sawSibling = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).contains { $0.hasPrefix("rel.modelsec-new-") }
            XCTAssertTrue(sawSibling, "no release was being built beside OUTPUT")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("rel")), "the release stood at OUTPUT before it was logged")
        }
        holder.terminate()
        holder.waitUntilExit()
        guard exited.wait(timeout: .now() + 60) == .success else {
            kill(create.processIdentifier, SIGKILL)
            return XCTFail("release create did not finish within 60 s of the lock being free: \(stderrText())")
        }
        XCTAssertEqual(create.terminationStatus, 0, stderrText())
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("rel/release.tlog-proof")))
        XCTAssertFalse(((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).contains { $0.contains(".modelsec-new-") })
        _ = try gate("rel", "out", expect: 0)
    }

    /// walk12 F8: a witness that cannot write the log's directory cosigns
    /// with --output and hands the file back; `log add-cosignatures` merges
    /// only the given witnesses' lines that verify, refuses a tampered one
    /// (exit 1) and a file for an older checkpoint (exit 2), and the proofs
    /// made after it satisfy the gate's quorum.
    func testCosignaturesHandedBackAreMergedIntoTheCheckpoint() throws {
        let model = try setUpLog()
        try create(model, version: "1.0.0", output: "rel")
        try run(["keygen", "--type", "ed25519", "--out", path("witness.pem")])
        let witness = try run(["log", "cosign", path("log"), "--key", path("witness.pem"), "--name", "witness.example.com/w1",
                               "--log-key", path("log.vkey"), "--state", path("witness-state"), "--output", path("w1.cosigned")]).stdoutText
        try witness.write(toFile: path("witness.vkey"), atomically: true, encoding: .utf8)
        XCTAssertFalse(try String(contentsOfFile: path("log/checkpoint"), encoding: .utf8).contains("witness.example.com/w1"))
        let merge = ["log", "add-cosignatures", path("log"), "--log-key", path("log.vkey"), "--witness-key", path("witness.vkey")]
        // A cosignature altered in transit is refused, and nothing is merged.
        let cosigned = try String(contentsOfFile: path("w1.cosigned"), encoding: .utf8)
        let line = try XCTUnwrap(cosigned.split(separator: "\n").first { $0.contains("witness.example.com/w1") })
        let altered = String(line.dropLast(2)) + (line.hasSuffix("A=") ? "B=" : "A=")
        try cosigned.replacingOccurrences(of: String(line), with: altered).write(toFile: path("bad.cosigned"), atomically: true, encoding: .utf8)
        try run(merge + [path("bad.cosigned")], expect: 1)
        XCTAssertFalse(try String(contentsOfFile: path("log/checkpoint"), encoding: .utf8).contains("witness.example.com/w1"))
        // Another witness's key merges nothing.
        try run(["keygen", "--type", "ed25519", "--out", path("other.pem")])
        let other = try run(["log", "cosign", path("log"), "--key", path("other.pem"), "--name", "witness.example.com/w2",
                             "--log-key", path("log.vkey"), "--state", path("other-state"), "--output", path("w2.cosigned")]).stdoutText
        try run(merge + [path("w2.cosigned")])
        XCTAssertFalse(try String(contentsOfFile: path("log/checkpoint"), encoding: .utf8).contains("witness.example.com/w2"))
        // The witness's own merges, and the refreshed proof meets a quorum of 1.
        try run(merge + [path("w1.cosigned")])
        try run(["log", "prove", path("log"), "--log-key", path("log.vkey"), "--release", path("rel"), "--force"])
        _ = try gate("rel", "out", extra: ["--witness-key", path("witness.vkey"), "--witnesses", "1"], expect: 0)
        // Once the log grows, a file for the old checkpoint is refused.
        try create(model, version: "1.0.1", output: "rel2")
        let stale = try run(["log", "add-cosignatures", path("log"), "--log-key", path("log.vkey"),
                             "--witness-key", other.trimmingCharacters(in: .newlines), path("w2.cosigned")], expect: 2)
        XCTAssertTrue(stale.stderrText.contains("cosigns the checkpoint of size 1, but"), stale.stderrText)
    }

    /// The issue's command lines run as written once a pipeline names the
    /// log's keys in the environment: MODELSEC_LOG_SIGNING_KEY (the private
    /// key's path) for `log append` and `release create --log`,
    /// MODELSEC_LOG_KEY (the vkey) for the commands that check the log.
    /// Without them, a usage error says which to give.
    func testTheLogsKeysMayComeFromTheEnvironment() throws {
        let model = try setUpLog()
        let env = ["MODELSEC_LOG_SIGNING_KEY": path("log.pem"), "MODELSEC_LOG_KEY": path("log.vkey")]
        func run(_ arguments: [String], expect status: Int32 = 0, environment: [String: String] = env,
                 line: UInt = #line) throws -> TestSupport.ProcessResult {
            let r = try TestSupport.modelsec(arguments, environment: environment, currentDirectory: dir)
            XCTAssertEqual(r.status, status, "\(arguments.joined(separator: " ")): \(r.stderrText)", line: line)
            return r
        }
        try create(model, version: "1.0.0", output: "unlogged", log: false)
        try run(["log", "append", path("log"), "--release", path("unlogged")])
        try run(["release", "create", model, "--name", "clf", "--version", "1.0.1", "--signing-key", path("release.pem"),
                 "--recipient", path("deploy.pem.pub"), "--output", path("rel"), "--log", path("log")])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("rel/release.tlog-proof")))
        try run(["log", "prove", path("log"), "--release", path("unlogged")])
        try run(["log", "verify", path("log")])
        // Long log commands report progress like the others (walk12 F5: they printed nothing).
        XCTAssertTrue(try run(["log", "verify", path("log"), "--progress", "always"]).stderrText.contains("verifying entries: 2/2"))
        let keyID = try run(["key", "inspect", path("release.pem.pub"), "--json"]).stdoutText
        let id = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(keyID.utf8)) as? [String: Any])?["keyId"] as? String)
        XCTAssertTrue(try run(["log", "monitor", path("log"), "--key-id", id]).stdoutText.contains("clf@1.0.1"))
        // The gate takes the log key from the environment too (review12b #7): a release never logged is refused.
        try create(model, version: "9.0.0", output: "never", log: false)
        let gateArgs = ["release", "verify", "--public-key", path("release.pem.pub"), "--identity", path("deploy.pem")]
        try run(Array(gateArgs.prefix(2)) + [path("never")] + gateArgs.dropFirst(2) + ["--output", path("out-never")], expect: 1)
        try run(Array(gateArgs.prefix(2)) + [path("rel")] + gateArgs.dropFirst(2) + ["--output", path("out-rel")])
        // Without the environment: usage errors that name the variable.
        let none = ["MODELSEC_LOG_SIGNING_KEY": "", "MODELSEC_LOG_KEY": ""]
        XCTAssertTrue(try run(["log", "verify", path("log")], expect: 2, environment: none).stderrText.contains("MODELSEC_LOG_KEY"))
        XCTAssertTrue(try run(["log", "append", path("log"), "--release", path("rel")], expect: 2, environment: none)
            .stderrText.contains("MODELSEC_LOG_SIGNING_KEY"))
    }

    /// walk12 F7, F10, F6: the log's own key cannot cosign; a witness whose
    /// state holds no checkpoint of the log says it trusted this one as the
    /// first (stderr and `firstUse`); a damaged tile in the copy a witness
    /// reads is reported as such, not as a fork, and nothing is cosigned.
    func testWitnessRefusesTheLogsKeySaysFirstUseAndTellsADamagedTileFromAFork() throws {
        let model = try setUpLog()
        try create(model, version: "1.0.0", output: "rel")
        try run(["log", "cosign", path("log"), "--key", path("log.pem"), "--name", "example.com/models",
                 "--log-key", path("log.vkey"), "--state", path("self-state")], expect: 2)
        try run(["keygen", "--type", "ed25519", "--out", path("witness.pem")])
        let cosign = ["log", "cosign", path("log"), "--key", path("witness.pem"), "--name", "witness.example.com/w1",
                      "--log-key", path("log.vkey"), "--state", path("witness-state"), "--json"]
        let first = try run(cosign)
        XCTAssertTrue(first.stderrText.contains("trusted as the first"), first.stderrText)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: first.stdout) as? [String: Any])?["firstUse"] as? Bool, true)
        try create(model, version: "1.0.1", output: "rel2")
        // Damage one hash of the level-0 tile that the new checkpoint covers (the checkpoint is untouched).
        let tiles = try FileManager.default.contentsOfDirectory(atPath: path("log/tile/0/000.p")).sorted()
        let tile = path("log/tile/0/000.p") + "/" + (try XCTUnwrap(tiles.last))
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: tile)))
        bytes[bytes.count - 32] ^= 1   // the new entry's leaf hash, which the consistency proof uses
        let good = try Data(contentsOf: URL(fileURLWithPath: tile))
        try Data(bytes).write(to: URL(fileURLWithPath: tile))
        let damaged = try run(cosign, expect: 1)
        XCTAssertTrue(damaged.stdoutText.contains("tlog.root-mismatch") && damaged.stdoutText.contains("damaged"), damaged.stdoutText)
        try good.write(to: URL(fileURLWithPath: tile))
        let second = try run(cosign)
        XCTAssertFalse(second.stderrText.contains("trusted as the first"), second.stderrText)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: second.stdout) as? [String: Any])?["firstUse"] as? Bool, false)
    }

    /// review12b #1: vkey text is the key, never a path. A vkey's name holds
    /// a "/", so the text is also a relative path; an attacker who can add
    /// files to the working directory (a checkout) planted their own vkey
    /// there, and the gate and `log verify` trusted the attacker's log.
    func testVkeyTextIsNeverReadAsAPath() throws {
        let model = try setUpLog()
        // The attacker's log: the same origin, another key, holding the release.
        try run(["keygen", "--type", "ed25519", "--out", path("evil.pem")])
        let evilVkey = try run(["log", "init", "--origin", "example.com/models", "--key", path("evil.pem"), path("evil-log")]).stdoutText
        try run(["release", "create", model, "--name", "clf", "--version", "6.6.6", "--signing-key", path("release.pem"),
                 "--recipient", path("deploy.pem.pub"), "--output", path("rel"), "--log", path("evil-log"),
                 "--log-signing-key", path("evil.pem")])
        let realVkey = try String(contentsOfFile: path("log.vkey"), encoding: .utf8).trimmingCharacters(in: .newlines)
        let planted = dir.appendingPathComponent(realVkey)
        try FileManager.default.createDirectory(at: planted.deletingLastPathComponent(), withIntermediateDirectories: true)
        try evilVkey.write(to: planted, atomically: true, encoding: .utf8)
        let gate = try run(["release", "verify", path("rel"), "--public-key", path("release.pem.pub"), "--identity", path("deploy.pem"),
                            "--log-key", realVkey, "--output", path("out"), "--json"], expect: 1)
        XCTAssertEqual(try failedStep(gate)?.0, "log")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out")))
        try run(["log", "verify", path("evil-log"), "--log-key", realVkey], expect: 1)
        let env = try TestSupport.modelsec(["log", "verify", path("evil-log")], environment: ["MODELSEC_LOG_KEY": realVkey], currentDirectory: dir)
        XCTAssertEqual(env.status, 1, env.stderrText)
    }

    /// review12b #4: with --log, OUTPUT is checked before the release is
    /// logged: an unusable name (`DIR/.`) is refused up front and nothing is
    /// appended (before, the release was logged and then could not be put in
    /// place).
    func testAnUnusableOutputIsRefusedBeforeTheReleaseIsLogged() throws {
        let model = try setUpLog()
        try FileManager.default.createDirectory(atPath: path("outdot"), withIntermediateDirectories: true)
        let r = try run(["release", "create", model, "--name", "clf", "--version", "1.0.0", "--signing-key", path("release.pem"),
                         "--recipient", path("deploy.pem.pub"), "--output", path("outdot") + "/.", "--log", path("log"),
                         "--log-signing-key", path("log.pem")], expect: 2)
        XCTAssertTrue(r.stderrText.contains("is not a usable output directory name"), r.stderrText)
        let checkpoint = try String(contentsOfFile: path("log/checkpoint"), encoding: .utf8)
        XCTAssertEqual(checkpoint.split(separator: "\n")[1], "0", checkpoint)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("outdot")), [])
    }

    func testLoggingNeedsAUsableLogBeforeTheModelIsRead() throws {
        let model = try setUpLog()
        // A directory that is not a log: refused, and no release is left behind.
        try FileManager.default.createDirectory(atPath: path("not-a-log"), withIntermediateDirectories: true)
        try run(["release", "create", model, "--name", "clf", "--version", "1.0.0", "--signing-key", path("release.pem"),
                 "--recipient", path("deploy.pem.pub"), "--output", path("rel"), "--log", path("not-a-log"), "--log-signing-key", path("log.pem")],
                expect: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("rel")))
        // The wrong key for the log (the release key, the likeliest mistake): the message names the key
        // and both key ids (walk12 F2), and still the replaced checkpoint it could also be (review12b #3:
        // so exit 1, a failed check), refused before anything is written.
        let wrong = try run(["release", "create", model, "--name", "clf", "--version", "1.0.0", "--signing-key", path("release.pem"),
                             "--recipient", path("deploy.pem.pub"), "--output", path("rel"), "--log", path("log"),
                             "--log-signing-key", path("release.pem")], expect: 1)
        XCTAssertTrue(wrong.stderrText.contains("\(path("release.pem")) is not the key that signed"), wrong.stderrText)
        XCTAssertTrue(wrong.stderrText.contains("not the release signing key") && wrong.stderrText.contains("checkpoint was replaced"), wrong.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("rel")))
        let append = try run(["log", "append", path("log"), "--key", path("release.pem"), "--entry-file", model + "/weights.bin"], expect: 1)
        XCTAssertTrue(append.stderrText.contains("\(path("release.pem")) is not the key that signed"), append.stderrText)
        // --log without --log-key is a usage error.
        try run(["release", "create", model, "--name", "clf", "--version", "1.0.0", "--signing-key", path("release.pem"),
                 "--recipient", path("deploy.pem.pub"), "--output", path("rel"), "--log", path("log")], expect: 2)
    }
}
