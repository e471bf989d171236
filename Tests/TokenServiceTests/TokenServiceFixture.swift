import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import ModelSecStore
import ModelSecStorePostgres
import TestSupport
import TokenService

/// A service directory for tests: an ed25519 issuer key, a p256 key for the
/// `private_key_jwt` client, a `service.yaml`, and a state store holding two
/// secret clients with known secrets: an SQLite file (`state:`) or a fresh,
/// migrated database on the shared PostgreSQL test cluster (`store:` with
/// `store_password_file:`).
struct TokenServiceFixture {
    /// The state store's engine.
    enum Engine: String, CaseIterable, Sendable {
        case sqlite, postgres
    }

    static let issuerURL = "http://127.0.0.1:8787"
    static let audience = "deploy-gateway"
    static let basicSecret = "basic-client-secret-for-tests"
    static let postSecret = "post-client-secret-for-tests"

    let directory: URL
    let issuerKey = PrivateKey.generate(.ed25519)
    let clientKey = PrivateKey.generate(.p256)
    var configPath: String { directory.appendingPathComponent("service.yaml").path }
    var clientKeyPath: String { directory.appendingPathComponent("jwt-client.pem").path }
    /// The engine of the state store.
    let engine: Engine
    /// The PostgreSQL store URL (postgres fixtures), without a password.
    let storeURL: String?

    /// Writes the files; `listen` goes into the configuration, `files` (name:
    /// contents) into the directory before it is loaded, and `extraYAML`
    /// (top-level keys such as `trust:`) at its end.
    init(listen: String = "127.0.0.1:8787", issuer: String = TokenServiceFixture.issuerURL,
         files: [String: String] = [:], extraYAML: String = "", engine: Engine = .sqlite) throws {
        directory = try TestSupport.makeTemporaryDirectory("token-service")
        self.engine = engine
        var stateYAML = "state: state.sqlite"
        if engine == .postgres {
            let cluster = try PostgresCluster.shared()
            let passwordFile = directory.appendingPathComponent("pg.pw").path
            guard FileManager.default.createFile(atPath: passwordFile, contents: Data((cluster.password + "\n").utf8),
                                                 attributes: [.posixPermissions: 0o600]) else { throw CocoaError(.fileWriteUnknown) }
            let url = cluster.url(try cluster.makeDatabase("tok"))
            _ = try LedgerStores.migrate(try StoreURL(parsing: url), passwordFile: passwordFile)
            storeURL = url
            stateYAML = "store: \"\(storeURL ?? "")\"\nstore_password_file: pg.pw"
        } else {
            storeURL = nil
        }
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
            \(stateYAML)
            clients:
              - id: jwt-client
                auth: private_key_jwt
                public_key: jwt-client.pub.pem
                scopes: ["model:deploy:resnet@*", "model:pull:*@*"]
                max_ttl: 5m

            """ + extraYAML
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ServiceConfig.load(configPath)
        let store = try Self.openStore(config)
        let cheap = Argon2id.Parameters(iterations: 1, memoryKiB: 64)
        try store.addClient(RegisteredClient(id: "basic-client", method: .clientSecretBasic,
                                             credential: .secret(try SecretHash(hashing: Self.basicSecret, parameters: cheap)),
                                             scopes: [try ModelScope(parsing: "model:deploy:resnet@2.1.0")], maximumTTL: nil), now: 0)
        try store.addClient(RegisteredClient(id: "post-client", method: .clientSecretPost,
                                             credential: .secret(try SecretHash(hashing: Self.postSecret, parameters: cheap)),
                                             scopes: [try ModelScope(parsing: "model:pull:resnet@*")], maximumTTL: nil), now: 0)
    }

    /// The configuration's state store, through the library.
    static func openStore(_ config: ServiceConfig) throws -> any TokenServiceStore {
        guard let text = config.store else { return try SQLiteTokenStore(path: config.statePath) }
        return try TokenStores.open(try StoreURL(parsing: text), passwordFile: config.storePasswordFile)
    }

    /// This fixture's state store.
    func openStore() throws -> any TokenServiceStore { try Self.openStore(try ServiceConfig.load(configPath)) }

    /// The token endpoint over this fixture's config, store and (Ed25519) issuer key.
    func makeEndpoint() throws -> (config: ServiceConfig, store: any TokenServiceStore, endpoint: TokenEndpoint) {
        let config = try ServiceConfig.load(configPath)
        let store = try openStore()
        guard case let .ed25519(key) = issuerKey else { throw FixtureError("the fixture's issuer key is not Ed25519") }
        let issuer = try AccessTokenIssuer(signingKey: SigningPrivateKey.ed25519(key), issuer: config.issuer,
                                           maximumLifetime: config.maximumTTL)
        return (config, store, try TokenEndpoint(config: config, issuer: issuer, store: store))
    }

    /// Writes an SQLite state file as version 2 of the schema made it
    /// (before signing-key records and request ids), with Python's sqlite3,
    /// then `extraSQL` (rows to migrate).
    static func writeVersion2StateFile(at path: String, extraSQL: String = "") throws {
        let sqlite = try TestSupport.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.executescript("CREATE TABLE clients(id TEXT PRIMARY KEY NOT NULL, method TEXT NOT NULL, secret_hash TEXT NOT NULL, scopes TEXT NOT NULL, max_ttl INTEGER, created INTEGER NOT NULL);"
                             "CREATE TABLE used_assertions(client_id TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY(client_id, jti));"
                             "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, event TEXT NOT NULL, client_id TEXT NOT NULL, subject TEXT NOT NULL, scopes TEXT NOT NULL, jti TEXT NOT NULL, outcome TEXT NOT NULL);"
                             "CREATE TABLE revoked_tokens(jti TEXT PRIMARY KEY NOT NULL, client_id TEXT NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL);"
                             + sys.argv[2] + "PRAGMA user_version = 2;")
            db.commit()
            """, path, extraSQL])
        guard sqlite.status == 0 else { throw FixtureError("could not write a version 2 state file: \(sqlite.stderrText)") }
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

/// A fixture that could not be set up, with what went wrong.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
