import AccessTokens
import Foundation
import TestSupport
import ModelSecCrypto
import TokenService
import XCTest

/// `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662) without HTTP.
class TokenManagementTests: XCTestCase {
    /// The state store's engine (``TokenManagementTestsPostgreSQL`` runs every test again on PostgreSQL).
    class var engine: TokenServiceFixture.Engine { .sqlite }

    private var fixture: TokenServiceFixture!
    private var endpoint: TokenEndpoint!
    private var management: TokenManagement!
    private var store: (any TokenServiceStore)!
    private let form = "application/x-www-form-urlencoded"
    private let basic = TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret)
    private let post = "client_id=post-client&client_secret=\(TokenServiceFixture.postSecret)"

    override func setUpWithError() throws {
        fixture = try TokenServiceFixture(engine: Self.engine)
        let config = try ServiceConfig.load(fixture.configPath)
        store = try fixture.openStore()
        guard case let .ed25519(key) = fixture.issuerKey else { return XCTFail("ed25519 issuer") }
        let issuer = try AccessTokenIssuer(signingKey: SigningPrivateKey.ed25519(key), issuer: config.issuer,
                                           maximumLifetime: config.maximumTTL)
        endpoint = try TokenEndpoint(config: config, issuer: issuer, store: store)
        management = try TokenManagement(endpoint: endpoint, key: VerificationKey(fixture.issuerKey.publicKey, keyID: issuer.keyID))
    }

    override func tearDownWithError() throws {
        if let fixture { try? FileManager.default.removeItem(at: fixture.directory) }
    }

    private func issue(now: Date = Date()) throws -> String {
        try endpoint.handle(authorization: basic, contentType: form, body: Array("grant_type=client_credentials".utf8), now: now).issued.token
    }

    private func introspect(_ token: String, authorization: String? = nil, extra: String = "", now: Date = Date()) throws -> [String: Any] {
        let body = "token=" + token + (authorization == nil ? "&" + post : "") + extra
        let answer = try management.introspect(authorization: authorization, contentType: form, body: Array(body.utf8), now: now)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any])
    }

    private func revoke(_ token: String, authorization: String?, extra: String = "") throws -> [UInt8] {
        try management.revoke(authorization: authorization, contentType: form, body: Array(("token=" + token + extra).utf8))
    }

    func testIntrospectionShowsAnActiveTokenUntilItIsRevoked() throws {
        let token = try issue()
        let active = try introspect(token)
        XCTAssertEqual(active["active"] as? Bool, true)
        XCTAssertEqual(active["client_id"] as? String, "basic-client")
        XCTAssertEqual(active["sub"] as? String, "basic-client")
        XCTAssertEqual(active["scope"] as? String, "model:deploy:resnet@2.1.0")
        XCTAssertEqual(active["aud"] as? [String], [TokenServiceFixture.audience])
        XCTAssertEqual(active["iss"] as? String, TokenServiceFixture.issuerURL)
        XCTAssertEqual(active["token_type"] as? String, "Bearer")
        let claims = try AccessTokenVerifier(keys: [VerificationKey(fixture.issuerKey.publicKey)], issuer: TokenServiceFixture.issuerURL,
                                             audience: TokenServiceFixture.audience).verify(token).claims
        XCTAssertEqual(active["jti"] as? String, claims.tokenID)
        XCTAssertEqual((active["exp"] as? NSNumber)?.int64Value, claims.expiresAt)

        XCTAssertEqual(try revoke(token, authorization: basic, extra: "&token_type_hint=access_token"), [])
        XCTAssertEqual(try introspect(token).count, 1, "an inactive token shows nothing but active")
        XCTAssertEqual(try introspect(token)["active"] as? Bool, false)
        XCTAssertEqual(try revoke(token, authorization: basic), [], "revoking again is fine")
        XCTAssertEqual(try introspect(try issue())["active"] as? Bool, true, "other tokens stay active")
        let events = try store.auditRecords(limit: 100).map(\.event)
        XCTAssertTrue(events.contains("revoke") && events.contains("introspect"), "\(events)")

        // A store reopened (a restart) still knows the revocation.
        XCTAssertTrue(try fixture.openStore().isRevoked(tokenID: claims.tokenID))
    }

    func testInvalidExpiredAndForeignTokensAreInactive() throws {
        XCTAssertEqual(try introspect("not-a-token")["active"] as? Bool, false)
        let old = try issue(now: Date(timeIntervalSinceNow: -3600))
        XCTAssertEqual(try introspect(old)["active"] as? Bool, false, "expired")
        // Signed by another key under the same issuer name.
        let other = try AccessTokenIssuer(signingKey: SigningPrivateKey.ecdsa(ECDSA.PrivateKey(curve: .p256)), issuer: TokenServiceFixture.issuerURL)
        let forged = try other.issue(.init(subject: "basic-client", audiences: [TokenServiceFixture.audience],
                                           scopes: [try ModelScope(parsing: "model:deploy:resnet@2.1.0")], clientID: "basic-client")).token
        XCTAssertEqual(try introspect(forged)["active"] as? Bool, false, "not signed by the service")
        XCTAssertEqual(try revoke(forged, authorization: basic), [], "an invalid token is answered 200 and ignored (RFC 7009 §2.2)")
        XCTAssertEqual(try revoke("garbage", authorization: basic), [])
    }

    func testRevocationAndIntrospectionNeedAnAuthenticatedClient() throws {
        let token = try issue()
        for call in [{ try self.management.revoke(authorization: nil, contentType: self.form, body: Array("token=\(token)".utf8)) },
                     { try self.management.introspect(authorization: nil, contentType: self.form, body: Array("token=\(token)".utf8)) },
                     { try self.revoke(token, authorization: TokenServiceFixture.basic("basic-client", "wrong")) }] {
            XCTAssertThrowsError(try call()) { XCTAssertEqual(($0 as? OAuthError)?.code, .invalidClient, "\($0)") }
        }
        XCTAssertEqual(try introspect(token)["active"] as? Bool, true, "the failed revocations changed nothing")
        // Another client may not revoke it.
        XCTAssertThrowsError(try revoke(token, authorization: nil, extra: "&" + post)) {
            XCTAssertEqual(($0 as? OAuthError)?.code, .unauthorizedClient, "\($0)")
        }
        XCTAssertEqual(try introspect(token)["active"] as? Bool, true)
        XCTAssertThrowsError(try management.introspect(authorization: basic, contentType: form, body: [])) {
            XCTAssertEqual(($0 as? OAuthError)?.code, .invalidRequest, "no token parameter")
        }
        XCTAssertThrowsError(try management.introspect(authorization: basic, contentType: "application/json", body: Array("{}".utf8))) {
            XCTAssertEqual(($0 as? OAuthError)?.code, .invalidRequest, "wrong content type")
        }
    }

    func testAVersionOneStoreIsMigrated() throws {
        let path = fixture.directory.appendingPathComponent("v1.sqlite").path
        // Made with Python's sqlite3, as the first schema was written.
        let r = try TestSupport.run(try TestSupport.python(), ["-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()", path, """
            CREATE TABLE clients(id TEXT PRIMARY KEY NOT NULL, method TEXT NOT NULL, secret_hash TEXT NOT NULL,
                                 scopes TEXT NOT NULL, max_ttl INTEGER, created INTEGER NOT NULL);
            CREATE TABLE used_assertions(client_id TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL,
                                         PRIMARY KEY(client_id, jti));
            CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, event TEXT NOT NULL,
                               client_id TEXT NOT NULL, subject TEXT NOT NULL, scopes TEXT NOT NULL,
                               jti TEXT NOT NULL, outcome TEXT NOT NULL);
            PRAGMA user_version = 1;
            """])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let migrated = try SQLiteTokenStore(path: path)
        XCTAssertFalse(try migrated.isRevoked(tokenID: "x"))
        try migrated.revoke(tokenID: "x", clientID: "c", expiresAt: Int64(Date().timeIntervalSince1970) + 60, now: Int64(Date().timeIntervalSince1970))
        XCTAssertTrue(try migrated.isRevoked(tokenID: "x"))
        XCTAssertFalse(try migrated.isRevoked(tokenID: "X"), "exact bytes")
    }
}

/// The state store's file is private whatever the umask.
final class StateFileModeTests: XCTestCase {
    func testANewStateFileIsOwnerOnly() throws {
        let dir = try TestSupport.makeTemporaryDirectory("state-mode")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.sqlite").path
        let previous = umask(0o022)
        defer { umask(previous) }
        _ = try SQLiteTokenStore(path: path)
        for file in [path, path + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber
            XCTAssertEqual(mode?.intValue, 0o600, file)
        }
    }
}

/// ``TokenManagementTests`` with the state in PostgreSQL (the shared test cluster).
final class TokenManagementTestsPostgreSQL: TokenManagementTests {
    override class var engine: TokenServiceFixture.Engine { .postgres }

    // Linux XCTest discovers only the methods a class declares: each test again, on PostgreSQL.
    override func testIntrospectionShowsAnActiveTokenUntilItIsRevoked() throws { try super.testIntrospectionShowsAnActiveTokenUntilItIsRevoked() }
    override func testInvalidExpiredAndForeignTokensAreInactive() throws { try super.testInvalidExpiredAndForeignTokensAreInactive() }
    override func testRevocationAndIntrospectionNeedAnAuthenticatedClient() throws { try super.testRevocationAndIntrospectionNeedAnAuthenticatedClient() }
    override func testAVersionOneStoreIsMigrated() throws { try super.testAVersionOneStoreIsMigrated() }
}
