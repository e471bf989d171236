import AccessTokens
import Foundation
import ModelSecCrypto
import TestSupport
import TokenService
import XCTest

/// Token exchange of RS256 and PS256 tokens, as GitHub Actions, GitLab CI and
/// Kubernetes sign them: keys and tokens from Python `cryptography` and PyJWT
/// (``WorkloadIssuerScript``), verification through ModelSecCrypto's RSA.
final class WorkloadRSATests: XCTestCase {
    static let issuer = "https://token.actions.githubusercontent.com"
    static let audience = "https://tokens.example"
    static let trustYAML = """
        trust:
          - name: github-release
            issuer: "\(issuer)"
            jwks_file: github-jwks.json
            audience: "\(audience)"
            claims:
              repository: example-org/models
              ref: refs/heads/main
              ref_type: branch
            scopes: ["model:deploy:resnet@*"]
            max_ttl: 5m
            single_use: true

        """

    /// Runs ``WorkloadIssuerScript`` into a new directory: the JWK Set files and the tokens.
    static func makeIssuer() throws -> (directory: URL, tokens: [String: String]) {
        let directory = try TestSupport.makeTemporaryDirectory("workload-issuer")
        let script = directory.appendingPathComponent("workload_issuer.py")
        try WorkloadIssuerScript.source.write(to: script, atomically: true, encoding: .utf8)
        let r = try TestSupport.run(try TestSupport.python(), [script.path, directory.path, issuer, audience])
        guard r.status == 0, let tokens = try JSONSerialization.jsonObject(with: r.stdout) as? [String: String] else {
            throw NSError(domain: "WorkloadRSATests", code: 1, userInfo: [NSLocalizedDescriptionKey: "workload_issuer.py: " + r.stderrText])
        }
        return (directory, tokens)
    }

    func testRS256AndPS256TokensAreExchangedAndForgeriesRefused() throws {
        let (issuerDirectory, tokens) = try Self.makeIssuer()
        defer { try? FileManager.default.removeItem(at: issuerDirectory) }
        let jwks = try String(contentsOf: issuerDirectory.appendingPathComponent("github-jwks.json"), encoding: .utf8)
        let fixture = try TokenServiceFixture(files: ["github-jwks.json": jwks], extraYAML: Self.trustYAML)
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let config = try ServiceConfig.load(fixture.configPath)
        XCTAssertEqual((try config.issuerKeys[Array(Self.issuer.utf8)]?.keys(for: ""))?.map(\.keyID), ["gh-rs256", "gh-ps256"],
                       "the encryption key and the RS512 key are skipped")
        XCTAssertEqual((try config.issuerKeys[Array(Self.issuer.utf8)]?.keys(for: ""))?.map(\.algorithm), ["RS256", "PS256"])
        guard case let .ed25519(key) = fixture.issuerKey else { return XCTFail("ed25519 issuer") }
        let endpoint = try TokenEndpoint(
            config: config, issuer: try AccessTokenIssuer(signingKey: SigningPrivateKey.ed25519(key), issuer: config.issuer,
                                                          maximumLifetime: config.maximumTTL),
            store: try SQLiteTokenStore(path: config.statePath))
        func exchange(_ name: String) throws -> TokenEndpoint.Success {
            let token = try XCTUnwrap(tokens[name], name)
            let body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
                + "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&subject_token=" + token
                + "&scope=model%3Adeploy%3Aresnet%402.1.0"
            return try endpoint.handle(authorization: nil, contentType: "application/x-www-form-urlencoded", body: Array(body.utf8))
        }
        let verifier = try AccessTokenVerifier(keys: [VerificationKey(fixture.issuerKey.publicKey)],
                                               issuer: TokenServiceFixture.issuerURL, audience: TokenServiceFixture.audience)
        for name in ["rs256", "ps256"] {
            let verified = try verifier.verify(try exchange(name).issued.token)
            XCTAssertEqual(verified.claims.subject, "repo:example-org/models:ref:refs/heads/main", name)
            XCTAssertEqual(verified.claims.clientID, "github-release", name)
            XCTAssertEqual(verified.claims.expiresAt - verified.claims.issuedAt, 300, name)
        }
        // "rs256" again: the rule is single_use, so its jti is spent.
        for name in ["rs256", "otherRepo", "otherIssuer", "otherKey", "pssWithRS256Key", "rs512Key", "expired", "badSignature",
                     "hs256Pem", "hs256Jwks", "none"] {
            XCTAssertThrowsError(try exchange(name), name) {
                XCTAssertEqual(($0 as? OAuthError)?.code, .invalidRequest, "\(name): \($0)")
            }
        }
        XCTAssertNoThrow(try exchange("rs256b"), "another token (another jti) of the same workflow")

        // A JWK Set with a 1024-bit RSA key is refused when the service loads it.
        let weak = try String(contentsOf: issuerDirectory.appendingPathComponent("weak-jwks.json"), encoding: .utf8)
        XCTAssertThrowsError(try TokenServiceFixture(files: ["github-jwks.json": weak], extraYAML: Self.trustYAML)) { error in
            XCTAssertEqual((error as? TokenServiceError)?.code, "serve.unusable-file", "\(error)")
            XCTAssertTrue("\(error)".contains("2048"), "\(error)")
        }
    }

    /// The RSA primitive on its own: the bounds on the modulus and exponent.
    func testRSAPublicKeyBounds() throws {
        let modulus2048 = [0xC0] + [UInt8](repeating: 0x5A, count: 254) + [0x01]
        XCTAssertNoThrow(try RSA.PublicKey(modulus: modulus2048, exponent: [0x01, 0x00, 0x01]))
        XCTAssertEqual(try RSA.PublicKey(modulus: [0] + modulus2048, exponent: [0x01, 0x00, 0x01]).modulusBits, 2048,
                       "a leading zero byte does not count")
        XCTAssertThrowsError(try RSA.PublicKey(modulus: Array(modulus2048.dropFirst()), exponent: [0x01, 0x00, 0x01]), "2040 bits")
        XCTAssertThrowsError(try RSA.PublicKey(modulus: [0xC0] + [UInt8](repeating: 1, count: 1024), exponent: [3]), "over 8192 bits")
        XCTAssertThrowsError(try RSA.PublicKey(modulus: modulus2048, exponent: [1]), "e = 1")
        XCTAssertThrowsError(try RSA.PublicKey(modulus: modulus2048, exponent: [0x01, 0x00, 0x00]), "an even exponent")
        XCTAssertThrowsError(try RSA.PublicKey(modulus: modulus2048, exponent: [1, 0, 0, 0, 1]), "a 33-bit exponent")
        let key = try RSA.PublicKey(modulus: modulus2048, exponent: [0x01, 0x00, 0x01])
        XCTAssertFalse(key.isValidSignature([UInt8](repeating: 1, count: 256), for: Array("m".utf8), padding: .pkcs1v15SHA256))
        XCTAssertFalse(key.isValidSignature([UInt8](repeating: 1, count: 255), for: Array("m".utf8), padding: .pssSHA256))
    }
}
