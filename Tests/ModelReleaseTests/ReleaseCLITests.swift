import Foundation
import TestSupport
import XCTest

/// `modelsec release create|verify|inspect` through the binary: exit codes,
/// reports, --json, --policy.
final class ReleaseCLITests: XCTestCase {
    var tmp: URL!

    func at(_ path: String) -> String { tmp.appendingPathComponent(path).path }

    @discardableResult
    func run(_ args: [String], environment: [String: String]? = nil, expect status: Int32, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let result = try TestSupport.modelsec(args, environment: environment)
        XCTAssertEqual(result.status, status, "modelsec \(args.joined(separator: " ")): \(result.stderrText)", file: file, line: line)
        return result
    }

    override func setUpWithError() throws {
        tmp = try TestSupport.makeTemporaryDirectory("modelsec-release-cli")
        try FileManager.default.createDirectory(atPath: at("model"), withIntermediateDirectories: true)
        try Data("{\"a\": 1}\n".utf8).write(to: URL(fileURLWithPath: at("model/config.json")))
        try Data(repeating: 7, count: 70_000).write(to: URL(fileURLWithPath: at("model/weights.bin")))
        try run(["keygen", "--type", "ed25519", "--out", at("sign.pem")], expect: 0)
        try run(["keygen", "--type", "x25519", "--out", at("deploy.pem")], expect: 0)
        try run(["keygen", "--type", "aes256", "--out", at("kms.key")], expect: 0)
    }

    func create(_ output: String, extra: [String] = []) throws -> TestSupport.ProcessResult {
        try run(["release", "create", at("model"), "--name", "clf", "--version", "1.2.0", "--signing-key", at("sign.pem"),
                 "--recipient", at("deploy.pem.pub"), "--key-file", at("kms.key"), "--output", at(output)] + extra, expect: 0)
    }

    func testCreateInspectVerifyJSON() throws {
        try Data("license: mit\nowner: team-a\nintended_use: tests\ntraining_data: none\n".utf8).write(to: URL(fileURLWithPath: at("card.yaml")))
        try Data("{\"epsilon\": 3, \"delta\": 1e-6}".utf8).write(to: URL(fileURLWithPath: at("dp.json")))
        let created = try create("rel", extra: ["--metadata", at("card.yaml"), "--dp-report", at("dp.json"), "--json"])
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: created.stdout) as? [String: Any])
        XCTAssertEqual(summary["files"] as? Int, 2)
        XCTAssertEqual(summary["version"] as? String, "1.2.0")

        let inspected = try run(["release", "inspect", at("rel")], expect: 0)
        XCTAssertTrue(inspected.stdoutText.contains("release: clf@1.2.0"), inspected.stdoutText)
        XCTAssertTrue(inspected.stdoutText.contains("recipients: x25519 "), inspected.stdoutText)
        XCTAssertTrue(inspected.stdoutText.contains("symmetric-key"), inspected.stdoutText)
        let json = try run(["release", "inspect", at("rel"), "--json"], expect: 0)
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        XCTAssertEqual((manifest["modelCard"] as? [String: Any])?["owner"] as? String, "team-a")
        XCTAssertEqual((manifest["dpReport"] as? [String: Any])?["epsilon"] as? Int, 3)

        // Either recipient opens it: the symmetric key file here.
        let verified = try run(["release", "verify", at("rel"), "--public-key", at("sign.pem.pub"), "--key-file", at("kms.key"),
                                "--output", at("out"), "--json"], expect: 0)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: verified.stdout) as? [String: Any])
        XCTAssertEqual(report["deployed"] as? Bool, true)
        XCTAssertEqual((report["steps"] as? [[String: Any]])?.map { $0["status"] as? String }, ["passed", "passed", "skipped", "skipped", "passed", "passed", "skipped", "passed"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: at("out/weights.bin"))), try Data(contentsOf: URL(fileURLWithPath: at("model/weights.bin"))))

        // The deployed directory re-verifies with plain `modelsec verify`.
        try run(["verify", at("out"), "--signature", at("out/.modelsec/release.sig"), "--public-key", at("sign.pem.pub")], expect: 0)
    }

    func testRefusalIsExit1WithTheFailedStepInJSON() throws {
        _ = try create("rel")
        try run(["keygen", "--type", "ed25519", "--out", at("other.pem")], expect: 0)
        let result = try run(["release", "verify", at("rel"), "--public-key", at("other.pem.pub"), "--identity", at("deploy.pem"),
                              "--output", at("out"), "--json"], expect: 1)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        XCTAssertEqual(report["deployed"] as? Bool, false)
        let failed = (report["steps"] as? [[String: Any]])?.first { $0["status"] as? String == "failed" }
        XCTAssertEqual(failed?["name"] as? String, "signature")
        XCTAssertTrue(result.stderrText.contains("signature step failed"), result.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: at("out")))
    }

    func testUsageErrorsAreExit2() throws {
        _ = try create("rel")
        // The release directory exists already.
        try run(["release", "create", at("model"), "--name", "clf", "--version", "1.2.0", "--signing-key", at("sign.pem"),
                 "--recipient", at("deploy.pem.pub"), "--output", at("rel")], expect: 2)
        // No recipient; a bad version; metadata that is not a mapping.
        try run(["release", "create", at("model"), "--name", "clf", "--version", "1", "--signing-key", at("sign.pem"), "--output", at("x")], expect: 2)
        try run(["release", "create", at("model"), "--name", "clf", "--version", "1 2", "--signing-key", at("sign.pem"),
                 "--recipient", at("deploy.pem.pub"), "--output", at("x")], expect: 2)
        try Data("- a\n".utf8).write(to: URL(fileURLWithPath: at("bad.yaml")))
        let bad = try run(["release", "create", at("model"), "--name", "clf", "--version", "1", "--signing-key", at("sign.pem"),
                           "--recipient", at("deploy.pem.pub"), "--metadata", at("bad.yaml"), "--output", at("x")], expect: 2)
        XCTAssertTrue(bad.stderrText.contains("bad.yaml"), bad.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: at("x")))
        // Output exists and is not empty; token options without a token.
        try FileManager.default.createDirectory(atPath: at("busy"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: at("busy/file")))
        try run(["release", "verify", at("rel"), "--public-key", at("sign.pem.pub"), "--identity", at("deploy.pem"), "--output", at("busy")], expect: 2)
        try run(["release", "verify", at("rel"), "--public-key", at("sign.pem.pub"), "--identity", at("deploy.pem"),
                 "--audience", "x", "--output", at("o")], expect: 2)
        try run(["release", "verify", at("missing"), "--public-key", at("sign.pem.pub"), "--identity", at("deploy.pem"), "--output", at("o")], expect: 2)
    }

    func testPolicyStepRefusesADangerousPickle() throws {
        // Protocol 2 pickle: GLOBAL 'posix system', a string, TUPLE1, REDUCE, STOP.
        var pickle: [UInt8] = [0x80, 0x02] + Array("cposix\nsystem\n".utf8)
        pickle += [0x58, 2, 0, 0, 0] + Array("id".utf8) + [0x85, 0x52, 0x2E]
        try Data(pickle).write(to: URL(fileURLWithPath: at("model/evil.pkl")))
        let created = try create("rel")
        XCTAssertTrue(created.stderrText.contains("warning: scanner: dangerous"), created.stderrText)
        try Data("""
        name: gate
        version: "1"
        rules:
          - id: NO-PICKLE-RCE
            title: No dangerous serialization
            severity: deny
            check: no-unsafe-serialization
            params:
              fail_on: [dangerous]
              require_scan: true
        """.utf8).write(to: URL(fileURLWithPath: at("policy.yaml")))
        let result = try run(["release", "verify", at("rel"), "--public-key", at("sign.pem.pub"), "--identity", at("deploy.pem"),
                              "--policy", at("policy.yaml"), "--output", at("out")], expect: 1)
        XCTAssertTrue(result.stderrText.contains("policy step failed"), result.stderrText)
        XCTAssertTrue(result.stderrText.contains("NO-PICKLE-RCE"), result.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: at("out")))
        // Without the pickle the same policy passes.
        try FileManager.default.removeItem(atPath: at("model/evil.pkl"))
        _ = try create("rel-clean")
        try run(["release", "verify", at("rel-clean"), "--public-key", at("sign.pem.pub"), "--identity", at("deploy.pem"),
                 "--policy", at("policy.yaml"), "--output", at("out")], expect: 0)
    }

    /// Issue #13 class 1, end to end: `release create model/` (trailing
    /// slash) records the finding, and the gate with the baseline-style policy
    /// refuses the release.
    func testModelPathSpellingClass_trailingSlashReleaseIsRefusedAtTheGate() throws {
        var pickle: [UInt8] = [0x80, 0x02] + Array("cposix\nsystem\n".utf8)
        pickle += [0x58, 2, 0, 0, 0] + Array("id".utf8) + [0x85, 0x52, 0x2E]
        try Data(pickle).write(to: URL(fileURLWithPath: at("model/evil.pkl")))
        try run(["release", "create", at("model") + "/", "--name", "clf", "--version", "1.2.0", "--signing-key", at("sign.pem"),
                 "--recipient", at("deploy.pem.pub"), "--output", at("rel")], expect: 0)
        let manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: at("rel/release.json")))) as? [String: Any])
        let scan = try XCTUnwrap(manifest["scan"] as? [String: Any])
        let findings = try XCTUnwrap(scan["findings"] as? [[String: Any]])
        XCTAssertTrue(findings.contains { $0["path"] as? String == "evil.pkl" && $0["severity"] as? String == "dangerous" }, "\(findings)")
        try FileManager.default.createDirectory(atPath: at("trusted"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: at("sign.pem.pub"), toPath: at("trusted/sign.pem.pub"))
        let refused = try run(["release", "verify", at("rel"), "--trusted-keys", at("trusted"), "--identity", at("deploy.pem"),
                               "--policy", TestSupport.repositoryRoot.appendingPathComponent("policies/baseline.yaml").path,
                               "--output", at("out")], environment: ["MODELSEC_TRUSTED_KEYS": at("trusted")], expect: 1)
        XCTAssertTrue(refused.stderrText.contains("policy step failed"), refused.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: at("out")))
    }

    func testRequireTokenRefusesADeployWithoutAToken() throws {
        _ = try create("rel")
        let refused = try run(["release", "verify", at("rel"), "--public-key", at("sign.pem.pub"), "--identity", at("deploy.pem"),
                               "--require-token", "--output", at("out")], expect: 2)
        XCTAssertTrue(refused.stderrText.contains("token is required"), refused.stderrText)
        try run(["release", "verify", at("rel"), "--public-key", at("sign.pem.pub"), "--identity", at("deploy.pem"),
                 "--output", at("out")], environment: ["MODELSEC_REQUIRE_TOKEN": "1"], expect: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: at("out")))
    }
}
