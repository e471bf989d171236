import Foundation
import ModelSecCrypto
import ModelSecKeys
@testable import PolicyCheck
import TestSupport
import XCTest

/// Real releases made by `modelsec release create`, audited by `modelsec audit`
/// against the shipped policies, then tampered with.
final class EndToEndTests: XCTestCase {
    var work: URL!
    var env: [String: String] = [:]
    var root: URL { TestSupport.repositoryRoot }
    var baseline: String { root.appendingPathComponent("policies/baseline.yaml").path }
    var strict: String { root.appendingPathComponent("policies/strict.yaml").path }

    override func setUpWithError() throws {
        work = try TestSupport.makeTemporaryDirectory("policy-e2e")
        try FileManager.default.createDirectory(at: work.appendingPathComponent("releases"), withIntermediateDirectories: true)
        env = ["MODELSEC_TRUSTED_KEYS": root.appendingPathComponent("keys-example/p256.pem.pub").path]
        // The model card and DP report the strict policy asks for.
        try """
        license: apache-2.0
        owner: ml-platform@example.com
        intended_use: Sentiment classification of product reviews.
        training_data: reviews-2024 (internal)
        datasets:
          - {name: reviews-2024, sha256: \(String(repeating: "ab", count: 32)), license: CC-BY-4.0}
        metrics:
          - {name: accuracy, value: 0.93}
        considerations:
          technical_limitations: [English only]
        """.write(to: work.appendingPathComponent("card.yaml"), atomically: true, encoding: .utf8)
        // The builder the strict policy allows (MS-PROV-002).
        try "builder_id: https://gitlab.example.com/ml/reviews/-/runners/7\n"
            .write(to: work.appendingPathComponent("build.yaml"), atomically: true, encoding: .utf8)
        try #"{"epsilon": 2.0, "delta": 1e-6, "noiseMultiplier": 1.1}"#.write(to: work.appendingPathComponent("dp.json"), atomically: true, encoding: .utf8)
    }

    /// A model directory with one valid safetensors file, plus `extra` files.
    func model(_ name: String, extra: [String: Data] = [:]) throws -> String {
        let dir = work.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let header = Data(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
        var length = UInt64(header.count).littleEndian
        var file = Data(bytes: &length, count: 8)
        file += header + Data(count: 8)
        try file.write(to: dir.appendingPathComponent("model.safetensors"))
        for (path, bytes) in extra { try bytes.write(to: dir.appendingPathComponent(path)) }
        return dir.path
    }

    func release(_ name: String, model: String, signingKey: String? = nil, version: String = "1.0.0", scan: Bool = true) throws -> String {
        let out = work.appendingPathComponent("releases/\(name)-\(version)").path
        let r = try TestSupport.modelsec([
            "release", "create", model, "--name", name, "--version", version,
            "--signing-key", signingKey ?? root.appendingPathComponent("keys-example/p256.pem").path,
            "--key-file", root.appendingPathComponent("keys-example/aes256.key").path,
            "--metadata", work.appendingPathComponent("card.yaml").path,
            "--provenance", work.appendingPathComponent("build.yaml").path,
            "--dp-report", work.appendingPathComponent("dp.json").path,
            "--output", out,
        ] + (scan ? [] : ["--no-scan"]))
        XCTAssertEqual(r.status, 0, r.stderrText)
        return out
    }

    func audit(_ args: [String]) throws -> TestSupport.ProcessResult {
        try TestSupport.modelsec(["audit"] + args, environment: env)
    }

    func testAuditRealReleasesAgainstShippedPoliciesAndTamper() throws {
        let good = try release("sentiment", model: try model("good"))
        // A pickle whose GLOBAL names posix.system (protocol 0), written, never loaded.
        let evil = Data("cposix\nsystem\n(S'echo pwned'\ntR.".utf8)
        let risky = try release("risky", model: try model("risky", extra: ["payload.pkl": evil]))

        // The good release passes both policies.
        var r = try audit([good, "--policy", baseline, "--policy", strict])
        XCTAssertEqual(r.status, 0, r.stdoutText + r.stderrText)
        XCTAssertTrue(r.stdoutText.contains("1 releases, 24 rules, 24 passed, 0 warnings, 0 failures, 0 waived"), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("signature verified with trusted key"), r.stdoutText)
        XCTAssertFalse(r.stdoutText.contains("NOT AUTHENTICATED"), r.stdoutText)

        // The pickle is denied by baseline (MS-SCAN-001), with the file named.
        r = try audit([good, risky, "--policy", baseline, "--format", "json"])
        XCTAssertEqual(r.status, 1, r.stderrText)
        let json = try JSONSerialization.jsonObject(with: r.stdout) as! [String: Any]
        let failed = (json["results"] as! [[String: Any]]).filter { $0["status"] as? String == "failure" }
        XCTAssertEqual(failed.map { "\($0["release"]!) \($0["ruleID"]!)" }, ["risky@1.0.0 MS-SCAN-001"])
        XCTAssertTrue((failed[0]["message"] as! String).contains("posix.system"), "\(failed[0])")

        // Tampering with release.json after signing: the signature rule denies.
        let tampered = work.appendingPathComponent("releases/tampered").path
        try FileManager.default.copyItem(atPath: good, toPath: tampered)
        let manifestURL = URL(fileURLWithPath: tampered).appendingPathComponent("release.json")
        let edited = try String(contentsOf: manifestURL, encoding: .utf8).replacingOccurrences(of: "apache-2.0", with: "mit")
        try edited.write(to: manifestURL, atomically: true, encoding: .utf8)
        r = try audit([tampered, "--policy", baseline])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdoutText.contains("MS-SIG-001") && r.stdoutText.contains("modified after signing"), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("sentiment@1.0.0 (\(tampered), release.json sha256 "), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("NOT AUTHENTICATED"), r.stdoutText)

        // Swapping an encrypted artifact for plaintext: the encryption rule denies.
        let swapped = work.appendingPathComponent("releases/swapped").path
        try FileManager.default.copyItem(atPath: good, toPath: swapped)
        try Data("plaintext weights".utf8).write(to: URL(fileURLWithPath: swapped).appendingPathComponent("artifacts/model.safetensors.enc"))
        r = try audit([swapped, "--policy", baseline])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdoutText.contains("MS-ENC-001") && r.stdoutText.contains("FAIL"), r.stdoutText)

        // Signed by a key the policy does not trust.
        let rogueKey = work.appendingPathComponent("rogue.pem").path
        let pem = try PrivateKey.generate(.ed25519).pkcs8PEM(passphrase: nil)
        try pem.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: rogueKey))
        let rogue = try release("rogue", model: try model("rogue"), signingKey: rogueKey)
        r = try audit([rogue, "--policy", baseline, "--format", "sarif", "--output", work.appendingPathComponent("a.sarif").path])
        XCTAssertEqual(r.status, 1)
        let sarif = try String(contentsOf: work.appendingPathComponent("a.sarif"), encoding: .utf8)
        XCTAssertTrue(sarif.contains("\"ruleId\" : \"MS-SIG-001\""), sarif)
        XCTAssertTrue(r.stderrText.contains("1 releases, 10 rules"), r.stderrText)

        // A waiver for the pickle finding turns the failure into "waived" (exit 0).
        let waiverPolicy = work.appendingPathComponent("waived.yaml").path
        try """
        name: waived
        version: 1
        rules:
          - id: MS-SCAN-001
            title: No dangerous serialization
            severity: deny
            check: no-unsafe-serialization
            params: {fail_on: [dangerous]}
        waivers:
          - rule: MS-SCAN-001
            release: "risky@1.*"
            reason: sandboxed evaluation only
            expires: 2999-12-31
        """.write(toFile: waiverPolicy, atomically: true, encoding: .utf8)
        r = try audit([risky, "--policy", waiverPolicy, "--format", "junit"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertTrue(r.stdoutText.contains("<skipped message=\"waived: sandboxed evaluation only\"/>"), r.stdoutText)
        XCTAssertTrue(r.stderrText.contains("1 releases, 1 rules, 0 passed, 0 warnings, 0 failures, 1 waived"), r.stderrText)
    }

    /// With a decryption key, the plaintext is scanned again and replaces the recorded findings.
    func testRescanWithDecryptionKey() throws {
        let evil = Data("cposix\nsystem\n(S'echo pwned'\ntR.".utf8)
        let risky = try release("unscanned-risky", model: try model("ur", extra: ["payload.pkl": evil]), scan: false)
        let good = try release("unscanned-good", model: try model("ug"), scan: false)
        let rescan = ["--key-file", root.appendingPathComponent("keys-example/aes256.key").path,
                      "--public-key", root.appendingPathComponent("keys-example/p256.pem.pub").path]
        // Recorded evidence: no scan at all, so the scan rule denies both.
        var r = try audit([good, "--policy", baseline])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdoutText.contains("records no scanner results"), r.stdoutText)
        // Rescanned: the good one passes, the risky one is denied for posix.system.
        r = try audit([good, "--policy", baseline] + rescan)
        XCTAssertEqual(r.status, 0, r.stdoutText + r.stderrText)
        r = try audit([risky, "--policy", baseline] + rescan)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdoutText.contains("(rescanned)") && r.stdoutText.contains("posix.system"), r.stdoutText)
        // A wrong key: the release cannot be decrypted; that is an `error` finding,
        // which baseline grades as a warning (MS-SCAN-002), so --fail-on-warn fails.
        let wrongKey = work.appendingPathComponent("wrong.key").path
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "aes256", "--out", wrongKey]).status, 0)
        r = try audit([good, "--policy", baseline, "--key-file", wrongKey, "--public-key", rescan[3], "--fail-on-warn"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdoutText.contains("rescan-failed"), r.stdoutText)
        // Rescanning without trusted keys is a usage error.
        XCTAssertEqual(try audit([good, "--policy", baseline, "--key-file", wrongKey]).status, 2)
    }

    /// The judged release.json must be the authenticated one: evidence parsed from
    /// edited bytes does not pass even if the file is put back before verification.
    func testEvidenceMustBeTheAuthenticBytes() throws {
        let dir = try release("swap", model: try model("swap"))
        let manifestURL = URL(fileURLWithPath: dir).appendingPathComponent("release.json")
        let original = try Data(contentsOf: manifestURL)
        let trusted = [try KeyFile.loadPublicKey(root.appendingPathComponent("keys-example/p256.pem.pub").path)]

        let honest = try DefaultReleaseLoading.loader.load(directory: dir)
        XCTAssertEqual(honest.authenticator.authenticate(trusting: trusted), .verified(keyID: trusted[0].keyID))

        try Data(String(decoding: original, as: UTF8.self).replacingOccurrences(of: "apache-2.0", with: "mit").utf8).write(to: manifestURL)
        let edited = try DefaultReleaseLoading.loader.load(directory: dir)
        XCTAssertEqual(edited.metadata["license"], .string("mit"))
        try original.write(to: manifestURL)  // the file is authentic again, the evidence is not
        guard case let .failed(reason) = edited.authenticator.authenticate(trusting: trusted) else {
            return XCTFail("evidence from edited bytes was accepted")
        }
        XCTAssertTrue(reason.contains("changed while it was being audited"), reason)
    }

    func testUnreadableInputsAndLintExitCodes() throws {
        let good = try release("small", model: try model("small"))
        // A release that does not exist: one failed result beside the good
        // release, and unusable input (exit 2, issue #15's walkthrough).
        let nope = work.appendingPathComponent("nope").path
        var r = try audit([good, nope, "--policy", baseline, "--format", "json"])
        XCTAssertEqual(r.status, 2, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("nope"), r.stderrText)
        let report = try JSONSerialization.jsonObject(with: r.stdout) as! [String: Any]
        let failures = (report["results"] as! [[String: Any]]).filter { $0["status"] as? String == "failure" }
        XCTAssertEqual(failures.map { $0["ruleID"] as? String }, ["release-readable"])
        XCTAssertEqual((report["totals"] as! [String: Any])["passed"] as? Int, 10, "the good release is still audited")
        // A policy that is invalid: exit 2, no report.
        let badPolicy = work.appendingPathComponent("bad.yaml").path
        try "name: x\nversion: 1\nrules:\n  - id: A\n    title: t\n    severity: deny\n    check: nonsense\n".write(toFile: badPolicy, atomically: true, encoding: .utf8)
        r = try audit([good, "--policy", badPolicy])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("bad.yaml:7:12: unknown check 'nonsense'"), r.stderrText)
        XCTAssertTrue(r.stderrText.contains("modelsec policy lint \(badPolicy)"), r.stderrText)
        // An unknown format is a usage error; no partial output file is left.
        r = try audit([good, "--policy", baseline, "--format", "xml"])
        XCTAssertEqual(r.status, 2)

        // policy lint: 0 valid, 1 problems (with line numbers), 2 unreadable.
        r = try TestSupport.modelsec(["policy", "lint", baseline], environment: env)
        XCTAssertEqual(r.status, 0, r.stdoutText + r.stderrText)
        r = try TestSupport.modelsec(["policy", "lint", badPolicy, "--json"])
        XCTAssertEqual(r.status, 1)
        let lint = try JSONSerialization.jsonObject(with: r.stdout) as! [String: Any]
        XCTAssertEqual(((lint["problems"] as! [[String: Any]])[0]["line"] as? Int), 7)
        r = try TestSupport.modelsec(["policy", "lint", work.appendingPathComponent("missing.yaml").path])
        XCTAssertEqual(r.status, 2)
    }

    /// Runs modelsec in `directory` with MODELSEC_TRUSTED_KEYS removed from the environment.
    func modelsecWithoutTrustVariable(_ args: [String], in directory: URL) throws -> TestSupport.ProcessResult {
        try TestSupport.run("/usr/bin/env", ["-u", "MODELSEC_TRUSTED_KEYS", "-u", "MODELSEC_REVOKED_KEYS", TestSupport.modelsecBinary.path] + args,
                            currentDirectory: directory)
    }

    /// Regression (the README's policy commands failed without
    /// MODELSEC_TRUSTED_KEYS): lint passes with a note; the audit writes its
    /// report, taking trust from --trusted-keys / --public-key and saying so,
    /// or failing the signature rule (with a warning) when it has none.
    func testDocumentedPolicyCommandsWorkWithoutTheTrustVariable() throws {
        let scratch = work.appendingPathComponent("repo")
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("releases"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: root.appendingPathComponent("policies"), to: scratch.appendingPathComponent("policies"))
        let good = try release("docs", model: try model("docs"))
        try FileManager.default.moveItem(atPath: good, toPath: scratch.appendingPathComponent("releases/docs-1.0.0").path)
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("releases/README-folder"), withIntermediateDirectories: true)
        let releases = ["releases/README-folder", "releases/docs-1.0.0"]

        var r = try modelsecWithoutTrustVariable(["policy", "lint", "policies/strict.yaml"], in: scratch)
        XCTAssertEqual(r.status, 0, r.stdoutText + r.stderrText)
        XCTAssertTrue(r.stdoutText.contains("note: rule 'MS-SIG-001': environment variable MODELSEC_TRUSTED_KEYS is not set"), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("policies/strict.yaml: ok: policy strict"), r.stdoutText)

        // No trust at all: a report is written; the signature rule and the non-release fail.
        r = try modelsecWithoutTrustVariable(["audit"] + releases + ["--policy", "policies/baseline.yaml", "--format", "sarif", "--output", "audit.sarif"], in: scratch)
        XCTAssertEqual(r.status, 1, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("no trusted signing keys"), r.stderrText)
        XCTAssertTrue(r.stderrText.contains("signature trust: none"), r.stderrText)
        let sarifFile = scratch.appendingPathComponent("audit.sarif")
        let validation = try SARIFValidation.validate(file: sarifFile)
        XCTAssertEqual(validation.status, 0, validation.stdoutText + validation.stderrText)
        let sarif = try JSONSerialization.jsonObject(with: Data(contentsOf: sarifFile)) as! [String: Any]
        let ruleIDs = (sarif["runs"] as! [[String: Any]]).flatMap { ($0["results"] as! [[String: Any]]).map { $0["ruleId"] as! String } }
        XCTAssertEqual(Set(ruleIDs), ["MS-SIG-001", "release-readable"])

        // Trust given to the audit: only the non-release fails; every format says which keys.
        let trust = ["--public-key", root.appendingPathComponent("keys-example/p256.pem.pub").path]
        r = try modelsecWithoutTrustVariable(["audit"] + releases + ["--policy", "policies/baseline.yaml"] + trust, in: scratch)
        XCTAssertEqual(r.status, 1, r.stderrText)
        XCTAssertTrue(r.stdoutText.contains("signature trust: 1 key(s) given to the audit (--public-key "), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("releases/README-folder: NOT A READABLE RELEASE"), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("2 releases, 10 rules, 10 passed, 0 warnings, 1 failures, 0 waived"), r.stdoutText)
        r = try modelsecWithoutTrustVariable(["audit", "releases/docs-1.0.0", "--policy", "policies/baseline.yaml", "--format", "junit"] + trust, in: scratch)
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertTrue(r.stdoutText.contains("<property name=\"signature.trust.source\" value=\"audit\"/>"), r.stdoutText)
        XCTAssertTrue(r.stderrText.contains("signature trust: 1 key(s) given to the audit"), r.stderrText)
        // The variable alone still works (the policy's keys), and the report says so.
        r = try TestSupport.modelsec(["audit", "releases/docs-1.0.0", "--policy", "policies/baseline.yaml", "--format", "json"],
                                     environment: env, currentDirectory: scratch)
        XCTAssertEqual(r.status, 0, r.stderrText)
        let json = try JSONSerialization.jsonObject(with: r.stdout) as! [String: Any]
        XCTAssertEqual((json["signatureTrust"] as? [String: Any])?["source"] as? String, "policy")
    }

    /// Regression (a copy of baseline.yaml elsewhere failed with an unclear
    /// message): lint and audit name the list as written and the path tried.
    func testACopiedPolicyNamesTheRevokedListPathItTried() throws {
        let elsewhere = work.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: baseline, toPath: elsewhere.appendingPathComponent("baseline.yaml").path)
        let tried = elsewhere.appendingPathComponent("revoked-keys.txt").path
        var r = try modelsecWithoutTrustVariable(["policy", "lint", "elsewhere/baseline.yaml"], in: work)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdoutText.contains("the revoked-keys list '${MODELSEC_REVOKED_KEYS:-revoked-keys.txt}' (relative paths are resolved against the policy file's directory; tried '\(tried)') does not exist"), r.stdoutText)
        let good = try release("copied", model: try model("copied"))
        r = try modelsecWithoutTrustVariable(["audit", good, "--policy", "elsewhere/baseline.yaml"], in: work)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains(tried), r.stderrText)
    }
}
