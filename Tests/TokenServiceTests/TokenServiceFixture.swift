import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import TestSupport
import TokenService

/// A service directory for tests: an ed25519 issuer key, a p256 key for the
/// `private_key_jwt` client, a `service.yaml`, and a state store holding two
/// secret clients with known secrets.
struct TokenServiceFixture {
    static let issuerURL = "http://127.0.0.1:8787"
    static let audience = "deploy-gateway"
    static let basicSecret = "basic-client-secret-for-tests"
    static let postSecret = "post-client-secret-for-tests"

    let directory: URL
    let issuerKey = PrivateKey.generate(.ed25519)
    let clientKey = PrivateKey.generate(.p256)
    var configPath: String { directory.appendingPathComponent("service.yaml").path }
    var clientKeyPath: String { directory.appendingPathComponent("jwt-client.pem").path }

    /// Writes the files; `listen` goes into the configuration, `files` (name:
    /// contents) into the directory before it is loaded, and `extraYAML`
    /// (top-level keys such as `trust:`) at its end.
    init(listen: String = "127.0.0.1:8787", issuer: String = TokenServiceFixture.issuerURL,
         files: [String: String] = [:], extraYAML: String = "") throws {
        directory = try TestSupport.makeTemporaryDirectory("token-service")
        for (name, contents) in files {
            try contents.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try KeyFile.write(issuerKey, to: directory.appendingPathComponent("issuer.pem").path)
        try KeyFile.write(clientKey, to: clientKeyPath)
        try KeyFile.write(clientKey.publicKey, to: directory.appendingPathComponent("jwt-client.pub.pem").path)
        let yaml = """
            listen: "\(listen)"
            issuer: "\(issuer)"
            signing_key: issuer.pem
            audience: \(Self.audience)
            max_ttl: 30m
            default_ttl: 10m
            state: state.sqlite
            clients:
              - id: jwt-client
                auth: private_key_jwt
                public_key: jwt-client.pub.pem
                scopes: ["model:deploy:resnet@*", "model:pull:*@*"]
                max_ttl: 5m

            """ + extraYAML
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ServiceConfig.load(configPath)
        let store = try SQLiteTokenStore(path: config.statePath)
        let cheap = Argon2id.Parameters(iterations: 1, memoryKiB: 64)
        try store.addClient(RegisteredClient(id: "basic-client", method: .clientSecretBasic,
                                             credential: .secret(try SecretHash(hashing: Self.basicSecret, parameters: cheap)),
                                             scopes: [try ModelScope(parsing: "model:deploy:resnet@2.1.0")], maximumTTL: nil), now: 0)
        try store.addClient(RegisteredClient(id: "post-client", method: .clientSecretPost,
                                             credential: .secret(try SecretHash(hashing: Self.postSecret, parameters: cheap)),
                                             scopes: [try ModelScope(parsing: "model:pull:resnet@*")], maximumTTL: nil), now: 0)
    }

    /// A client assertion signed with the client key (ES256), with `claims`
    /// overriding the defaults (iss = sub = jwt-client, aud = the token
    /// endpoint, exp = now + 60, iat = now, a random jti). A nil value drops
    /// the claim.
    func assertion(_ overrides: [String: Any?] = [:], header: String = #"{"alg":"ES256","typ":"JWT"}"#,
                   key: PrivateKey? = nil, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> String {
        var claims: [String: Any] = [
            "iss": "jwt-client", "sub": "jwt-client", "aud": Self.issuerURL + "/token",
            "exp": now + 60, "iat": now, "jti": Base64URL.encode(SecureRandom.bytes(count: 16)),
        ]
        for (name, value) in overrides { claims[name] = value }
        let payload = try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])
        guard case let .ecdsa(signingKey) = key ?? clientKey else { fatalError("the fixture signs with ECDSA") }
        return try CompactJWS.sign(header: Array(header.utf8), payload: Array(payload), with: SigningPrivateKey.ecdsa(signingKey))
    }

    /// `Basic base64(id:secret)`.
    static func basic(_ id: String, _ secret: String) -> String {
        "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
    }
}
