import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: third walkthrough: the deploy gate trusts a CA

    /// Item 5: `release verify --ca-roots` deploys a certificate-signed
    /// release whose chain leads to the roots for the required identity,
    /// with the same certificate check `verify --ca-roots` makes, and
    /// refuses another identity, another root and a revoked certificate
    /// before anything is written.
    func testGateTrustsACertificateSignedReleaseByItsCA() throws {
        let pki = try TestSupport.makePKI()
        defer { try? FileManager.default.removeItem(at: pki) }
        func pkiPath(_ name: String) -> String { pki.appendingPathComponent(name).path }
        for file in try FileManager.default.contentsOfDirectory(atPath: pki.path) where file.hasSuffix(".key") { chmod(pkiPath(file), 0o600) }
        let identity = "https://ci.example.com/pipelines/release"
        try makeRelease()   // the model and deploy.pem
        func certified(_ tag: String) throws -> String {
            try run(["release", "create", path("model"), "--name", "clf", "--version", "2.0.0", "--signing-key", pkiPath("leaf-\(tag).key"),
                     "--certificate", pkiPath("leaf-\(tag).pem"), "--certificate-chain", pkiPath("chain.pem"),
                     "--recipient", path("deploy.pem.pub"), "--output", path("crel-\(tag)")])
            return path("crel-\(tag)")
        }
        let good = try certified("good")
        let gate = ["--identity", path("deploy.pem"), "--json"]
        let deployed = try run(["release", "verify", good, "--ca-roots", pkiPath("root.pem"), "--certificate-identity", identity,
                                "--crl", pkiPath("crl.pem"), "--output", path("cdep")] + gate)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: deployed.stdout) as? [String: Any])
        XCTAssertEqual(document["deployed"] as? Bool, true, deployed.stdoutText)
        // The report names the certificate it trusted (walkthrough 4), as verify does.
        let certificate = try XCTUnwrap(document["certificate"] as? [String: Any], deployed.stdoutText)
        XCTAssertEqual(certificate["subjectAlternativeNames"] as? [String], ["URI:" + identity])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("cdep/weights.safetensors")))
        // With a policy: its signature rule trusts the certificate's key, as the gate does.
        let policy = TestSupport.repositoryRoot.appendingPathComponent("policies/baseline.yaml").path
        try run(["release", "verify", good, "--ca-roots", pkiPath("root.pem"), "--certificate-identity", identity, "--policy", policy,
                 "--output", path("cdep-policy")] + gate)

        // Another identity, another root, a revoked certificate: refused, nothing written.
        let refusals: [(String, [String])] = [
            (good, ["--ca-roots", pkiPath("root.pem"), "--certificate-identity", "https://ci.example.com/other"]),
            (good, ["--ca-roots", pkiPath("other-root.pem"), "--certificate-identity", identity]),
            (try certified("revoked"), ["--ca-roots", pkiPath("root.pem"), "--certificate-identity", identity, "--crl", pkiPath("crl.pem")]),
            // Without an identity any certificate of the CA would do: a usage error (walkthrough 4).
            (good, ["--ca-roots", pkiPath("root.pem")]),
        ]
        for (index, (release, options)) in refusals.enumerated() {
            let out = path("refused-\(index)")
            let r = try TestSupport.modelsec(["release", "verify", release] + options + ["--output", out] + gate, currentDirectory: dir)
            XCTAssertNotEqual(r.status, 0, "\(options): \(r.stdoutText)")
            XCTAssertEqual((try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["ok"] as? Bool, false, r.stdoutText)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
        // A bare-key release has no certificate: refused with --ca-roots, as verify refuses it.
        let text = try run(["release", "verify", good, "--ca-roots", pkiPath("root.pem"), "--certificate-identity", identity,
                            "--identity", path("deploy.pem"), "--output", path("cdep-text")])
        XCTAssertTrue(text.stderrText.contains("certificate: ") && text.stderrText.contains(identity), text.stderrText)
        let bare = try run(["release", "verify", path("rel"), "--ca-roots", pkiPath("root.pem"), "--certificate-identity", identity,
                            "--output", path("bare")] + gate, expect: 2)
        XCTAssertEqual(errorCode(bare), "certificate.none-in-signature", bare.stdoutText)
        // The trust options exclude each other, and the certificate options need --ca-roots.
        try run(["release", "verify", good, "--ca-roots", pkiPath("root.pem"), "--trusted-keys", path("trusted"), "--output", path("x")] + gate, expect: 2)
        try run(["release", "verify", good, "--trusted-keys", path("trusted"), "--certificate-identity", identity, "--output", path("x")] + gate, expect: 2)
    }
}
