import Foundation
import TestSupport
import XCTest

/// Trust by PKI in a policy: `release create --certificate` puts the signing
/// certificate and its chain in release.sig, and a `signed-by-trusted-key`
/// rule with `ca_roots` (and `certificate_identity`, `crls`) passes a release
/// whose certificate chains to those roots for that identity, with no key
/// file in the policy. Every way it should not pass fails the rule: another
/// identity, another root, a revoked certificate, a release signed by a bare
/// key. The PKI is made by Python `cryptography` (Tests/Fixtures/make_pki.py).
final class CertificatePolicyTests: XCTestCase {
    private var pki: URL!
    private var dir: URL!
    private let identity = "https://ci.example.com/pipelines/release"

    override func setUpWithError() throws {
        pki = try TestSupport.makePKI()
        dir = try TestSupport.makeTemporaryDirectory("modelsec-cert-policy")
        for file in try FileManager.default.contentsOfDirectory(atPath: pki.path) where file.hasSuffix(".key") {
            chmod(pki.appendingPathComponent(file).path, 0o600)
        }
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("safe weights".utf8).write(to: model.appendingPathComponent("weights.bin"))
        try run(["keygen", "--type", "x25519", "--out", path("deploy.pem")], expect: 0)
        // The policy folder holds its roots and CRL beside it (relative references).
        let policies = dir.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        for file in ["root.pem", "other-root.pem", "crl.pem"] {
            try FileManager.default.copyItem(at: pki.appendingPathComponent(file), to: policies.appendingPathComponent(file))
        }
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
        try? FileManager.default.removeItem(at: pki)
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    private func pkiPath(_ name: String) -> String { pki.appendingPathComponent(name).path }

    @discardableResult
    private func run(_ arguments: [String], expect status: Int32, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(arguments)
        XCTAssertEqual(r.status, status, "modelsec \(arguments.joined(separator: " ")): \(r.stdoutText) \(r.stderrText)", file: file, line: line)
        return r
    }

    /// A release of the model signed with leaf `tag`, by the certificate method unless `certificate` is false.
    private func release(_ tag: String, certificate: Bool = true) throws -> String {
        let out = path("release-\(tag)-\(certificate)")
        var arguments = ["release", "create", path("model"), "--name", "clf", "--version", "1.0.0",
                         "--signing-key", pkiPath("leaf-\(tag).key"), "--recipient", path("deploy.pem.pub"), "--output", out]
        if certificate { arguments += ["--certificate", pkiPath("leaf-\(tag).pem"), "--certificate-chain", pkiPath("chain.pem")] }
        try run(arguments, expect: 0)
        return out
    }

    /// Writes a policy whose one rule has `params` (YAML lines), returns its path.
    private func policy(_ name: String, _ params: String) throws -> String {
        let file = path("policies/\(name).yaml")
        try """
        name: \(name)
        version: "1"
        rules:
          - id: SIG
            title: Signed under the release CA
            severity: deny
            check: signed-by-trusted-key
            params:
        \(params.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
        """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The audit's one rule result: (exit status, passed, its message and the output).
    private func audit(_ release: String, _ policy: String) throws -> (status: Int32, passed: Bool?, message: String) {
        let r = try TestSupport.modelsec(["audit", release, "--policy", policy, "--json"])
        let report = try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        let result = (report?["results"] as? [[String: Any]])?.first
        let passed = (result?["status"] as? String).map { $0 == "passed" }
        return (r.status, passed, (result?["message"] as? String ?? "") + "\n" + r.stdoutText + r.stderrText)
    }

    func testACertificateUnderThePolicysRootsForItsIdentityPasses() throws {
        let good = try release("good")
        let pinned = try policy("pinned", """
        ca_roots: [root.pem]
        certificate_identity: "\(identity)"
        crls: [crl.pem]
        """)
        try run(["policy", "lint", pinned], expect: 0)
        let result = try audit(good, pinned)
        XCTAssertEqual(result.status, 0, result.message)
        XCTAssertEqual(result.passed, true, result.message)
        XCTAssertTrue(result.message.contains("release signer good"), "the report names the certificate: \(result.message)")
        XCTAssertTrue(result.message.contains(identity), result.message)

        // The deploy gate still verifies a certificate-signed release by the key it trusts.
        let gate = try run(["release", "verify", good, "--trusted-keys", try trustDirectory(for: "good"),
                            "--identity", path("deploy.pem"), "--output", path("deployed"), "--json"], expect: 0)
        XCTAssertFalse(gate.stdoutText.isEmpty)
    }

    func testEveryOtherSignerFailsTheRule() throws {
        let pinned = try policy("pinned", """
        ca_roots: [root.pem]
        certificate_identity: "\(identity)"
        crls: [crl.pem]
        """)
        let cases: [(release: String, why: String)] = [
            (try release("wrong-san"), "no e-mail or uri name"), // another identity, same CA
            (try release("other-root"), "root"),                // a certificate from another CA
            (try release("revoked"), "revoked"),                // revoked by the CRL the policy names
            (try release("good", certificate: false), "certificate chain"),  // the right key, but no certificate
        ]
        for (dir, why) in cases {
            let result = try audit(dir, pinned)
            XCTAssertEqual(result.status, 1, "\(dir): \(result.message)")
            XCTAssertEqual(result.passed, false, "\(dir): \(result.message)")
            XCTAssertTrue(result.message.lowercased().contains(why), "\(dir) should fail for \(why): \(result.message)")
        }
        // The same roots for another identity refuse the good release.
        let otherIdentity = try policy("other-identity", """
        ca_roots: [root.pem]
        certificate_identity: "https://ci.example.com/pipelines/nightly"
        """)
        XCTAssertEqual(try audit(try release("good"), otherIdentity).status, 1)
        // Only the other CA's root: the good release's chain does not lead there.
        let otherRoot = try policy("other-root", """
        ca_roots: [other-root.pem]
        certificate_identity: "\(identity)"
        """)
        XCTAssertEqual(try audit(path("release-good-true"), otherRoot).status, 1)
    }

    /// A `crls` (or `ca_roots`) entry naming an unset variable fails the
    /// certificate path instead of silently checking no revocation.
    func testAnUnsetRevocationListVariableFailsClosed() throws {
        let revoked = try release("revoked")
        let policy = try policy("env-crl", """
        ca_roots: [root.pem]
        certificate_identity: "\(identity)"
        crls: ["${MODELSEC_TEST_UNSET_CRL_VARIABLE}"]
        """)
        let result = try audit(revoked, policy)
        XCTAssertEqual(result.status, 1, result.message)
        XCTAssertEqual(result.passed, false, result.message)
        XCTAssertTrue(result.message.contains("MODELSEC_TEST_UNSET_CRL_VARIABLE"), result.message)
        // Set, the list is read and the revoked certificate is refused for that reason.
        let set = try TestSupport.modelsec(["audit", revoked, "--policy", policy, "--json"],
                                           environment: ["MODELSEC_TEST_UNSET_CRL_VARIABLE": path("policies/crl.pem")])
        XCTAssertEqual(set.status, 1, set.stderrText)
        XCTAssertTrue(set.stdoutText.contains("revoked"), set.stdoutText)
    }

    /// Keys given to the audit replace the policy's keys, not its CA roots, and the report says so.
    func testAuditKeysDoNotHideThePolicysRoots() throws {
        let good = try release("good")
        let pinned = try policy("pinned", """
        ca_roots: [root.pem]
        certificate_identity: "\(identity)"
        """)
        try run(["keygen", "--out", path("unrelated.pem")], expect: 0)
        let r = try TestSupport.modelsec(["audit", good, "--policy", pinned, "--public-key", path("unrelated.pem.pub"), "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        let trust = try XCTUnwrap(report["signatureTrust"] as? [String: Any])
        XCTAssertEqual(trust["source"] as? String, "audit")
        XCTAssertTrue((trust["detail"] as? String ?? "").contains("CA roots the rules name (1 root(s)), which audit keys do not replace"), "\(trust)")
    }

    func testKeysAndRootsInOneRuleEitherPasses() throws {
        let keyOnly = try release("good", certificate: false)
        try run(["key", "inspect", pkiPath("leaf-good.key")], expect: 0)
        let pub = try trustDirectory(for: "good")
        let both = try policy("both", """
        keys: ["\(pub)"]
        ca_roots: [root.pem]
        certificate_identity: "\(identity)"
        """)
        let result = try audit(keyOnly, both)
        XCTAssertEqual(result.status, 0, result.message)
        XCTAssertTrue(result.message.contains("trusted key"), result.message)
    }

    func testLintReportsBadCertificateParameters() throws {
        let missing = try policy("missing", """
        ca_roots: [no-such-roots.pem]
        certificate_identity: "\(identity)"
        """)
        let r = try run(["policy", "lint", missing], expect: 1)
        XCTAssertTrue(r.stdoutText.contains("no-such-roots.pem") || r.stderrText.contains("no-such-roots.pem"), r.stderrText)
        XCTAssertTrue((r.stdoutText + r.stderrText).contains(path("policies/no-such-roots.pem")), "names the path it tried: \(r.stderrText)")

        let identityAlone = try policy("identity-alone", """
        keys: ["\(pkiPath("root.pem"))"]
        certificate_identity: "\(identity)"
        """)
        let alone = try TestSupport.modelsec(["policy", "lint", identityAlone])
        XCTAssertEqual(alone.status, 1, alone.stderrText)
        XCTAssertTrue((alone.stdoutText + alone.stderrText).contains("needs 'ca_roots'"), alone.stderrText)

        let noIdentity = try policy("no-identity", "ca_roots: [root.pem]")
        let any = try TestSupport.modelsec(["policy", "lint", noIdentity])
        XCTAssertEqual(any.status, 0, any.stderrText)
        XCTAssertTrue((any.stdoutText + any.stderrText).contains("trusts every certificate"), "a note: \(any.stderrText)")
    }

    func testReleaseCreateRefusesACertificateForAnotherKeyBeforeReadingTheModel() throws {
        let out = path("mismatch")
        let r = try TestSupport.modelsec(["release", "create", path("model"), "--name", "clf", "--version", "1.0.0",
                                          "--signing-key", pkiPath("leaf-good.key"), "--certificate", pkiPath("leaf-p384.pem"),
                                          "--recipient", path("deploy.pem.pub"), "--output", out, "--json"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stdoutText.contains("certificate.key-mismatch"), r.stdoutText + r.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no release directory is left")
        let chainOnly = try TestSupport.modelsec(["release", "create", path("model"), "--name", "clf", "--version", "1.0.0",
                                                  "--signing-key", pkiPath("leaf-good.key"), "--certificate-chain", pkiPath("chain.pem"),
                                                  "--recipient", path("deploy.pem.pub"), "--output", out])
        XCTAssertEqual(chainOnly.status, 2, chainOnly.stderrText)
    }

    /// A trust directory holding leaf `tag`'s public key (from its certificate, with openssl).
    private func trustDirectory(for tag: String) throws -> String {
        let trust = path("trust-\(tag)")
        try FileManager.default.createDirectory(atPath: trust, withIntermediateDirectories: true)
        let r = try TestSupport.run("openssl", ["x509", "-in", pkiPath("leaf-\(tag).pem"), "-pubkey", "-noout", "-out", trust + "/\(tag).pub"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        return trust
    }
}
