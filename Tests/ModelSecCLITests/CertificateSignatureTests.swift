import Foundation
import TestSupport
import XCTest

/// The OMS `certificate` method: `sign --certificate` and `verify --ca-roots`,
/// both ways with the OpenSSF `model_signing` 1.1.1 CLI, and every refusal
/// (expired, not yet valid, wrong key usage, wrong extended key usage, wrong
/// identity, revoked, another root, a certificate for another key) with the
/// code that says which. The PKI is made by Python `cryptography`
/// (Tests/Fixtures/make_pki.py), independent of modelsec's OpenSSL calls.
final class CertificateSignatureTests: XCTestCase {
    private var pki: URL!
    private var dir: URL!
    private var model: URL!
    private let identity = "https://ci.example.com/pipelines/release"

    override func setUpWithError() throws {
        pki = try TestSupport.makePKI()
        dir = try TestSupport.makeTemporaryDirectory("modelsec-cert-sign")
        model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model.appendingPathComponent("weights"), withIntermediateDirectories: true)
        try Data("layer zero".utf8).write(to: model.appendingPathComponent("weights/layer0.bin"))
        try Data("{}".utf8).write(to: model.appendingPathComponent("config.json"))
        // The fixture writes keys 0644; modelsec would (rightly) warn.
        for file in try FileManager.default.contentsOfDirectory(atPath: pki.path) where file.hasSuffix(".key") {
            chmod(pki.appendingPathComponent(file).path, 0o600)
        }
    }

    private func pkiPath(_ name: String) -> String { pki.appendingPathComponent(name).path }
    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private func referenceTool() throws -> String {
        URL(fileURLWithPath: try TestSupport.python()).deletingLastPathComponent().appendingPathComponent("model_signing").path
    }

    @discardableResult
    private func run(_ arguments: [String], expect status: Int32, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(arguments)
        XCTAssertEqual(r.status, status, "modelsec \(arguments.joined(separator: " ")): \(r.stdoutText) \(r.stderrText)", file: file, line: line)
        return r
    }

    private func errorCode(_ r: TestSupport.ProcessResult) -> String? {
        ((try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
    }

    /// Signs `model` with leaf `tag` by the certificate method.
    private func ourSign(_ tag: String) throws -> String {
        let sig = path("\(tag)-\(UUID().uuidString).sig")
        try run(["sign", model.path, "--key", pkiPath("leaf-\(tag).key"), "--certificate", pkiPath("leaf-\(tag).pem"),
                 "--certificate-chain", pkiPath("chain.pem"), "--output", sig], expect: 0)
        return sig
    }

    @discardableResult
    private func ourVerify(_ sig: String, roots: String = "root.pem", extra: [String] = [], expect: Int32) throws -> TestSupport.ProcessResult {
        try run(["verify", model.path, "--signature", sig, "--ca-roots", pkiPath(roots), "--json"] + extra, expect: expect)
    }

    func testCertificateSignaturesVerifyBothWaysWithModelSigning() throws {
        let tool = try referenceTool()
        for tag in ["good", "p384", "p521"] {
            // modelsec signs, both verify.
            let ours = try ourSign(tag)
            let bundle = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ours))) as? [String: Any])
            let chain = ((bundle["verificationMaterial"] as? [String: Any])?["x509CertificateChain"] as? [String: Any])?["certificates"] as? [Any]
            XCTAssertEqual(chain?.count, 2, "signing certificate and intermediate")
            let verified = try ourVerify(ours, extra: ["--certificate-identity", identity], expect: 0)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: verified.stdout) as? [String: Any])
            let certificate = try XCTUnwrap(report["certificate"] as? [String: Any])
            XCTAssertTrue((certificate["subject"] as? String ?? "").contains("release signer \(tag)"), "\(certificate)")
            XCTAssertEqual(certificate["subjectAlternativeNames"] as? [String], ["URI:\(identity)"])
            XCTAssertTrue((certificate["root"] as? String ?? "").contains("modelsec test root"))
            let theirs = try TestSupport.run(tool, ["verify", "certificate", model.path, "--signature", ours, "--certificate_chain", pkiPath("root.pem")])
            XCTAssertEqual(theirs.status, 0, "model_signing rejects our \(tag) certificate signature: \(theirs.stdoutText) \(theirs.stderrText)")

            // model_signing signs, modelsec verifies.
            let theirSig = path("\(tag)-theirs.sig")
            let signed = try TestSupport.run(tool, ["sign", "certificate", model.path, "--private_key", pkiPath("leaf-\(tag).key"),
                                                    "--signing_certificate", pkiPath("leaf-\(tag).pem"),
                                                    "--certificate_chain", pkiPath("chain.pem"), "--signature", theirSig])
            XCTAssertEqual(signed.status, 0, signed.stderrText)
            try ourVerify(theirSig, extra: ["--certificate-identity", identity], expect: 0)

            // Tampering is caught through the certificate's key too.
            try Data("layer zero!".utf8).write(to: model.appendingPathComponent("weights/layer0.bin"))
            try ourVerify(theirSig, expect: 1)
            try Data("layer zero".utf8).write(to: model.appendingPathComponent("weights/layer0.bin"))
        }
    }

    func testEveryUntrustworthyCertificateIsRefusedWithItsReason() throws {
        let cases: [(String, [String], String, String)] = [
            // (leaf, extra verify args, roots, expected code)
            ("expired", [], "root.pem", "certificate.expired"),
            ("future", [], "root.pem", "certificate.not-yet-valid"),
            ("no-digital-signature", [], "root.pem", "certificate.key-usage"),
            ("server-auth-only", [], "root.pem", "certificate.extended-key-usage"),
            ("wrong-san", ["--certificate-identity", identity], "root.pem", "certificate.identity-mismatch"),
            ("revoked", ["--crl", pkiPath("crl.pem")], "root.pem", "certificate.revoked"),
            ("good", [], "other-root.pem", "certificate.untrusted"),
            ("good", ["--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"], "root.pem", "certificate.oidc-issuer-mismatch"),
            ("oidc", ["--certificate-oidc-issuer", "https://gitlab.com"], "root.pem", "certificate.oidc-issuer-mismatch"),
        ]
        for (tag, extra, roots, code) in cases {
            let sig = try ourSign(tag)
            let r = try ourVerify(sig, roots: roots, extra: extra, expect: 1)
            XCTAssertEqual(errorCode(r), code, "\(tag): \(r.stdoutText)")
        }
        // Controls: the same checks pass where they should.
        try ourVerify(try ourSign("revoked"), expect: 0)                                 // no CRL given: not checked
        try ourVerify(try ourSign("good"), extra: ["--crl", pkiPath("crl.pem")], expect: 0) // a CRL that does not list it
        try ourVerify(try ourSign("oidc"), extra: ["--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"], expect: 0)
        // An identity differing only in case or Unicode form is another identity.
        try ourVerify(try ourSign("good"), extra: ["--certificate-identity", identity.uppercased()], expect: 1)
    }

    func testMisusedCertificatesAreUsageErrors() throws {
        // A certificate for another key: refused before the model is hashed.
        let r = try run(["sign", model.path, "--key", pkiPath("leaf-p384.key"), "--certificate", pkiPath("leaf-good.pem"),
                         "--output", path("x.sig"), "--json"], expect: 2)
        XCTAssertEqual(errorCode(r), "certificate.key-mismatch")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.sig")))
        // A key-method signature checked against CA roots.
        try run(["keygen", "--type", "p256", "--out", path("k.pem")], expect: 0)
        try run(["sign", model.path, "--key", path("k.pem"), "--output", path("k.sig")], expect: 0)
        XCTAssertEqual(errorCode(try ourVerify(path("k.sig"), expect: 2)), "certificate.none-in-signature")
        // Not a certificate file as the roots.
        XCTAssertEqual(errorCode(try run(["verify", model.path, "--signature", path("k.sig"), "--ca-roots", path("k.pem.pub"), "--json"], expect: 2)),
                       "certificate.malformed")
        // Two sources of trust, or certificate options without roots.
        try run(["verify", model.path, "--signature", path("k.sig"), "--ca-roots", pkiPath("root.pem"), "--public-key", path("k.pem.pub")], expect: 2)
        try run(["verify", model.path, "--signature", path("k.sig"), "--public-key", path("k.pem.pub"), "--certificate-identity", identity], expect: 2)
    }
}
