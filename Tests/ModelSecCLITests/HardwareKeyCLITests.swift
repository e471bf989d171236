import Foundation
import TestSupport
import XCTest

/// Keys in a PKCS#11 token (SoftHSM2) used from the command line everywhere a
/// signing key is taken: `keygen --out pkcs11:…`, `key inspect pkcs11:…`,
/// `sign`, `release create` and `token issue`, each checked by an
/// independent verifier (modelsec's file-key verification, `model_signing`,
/// the deploy gate, PyJWT). A missing SoftHSM2 fails these tests.
final class HardwareKeyCLITests: XCTestCase {
    private var token: SoftHSMToken!
    private var dir: URL!

    override func setUpWithError() throws {
        token = try SoftHSMToken.make()
        dir = try TestSupport.makeTemporaryDirectory("modelsec-hsm-cli")
    }

    override func tearDown() {
        token?.remove()
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private func run(_ arguments: [String], expect status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(arguments, environment: token.environment, currentDirectory: dir)
        XCTAssertEqual(r.status, status, "modelsec \(arguments.joined(separator: " ")): \(r.stdoutText) \(r.stderrText)", file: file, line: line)
        return r
    }

    private func json(_ r: TestSupport.ProcessResult) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText)
    }

    /// keygen makes the key inside the token and writes only the public key;
    /// key inspect shows it is not extractable and has the same key id.
    func testKeygenInTheTokenAndInspectShowTheSameUnextractableKey() throws {
        for type in ["ed25519", "p256", "p384"] {
            let uri = token.uri(object: "release-\(type)")
            let made = try json(try run(["keygen", "--type", type, "--out", uri, "--json"]))
            XCTAssertEqual(made["type"] as? String, type)
            XCTAssertEqual(made["extractable"] as? Bool, false)
            XCTAssertNil(made["privateKeyPath"], "a token key has no private key file")
            let pub = try XCTUnwrap(made["publicKeyPath"] as? String)
            XCTAssertEqual(pub, "release-\(type).pub")
            let pubPath = path(pub)
            XCTAssertTrue(try String(contentsOfFile: pubPath, encoding: .utf8).hasPrefix("-----BEGIN PUBLIC KEY-----"))

            // The key id is the file-key rule: SHA-256 of the public key PEM.
            let fileInspect = try json(try run(["key", "inspect", pubPath, "--json"]))
            XCTAssertEqual(fileInspect["keyId"] as? String, made["keyId"] as? String)

            let inspected = try json(try run(["key", "inspect", uri, "--json"]))
            XCTAssertEqual(inspected["kind"] as? String, "token-private")
            XCTAssertEqual(inspected["type"] as? String, type)
            XCTAssertEqual(inspected["keyId"] as? String, made["keyId"] as? String)
            let tokenInfo = try XCTUnwrap(inspected["token"] as? [String: Any])
            XCTAssertEqual(tokenInfo["extractable"] as? Bool, false)
            XCTAssertEqual(tokenInfo["sensitive"] as? Bool, true)
            XCTAssertEqual(tokenInfo["label"] as? String, "release-\(type)")
            XCTAssertFalse(inspected.description.contains(token.pin), "the PIN leaked into key inspect's output")

            // A second keygen under the same label is refused, and the key is not replaced.
            let again = try run(["keygen", "--type", type, "--out", uri, "--public-key-out", path("other.pub"), "--json"], expect: 2)
            XCTAssertEqual((try json(again)["error"] as? [String: Any])?["code"] as? String, "pkcs11.key-exists")
        }
    }

    /// A signature made in the token verifies with the public key file, by
    /// modelsec and by the OpenSSF reference verifier (P-256 and P-384: its
    /// `key` method does not take Ed25519).
    func testSignWithATokenKeyVerifiesWithTheExportedPublicKey() throws {
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: model.appendingPathComponent("weights.bin"))
        let tool = URL(fileURLWithPath: try TestSupport.python()).deletingLastPathComponent().appendingPathComponent("model_signing").path
        for type in ["ed25519", "p256", "p384"] {
            let uri = token.uri(object: "sign-\(type)")
            _ = try run(["keygen", "--type", type, "--out", uri])
            let sig = path("model-\(type).sig")
            let signed = try json(try run(["sign", model.path, "--key", uri, "--output", sig, "--json"]))
            XCTAssertEqual(signed["algorithm"] as? String, type)
            _ = try run(["verify", model.path, "--signature", sig, "--public-key", path("sign-\(type).pub")])
            if type != "ed25519" {
                let theirs = try TestSupport.run(tool, ["verify", "key", model.path, "--signature", sig, "--public_key", path("sign-\(type).pub")])
                XCTAssertEqual(theirs.status, 0, "model_signing rejects a \(type) token signature: \(theirs.stdoutText) \(theirs.stderrText)")
            }
            // Another key does not verify it.
            _ = try run(["keygen", "--type", type, "--out", path("other-\(type).pem")])
            _ = try run(["verify", model.path, "--signature", sig, "--public-key", path("other-\(type).pem.pub")], expect: 1)
        }
    }

    /// The OpenSSF tool signs with a key in the same token (`model_signing
    /// sign pkcs11-key`), and modelsec verifies it with the public key its
    /// keygen exported.
    func testModelSigningSignsWithTheTokenKeyAndModelsecVerifies() throws {
        let model = dir.appendingPathComponent("m")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: model.appendingPathComponent("w.bin"))
        for type in ["p256", "p384"] {
            _ = try run(["keygen", "--type", type, "--out", token.uri(object: "theirs-\(type)")])
            // model_signing takes the PIN in the URI (modelsec refuses that; the peer is only a test tool here).
            let theirURI = "pkcs11:token=\(token.label);object=theirs-\(type)?module-path=\(SoftHSMToken.modulePath)&pin-value=\(token.pin)"
            let tool = URL(fileURLWithPath: try TestSupport.python()).deletingLastPathComponent().appendingPathComponent("model_signing").path
            let sig = path("theirs-\(type).sig")
            let signed = try TestSupport.run(tool, ["sign", "pkcs11-key", model.path, "--pkcs11_uri", theirURI, "--signature", sig],
                                             environment: token.environment)
            XCTAssertEqual(signed.status, 0, "model_signing sign pkcs11-key: \(signed.stdoutText) \(signed.stderrText)")
            _ = try run(["verify", model.path, "--signature", sig, "--public-key", path("theirs-\(type).pub")])
            _ = try run(["keygen", "--type", type, "--out", path("not-theirs-\(type).pem")])
            _ = try run(["verify", model.path, "--signature", sig, "--public-key", path("not-theirs-\(type).pem.pub")], expect: 1)
        }
    }

    /// A release signed in the token passes the deploy gate with the exported
    /// public key; a token issued by a token key verifies with PyJWT.
    func testReleaseAndTokenSignedInTheTokenAreAccepted() throws {
        let model = dir.appendingPathComponent("clf")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("safe weights".utf8).write(to: model.appendingPathComponent("weights.bin"))
        let uri = token.uri(object: "release")
        _ = try run(["keygen", "--type", "p256", "--out", uri])
        _ = try run(["keygen", "--type", "x25519", "--out", path("deploy.pem")])
        _ = try run(["release", "create", model.path, "--name", "clf", "--version", "1.0.0", "--signing-key", uri,
                     "--recipient", path("deploy.pem.pub"), "--output", path("rel")])
        _ = try run(["release", "verify", path("rel"), "--public-key", path("release.pub"), "--identity", path("deploy.pem"),
                     "--output", path("deployed")])

        let issuerURI = token.uri(object: "issuer")
        _ = try run(["keygen", "--type", "ed25519", "--out", issuerURI])
        let issued = try run(["token", "issue", "--key", issuerURI, "--issuer", "https://reg.example", "--audience", "deploy",
                              "--subject", "ci", "--scope", "model:deploy:clf@1.0.0", "--ttl", "5m"])
        let jwt = issued.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        try jwt.write(toFile: path("token.jwt"), atomically: true, encoding: .utf8)
        let script = """
        import jwt, sys
        key = open(sys.argv[1]).read()
        claims = jwt.decode(open(sys.argv[2]).read().strip(), key, algorithms=["EdDSA"], audience="deploy", issuer="https://reg.example")
        print(claims["scope"])
        """
        let pyjwt = try TestSupport.run(try TestSupport.python(), ["-c", script, path("issuer.pub"), path("token.jwt")])
        XCTAssertEqual(pyjwt.status, 0, pyjwt.stderrText)
        XCTAssertEqual(pyjwt.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "model:deploy:clf@1.0.0")
    }

    /// The PIN never comes from the URI: pin-value is refused without being
    /// repeated, and a wrong PIN is a clear login failure.
    func testPINInTheURIIsRefusedAndNeverEchoed() throws {
        let secret = "s3cr3t-pin-9931"
        let uri = "pkcs11:token=\(token.label);object=x?module-path=\(SoftHSMToken.modulePath)&pin-value=\(secret)"
        for arguments in [["sign", dir.path, "--key", uri, "--output", path("x.sig"), "--json"],
                          ["keygen", "--type", "ed25519", "--out", uri, "--json"],
                          ["key", "inspect", uri, "--json"]] {
            let r = try run(arguments, expect: 2)
            XCTAssertEqual((try json(r)["error"] as? [String: Any])?["code"] as? String, "pkcs11.pin-in-uri", r.stdoutText)
            XCTAssertFalse(r.stdoutText.contains(secret) || r.stderrText.contains(secret), "the PIN was repeated: \(r.stdoutText) \(r.stderrText)")
        }
        let wrongPIN = path("wrong-pin.txt")
        try "000000\n".write(toFile: wrongPIN, atomically: true, encoding: .utf8)
        chmod(wrongPIN, 0o600)
        let wrong = "pkcs11:token=\(token.label);object=x?module-path=\(SoftHSMToken.modulePath)&pin-source=file:\(wrongPIN)"
        let r = try run(["keygen", "--type", "ed25519", "--out", wrong, "--json"], expect: 2)
        XCTAssertEqual((try json(r)["error"] as? [String: Any])?["code"] as? String, "pkcs11.login-failed", r.stdoutText)
    }
}
