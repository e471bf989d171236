import Foundation
import TestSupport
import XCTest

/// The service's `signing_key` in the forms every other signing command
/// takes: a passphrase-encrypted PKCS#8 file (`--key-passphrase-file`) and
/// a key in a PKCS#11 token (`pkcs11:` URI). Tokens fetched with `token
/// fetch` verify against the service's `/jwks.json`.
final class ServeSigningKeyTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("serve-signing-key") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    private func run(_ arguments: [String], expect status: Int32 = 0, environment: [String: String] = [:],
                     file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(arguments, environment: environment.isEmpty ? nil : environment, currentDirectory: dir)
        XCTAssertEqual(r.status, status, "modelsec \(arguments.joined(separator: " ")): \(r.stdoutText) \(r.stderrText)", file: file, line: line)
        return r
    }

    /// A service.yaml with `signingKey` and one client_secret_basic client
    /// (added with `serve client add`, its secret in `secret.txt`).
    private func configure(signingKey: String, environment: [String: String] = [:]) throws {
        try """
            listen: "127.0.0.1:0"
            issuer: "http://127.0.0.1:8787"
            signing_key: "\(signingKey)"
            audience: deploy-gateway
            max_ttl: 30m
            state: state.sqlite

            """.write(toFile: path("service.yaml"), atomically: true, encoding: .utf8)
        try run(["serve", "client", "add", "deployer", "--config", "service.yaml", "--scope", "model:deploy:resnet@*",
                 "--secret-out", "secret.txt"], environment: environment)
    }

    /// Fetches a token from `server` and verifies it against the server's key set.
    private func fetchAndVerify(_ server: TokenServerTests.ServerProcess, name: String,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        try run(["token", "fetch", "--server", server.base, "--client-id", "deployer", "--client-secret-file", "secret.txt",
                 "--scope", "model:deploy:resnet@1.0", "--output", name], file: file, line: line)
        let verified = try run(["token", "verify", "--token-file", name, "--issuer", "http://127.0.0.1:8787",
                                "--audience", "deploy-gateway", "--token-jwks-url", server.base + "/jwks.json", "--json"],
                               file: file, line: line)
        XCTAssertTrue(verified.stdoutText.contains("model:deploy:resnet@1.0"), verified.stdoutText, file: file, line: line)
    }

    func testAnEncryptedSigningKeyOpensWithTheKeyPassphraseOptions() throws {
        try "correct horse battery staple\n".write(toFile: path("pass.txt"), atomically: true, encoding: .utf8)
        chmod(path("pass.txt"), 0o600)
        try run(["keygen", "--type", "ed25519", "--out", "issuer.pem", "--key-passphrase-file", "pass.txt"])
        try configure(signingKey: "issuer.pem")

        // Without the passphrase the server does not start, and says why.
        let refused = try run(["serve", "--config", "service.yaml"], expect: 2)
        XCTAssertTrue(refused.stderrText.contains("issuer.pem"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("passphrase"), refused.stderrText)

        let server = try TokenServerTests.ServerProcess(config: path("service.yaml"), logDirectory: dir,
                                                        arguments: ["--key-passphrase-file", path("pass.txt")])
        try fetchAndVerify(server, name: "first.jwt")
        XCTAssertEqual(server.stop(), 0)

        // After a rotation the configured key is recorded as current; the
        // server opens it again through the recorded path.
        try run(["serve", "rotate-key", "--config", "service.yaml", "--key-passphrase-env", "ISSUER_PASS"],
                environment: ["ISSUER_PASS": "correct horse battery staple"])
        // The new key is written encrypted with the same passphrase, and the
        // second rotation (which makes it current) and the server open it.
        let written = try FileManager.default.contentsOfDirectory(atPath: path("signing-keys"))
        XCTAssertEqual(written.count, 1, "\(written)")
        let pem = try String(contentsOfFile: path("signing-keys/" + written[0]), encoding: .utf8)
        XCTAssertTrue(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"), pem)
        try run(["serve", "rotate-key", "--config", "service.yaml", "--key-passphrase-file", "pass.txt"])
        let again = try TokenServerTests.ServerProcess(config: path("service.yaml"), logDirectory: dir,
                                                       arguments: ["--key-passphrase-file", path("pass.txt")])
        try fetchAndVerify(again, name: "second.jwt")
        XCTAssertEqual(again.stop(), 0)

        // The store names the key files, but only signing_key and files in
        // key_dir are opened: a path elsewhere (the same key, copied) is refused.
        let current = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: path("signing-keys")).first {
            try String(contentsOfFile: path("signing-keys/" + $0), encoding: .utf8).contains("ENCRYPTED")
        })
        try FileManager.default.copyItem(atPath: path("signing-keys/" + current), toPath: path("elsewhere.pem"))
        let update = try TestSupport.run(try TestSupport.python(), ["-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE signing_keys SET path = ? WHERE role = 'current'", (sys.argv[2],)); c.commit()
            """, path("state.sqlite"), path("elsewhere.pem")])
        XCTAssertEqual(update.status, 0, update.stderrText)
        let outside = try run(["serve", "--config", "service.yaml", "--key-passphrase-file", "pass.txt"], expect: 2)
        XCTAssertTrue(outside.stderrText.contains("neither signing_key nor a file in key_dir"), outside.stderrText)
    }

    func testASigningKeyInAPKCS11TokenSignsTheServicesTokens() throws {
        let token = try SoftHSMToken.make()
        defer { token.remove() }
        let uri = token.uri(object: "issuer")
        let made = try run(["keygen", "--type", "ed25519", "--out", uri, "--json"], environment: token.environment)
        let keyID = try XCTUnwrap((try JSONSerialization.jsonObject(with: made.stdout) as? [String: Any])?["keyId"] as? String)
        try configure(signingKey: uri, environment: token.environment)

        let server = try TokenServerTests.ServerProcess(config: path("service.yaml"), logDirectory: dir, environment: token.environment)
        defer { _ = server.stop() }
        try fetchAndVerify(server, name: "hsm.jwt")
        // Rotating would put a generated file key after the token's key: refused unless --new-key says which.
        let rotate = try run(["serve", "rotate-key", "--config", "service.yaml"], expect: 2, environment: token.environment)
        XCTAssertTrue(rotate.stderrText.contains("PKCS#11") && rotate.stderrText.contains("--new-key"), rotate.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("signing-keys")), "no key file was written")
        // Fetched with Python (Foundation's Data(contentsOf:) cannot read http: URLs without FoundationNetworking).
        let fetched = try TestSupport.run(try TestSupport.python(), ["-c", "import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())",
                                                                      server.base + "/jwks.json"])
        XCTAssertEqual(fetched.status, 0, fetched.stderrText)
        let jwks = try XCTUnwrap(try JSONSerialization.jsonObject(with: fetched.stdout) as? [String: Any])
        let kids = (jwks["keys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String }
        XCTAssertEqual(kids, [keyID], "the token key is the one the service publishes")
    }
}
