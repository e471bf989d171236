import Foundation
import ModelSecCrypto
import ModelSigning
import TestSupport
import XCTest

/// `--certificate-identity` names a signer, not a host: it matches an e-mail
/// (rfc822Name) or URI subject alternative name byte for byte, never a DNS
/// name, and the signing certificate must carry key usage digitalSignature
/// and extended key usage codeSigning (as sigstore-python requires). A TLS
/// server certificate the same private CA issued for a host spelled like the
/// identity is refused, by the library, by `verify` and by the deploy gate.
/// The certificates are made with the openssl CLI, independent of modelsec;
/// `model_signing` 1.1.1 signs with and verifies the accepted ones.
final class CertificateIdentityTests: XCTestCase {
    private var dir: URL!
    private let host = "build.corp.example"
    private let email = "release-signer@corp.example"
    private let uri = "https://ci.corp.example/pipelines/release"

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory("modelsec-cert-identity")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("model/weights"), withIntermediateDirectories: true)
        try Data("layer zero".utf8).write(to: dir.appendingPathComponent("model/weights/layer0.bin"))
        try Data("{}".utf8).write(to: dir.appendingPathComponent("model/config.json"))
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("root.key"),
                     "-out", path("root.pem"), "-days", "30", "-subj", "/CN=identity test root",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        // (tag, extensions): every leaf chains to root.pem and is valid now.
        let signer = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=codeSigning"]
        let leaves: [(String, [String])] = [
            ("tls-host", ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
                          "extendedKeyUsage=serverAuth", "subjectAltName=DNS:\(host)"]),
            ("dns-codesigning", signer + ["subjectAltName=DNS:\(host)"]),
            ("server-auth-uri", ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth",
                                 "subjectAltName=URI:\(uri)"]),
            ("no-eku", ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature", "subjectAltName=URI:\(uri)"]),
            ("no-ku", ["basicConstraints=CA:FALSE", "extendedKeyUsage=codeSigning", "subjectAltName=URI:\(uri)"]),
            ("email", signer + ["subjectAltName=email:\(email)"]),
            ("uri", signer + ["subjectAltName=URI:\(uri)"]),
            ("mixed", signer + ["subjectAltName=DNS:\(host),URI:\(uri)"]),
        ]
        for (tag, extensions) in leaves {
            try Data((extensions.joined(separator: "\n") + "\n").utf8).write(to: dir.appendingPathComponent("\(tag).ext"))
            try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(tag).key"),
                         "-out", path("\(tag).csr"), "-subj", "/CN=\(tag) leaf"])
            try openssl(["x509", "-req", "-in", path("\(tag).csr"), "-CA", path("root.pem"), "-CAkey", path("root.key"),
                         "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-days", "30", "-extfile", path("\(tag).ext"),
                         "-out", path("\(tag).pem")])
            chmod(path("\(tag).key"), 0o600)
        }
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private func openssl(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try TestSupport.run("/usr/bin/env", ["openssl"] + arguments)
        XCTAssertEqual(r.status, 0, "openssl \(arguments.joined(separator: " ")): \(r.stderrText)", file: file, line: line)
    }

    @discardableResult
    private func modelsec(_ arguments: [String], expect status: Int32, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(arguments)
        XCTAssertEqual(r.status, status, "modelsec \(arguments.joined(separator: " ")): \(r.stdoutText) \(r.stderrText)", file: file, line: line)
        return r
    }

    private func errorCode(_ r: TestSupport.ProcessResult) -> String? {
        ((try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
    }

    /// `model` signed by modelsec with leaf `tag` (the certificate method).
    private func sign(_ tag: String) throws -> String {
        let sig = path("\(tag)-\(UUID().uuidString).sig")
        try modelsec(["sign", path("model"), "--key", path("\(tag).key"), "--certificate", path("\(tag).pem"), "--output", sig], expect: 0)
        return sig
    }

    private func referenceTool() throws -> String {
        URL(fileURLWithPath: try TestSupport.python()).deletingLastPathComponent().appendingPathComponent("model_signing").path
    }

    /// Library: ``CertificateTrust`` refuses each leaf with a typed error
    /// naming the signature file, the certificate and what it lacks.
    func testTheLibraryMatchesOnlyEmailAndURINamesOfSigningCertificates() throws {
        let roots = try X509Certificate.chain(pem: String(contentsOfFile: path("root.pem"), encoding: .utf8))
        func trust(_ identity: String?) -> CertificateTrust { CertificateTrust(roots: roots, identity: identity) }
        func bundle(_ tag: String) throws -> SignatureBundle {
            try SignatureBundle(jsonData: Data(contentsOf: URL(fileURLWithPath: try sign(tag))), label: "\(tag).sig")
        }
        // A DNS name equal to the identity is a host, not a signer, even with codeSigning.
        for tag in ["dns-codesigning", "mixed"] {
            XCTAssertThrowsError(try trust(host).signer(of: try bundle(tag), label: "\(tag).sig")) { error in
                guard case let CertificateError.identityMismatch(expected, subject, found, path) = error else { return XCTFail("\(tag): \(error)") }
                XCTAssertEqual(expected, host)
                XCTAssertEqual(path, "\(tag).sig")
                XCTAssertTrue(subject.contains("\(tag) leaf"), subject)
                XCTAssertTrue(found.contains("DNS:\(host)"), "\(found)")
                XCTAssertEqual((error as? CertificateError)?.code, "certificate.identity-mismatch")
                XCTAssertTrue("\(error)".hasPrefix("\(tag).sig: "), "\(error)")
            }
        }
        // The TLS server certificate: refused before its names are looked at.
        XCTAssertThrowsError(try trust(host).signer(of: try bundle("tls-host"), label: "tls-host.sig")) { error in
            XCTAssertEqual(error as? CertificateError, .path(.extendedKeyUsage, path: "tls-host.sig"))
        }
        XCTAssertThrowsError(try trust(uri).signer(of: try bundle("server-auth-uri"), label: "s.sig")) { error in
            XCTAssertEqual(error as? CertificateError, .path(.extendedKeyUsage, path: "s.sig"))
        }
        // No extended key usage, or no key usage, at all: refused, saying which.
        for (tag, missing) in [("no-eku", MissingUsage.extendedKeyUsage), ("no-ku", .keyUsage)] {
            for identity in [uri, nil] {
                XCTAssertThrowsError(try trust(identity).signer(of: try bundle(tag), label: "\(tag).sig")) { error in
                    guard case let CertificateError.notForSigning(what, subject, path) = error else { return XCTFail("\(tag): \(error)") }
                    XCTAssertEqual(what, missing)
                    XCTAssertTrue(subject.contains("\(tag) leaf"), subject)
                    XCTAssertEqual(path, "\(tag).sig")
                }
            }
        }
        // E-mail and URI names match exactly; the mixed leaf by its URI.
        XCTAssertTrue(try trust(email).signer(of: try bundle("email"), label: "e").subjectAlternativeNames == ["email:\(email)"])
        XCTAssertNoThrow(try trust(uri).signer(of: try bundle("uri"), label: "u"))
        XCTAssertNoThrow(try trust(uri).signer(of: try bundle("mixed"), label: "m"))
        XCTAssertThrowsError(try trust(email.uppercased()).signer(of: try bundle("email"), label: "e"))
        XCTAssertThrowsError(try trust(uri + "/").signer(of: try bundle("uri"), label: "u"))
    }

    /// `verify --ca-roots --certificate-identity`: the same refusals with
    /// their codes and exit 1, the message naming the signature file and
    /// what the certificate lacks.
    func testVerifyRefusesHostCertificatesAndCertificatesWithoutSigningUsage() throws {
        let cases: [(String, String, String, String)] = [
            // (leaf, identity, code, words the message must hold)
            ("dns-codesigning", host, "certificate.identity-mismatch", "a DNS name is a host, not a signer"),
            ("mixed", host, "certificate.identity-mismatch", "holds no e-mail or URI name \(host)"),
            ("tls-host", host, "certificate.extended-key-usage", "codeSigning"),
            ("server-auth-uri", uri, "certificate.extended-key-usage", "codeSigning"),
            ("no-eku", uri, "certificate.extended-key-usage", "has no extended key usage extension"),
            ("no-ku", uri, "certificate.key-usage", "has no key usage extension"),
        ]
        for (tag, identity, code, words) in cases {
            let sig = try sign(tag)
            let json = try modelsec(["verify", path("model"), "--signature", sig, "--ca-roots", path("root.pem"),
                                     "--certificate-identity", identity, "--json"], expect: 1)
            XCTAssertEqual(errorCode(json), code, "\(tag): \(json.stdoutText)")
            let text = try modelsec(["verify", path("model"), "--signature", sig, "--ca-roots", path("root.pem"),
                                     "--certificate-identity", identity], expect: 1)
            XCTAssertTrue(text.stderrText.contains(sig) && text.stderrText.contains(words), "\(tag): \(text.stderrText)")
        }
        try modelsec(["verify", path("model"), "--signature", try sign("email"), "--ca-roots", path("root.pem"),
                      "--certificate-identity", email], expect: 0)
        try modelsec(["verify", path("model"), "--signature", try sign("uri"), "--ca-roots", path("root.pem"),
                      "--certificate-identity", uri], expect: 0)
        try modelsec(["verify", path("model"), "--signature", try sign("mixed"), "--ca-roots", path("root.pem"),
                      "--certificate-identity", uri], expect: 0)
    }

    /// An issuing CA whose extended key usage is serverAuth only may not
    /// vouch for a code-signing leaf (Go's x509, and with it sigstore-go,
    /// checks every certificate of the chain); a CA without an extended key
    /// usage, or one listing codeSigning, may. The chain is given with the
    /// leaf (`--certificate leaf+CA`), the root is trusted.
    func testAnIssuerLimitedToOtherPurposesCannotIssueASigner() throws {
        let leafExtensions = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectAltName=email:\(email)\n"
        try Data(leafExtensions.utf8).write(to: dir.appendingPathComponent("via-ca-leaf.ext"))
        for (ca, eku) in [("tls-only-ca", "serverAuth"), ("signing-ca", "codeSigning"), ("plain-ca", nil)] as [(String, String?)] {
            var caExtensions = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
            if let eku { caExtensions += "extendedKeyUsage=\(eku)\n" }
            try Data(caExtensions.utf8).write(to: dir.appendingPathComponent("\(ca).ext"))
            try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(ca).key"),
                         "-out", path("\(ca).csr"), "-subj", "/CN=\(ca)"])
            try openssl(["x509", "-req", "-in", path("\(ca).csr"), "-CA", path("root.pem"), "-CAkey", path("root.key"),
                         "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-days", "30", "-extfile", path("\(ca).ext"),
                         "-out", path("\(ca).pem")])
            try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(ca)-leaf.key"),
                         "-out", path("\(ca)-leaf.csr"), "-subj", "/CN=signer under \(ca)"])
            try openssl(["x509", "-req", "-in", path("\(ca)-leaf.csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"),
                         "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-days", "30", "-extfile", path("via-ca-leaf.ext"),
                         "-out", path("\(ca)-leaf-only.pem")])
            chmod(path("\(ca)-leaf.key"), 0o600)
            let chain = try String(contentsOfFile: path("\(ca)-leaf-only.pem"), encoding: .utf8) + String(contentsOfFile: path("\(ca).pem"), encoding: .utf8)
            try Data(chain.utf8).write(to: dir.appendingPathComponent("\(ca)-leaf.pem"))
            let sig = try sign("\(ca)-leaf")
            let arguments = ["verify", path("model"), "--signature", sig, "--ca-roots", path("root.pem"), "--certificate-identity", email]
            if ca == "tls-only-ca" {
                let json = try modelsec(arguments + ["--json"], expect: 1)
                XCTAssertEqual(errorCode(json), "certificate.extended-key-usage", json.stdoutText)
                let text = try modelsec(arguments, expect: 1)
                XCTAssertTrue(text.stderrText.contains("depth 1"), text.stderrText)
            } else {
                try modelsec(arguments, expect: 0)
            }
        }
    }

    /// The deploy gate makes the same check; a release signed with a
    /// certificate `model_signing` accepts is deployed, and `model_signing`
    /// verifies the deployed directory with the same roots. `model_signing`
    /// also signs the model with those certificates and modelsec accepts
    /// the signature.
    func testTheGateAndModelSigningAgreeOnSigningCertificates() throws {
        let tool = try referenceTool()
        try modelsec(["keygen", "--type", "x25519", "--out", path("deploy.pem")], expect: 0)
        func release(_ tag: String) throws -> String {
            try modelsec(["release", "create", path("model"), "--name", "clf", "--version", "1.0.0", "--signing-key", path("\(tag).key"),
                          "--certificate", path("\(tag).pem"), "--recipient", path("deploy.pem.pub"), "--output", path("rel-\(tag)")], expect: 0)
            return path("rel-\(tag)")
        }
        for (tag, identity) in [("email", email), ("uri", uri)] {
            let deployed = path("dep-\(tag)")
            try modelsec(["release", "verify", try release(tag), "--ca-roots", path("root.pem"), "--certificate-identity", identity,
                          "--identity", path("deploy.pem"), "--output", deployed], expect: 0)
            let theirs = try TestSupport.run(tool, ["verify", "certificate", deployed, "--signature", deployed + "/.modelsec/release.sig",
                                                    "--certificate_chain", path("root.pem")])
            XCTAssertEqual(theirs.status, 0, "model_signing refuses the \(tag) release: \(theirs.stdoutText) \(theirs.stderrText)")

            let theirSig = path("theirs-\(tag).sig")
            let signed = try TestSupport.run(tool, ["sign", "certificate", path("model"), "--private_key", path("\(tag).key"),
                                                    "--signing_certificate", path("\(tag).pem"), "--certificate_chain", path("root.pem"),
                                                    "--signature", theirSig])
            XCTAssertEqual(signed.status, 0, signed.stderrText)
            try modelsec(["verify", path("model"), "--signature", theirSig, "--ca-roots", path("root.pem"),
                          "--certificate-identity", identity], expect: 0)
        }
        // The host certificate is refused by the gate, nothing written.
        let out = path("dep-host")
        let r = try modelsec(["release", "verify", try release("dns-codesigning"), "--ca-roots", path("root.pem"),
                              "--certificate-identity", host, "--identity", path("deploy.pem"), "--output", out, "--json"], expect: 1)
        XCTAssertEqual(errorCode(r), "certificate.identity-mismatch", r.stdoutText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // Where modelsec is stricter: model_signing (digitalSignature OR
        // codeSigning) accepts a leaf without extended key usage; modelsec
        // refuses it, as sigstore-python does.
        let noEKU = try sign("no-eku")
        let lax = try TestSupport.run(tool, ["verify", "certificate", path("model"), "--signature", noEKU,
                                             "--certificate_chain", path("root.pem")])
        XCTAssertEqual(lax.status, 0, "model_signing was expected to accept a leaf without EKU: \(lax.stderrText)")
        try modelsec(["verify", path("model"), "--signature", noEKU, "--ca-roots", path("root.pem"),
                      "--certificate-identity", uri], expect: 1)
    }
}
