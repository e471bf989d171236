import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import TestSupport
import TokenService
import XCTest

/// Signing key rotation: current, next and retired keys in the state store,
/// `/jwks.json` publishing current + next + retired-but-unexpired, and
/// `modelsec serve rotate-key` against a running server checked with PyJWT.
class KeyRotationTests: XCTestCase {
    /// The state store's engine (``KeyRotationTestsPostgreSQL`` runs every test again on PostgreSQL).
    class var engine: TokenServiceFixture.Engine { .sqlite }

    private var fixture: TokenServiceFixture!
    private var config: ServiceConfig!
    private var store: (any TokenServiceStore)!

    override func setUpWithError() throws {
        fixture = try TokenServiceFixture(engine: Self.engine)
        config = try ServiceConfig.load(fixture.configPath)
        store = try fixture.openStore()
    }

    override func tearDownWithError() throws {
        if let fixture { try? FileManager.default.removeItem(at: fixture.directory) }
    }

    private static let loader: @Sendable (String) throws -> any Signer = { try KeyFile.loadSigningKey($0) }

    /// What `serve rotate-key` does, at `now`: a new ed25519 next key in key_dir.
    @discardableResult
    private func rotate(at now: Int64) throws -> SigningKeyRotation.Outcome {
        let recorded = try store.signingKeys()
        let initialKey = try KeyFile.loadSigningKey(config.signingKey)
        let initial = SigningKeyRecord(keyID: initialKey.publicKey.keyID, path: config.signingKey, role: .current, createdAt: now)
        let next = PrivateKey.generate(.ed25519)
        try FileManager.default.createDirectory(atPath: config.keyDirectory, withIntermediateDirectories: true)
        let path = config.keyDirectory + "/" + next.publicKey.keyID + ".pem"
        try KeyFile.write(next, to: path)
        let outcome = try SigningKeyRotation.rotate(
            recorded, initial: initial, newNext: SigningKeyRecord(keyID: next.publicKey.keyID, path: path, role: .next, createdAt: now),
            maximumTTL: config.maximumTTL.seconds, now: now)
        try store.replaceSigningKeys(outcome.records)
        return outcome
    }

    private func kids(_ jwks: [UInt8]) throws -> [String] {
        try JSONWebKeySet.keys(from: jwks, source: "jwks.json").map(\.keyID)
    }

    private func header(_ token: String) throws -> [String: Any] {
        let part = try XCTUnwrap(token.split(separator: ".").first)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(Base64URL.decode(String(part)) ?? [])) as? [String: Any])
    }

    private func issue(_ endpoint: TokenEndpoint, at now: Date) throws -> String {
        let success = try endpoint.handle(authorization: TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret),
                                          contentType: "application/x-www-form-urlencoded",
                                          body: Array("grant_type=client_credentials".utf8), now: now)
        return success.issued.token
    }

    func testTokensSignedBeforeARotationVerifyAgainstTheNewKeySetAndRetiredKeysLeaveAfterMaxTTL() throws {
        let t0: Int64 = 1_800_000_000
        let date = { (seconds: Int64) in Date(timeIntervalSince1970: TimeInterval(seconds)) }
        let ring = try KeyRing.make(store: store, initial: try KeyFile.loadSigningKey(config.signingKey), issuer: config.issuer,
                               maximumTTL: config.maximumTTL, now: date(t0), loader: Self.loader)
        let endpoint = try TokenEndpoint(config: config, keys: ring, store: store)
        let management = TokenManagement(endpoint: endpoint)
        let original = fixture.issuerKey.publicKey.keyID
        XCTAssertEqual(try kids(ring.current(now: date(t0)).jwks), [original])
        let old = try issue(endpoint, at: date(t0))
        XCTAssertEqual(try header(old)["kid"] as? String, original)

        // First rotation: nothing is promoted, the new key is published as next.
        _ = ring.current(now: Date(timeIntervalSince1970: TimeInterval(t0) + 9.5))
        let first = try rotate(at: t0 + 10)
        XCTAssertFalse(first.promoted)
        let next = try XCTUnwrap(first.records.first { $0.role == .next }).keyID
        XCTAssertEqual(try kids(ring.current(now: date(t0 + 10)).jwks), [original], "reloaded at most once per second")
        XCTAssertEqual(try kids(ring.current(now: date(t0 + 12)).jwks), [original, next])
        XCTAssertEqual(try header(try issue(endpoint, at: date(t0 + 12)))["kid"] as? String, original, "next does not sign yet")

        // Second rotation: next becomes current, the original is retired.
        let second = try rotate(at: t0 + 20)
        XCTAssertTrue(second.promoted)
        let newest = try XCTUnwrap(second.records.first { $0.role == .next }).keyID
        let after = ring.current(now: date(t0 + 22))
        XCTAssertEqual(try kids(after.jwks), [next, newest, original])
        let fresh = try issue(endpoint, at: date(t0 + 22))
        XCTAssertEqual(try header(fresh)["kid"] as? String, next)

        // The token from before both rotations verifies against the new key set,
        // and introspection still knows it.
        let published = try JSONWebKeySet.keys(from: after.jwks, source: "jwks.json")
        let verifier = try AccessTokenVerifier(keys: published, issuer: TokenServiceFixture.issuerURL, audience: TokenServiceFixture.audience)
        XCTAssertEqual(try verifier.verify(old, now: date(t0 + 22)).claims.subject, "basic-client")
        XCTAssertEqual(try verifier.verify(fresh, now: date(t0 + 22)).claims.subject, "basic-client")
        let answer = try management.introspect(
            authorization: TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret),
            contentType: "application/x-www-form-urlencoded", body: Array("token=\(old)".utf8), now: date(t0 + 22))
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any])?["active"] as? Bool, true)

        // The retired key stays until max_ttl (+ the grace) after its retirement, then leaves.
        let leaves = t0 + 20 + config.maximumTTL.seconds + SigningKeyRotation.retirementGrace
        XCTAssertEqual(try kids(ring.current(now: date(leaves - 1)).jwks), [next, newest, original])
        XCTAssertEqual(try kids(ring.current(now: date(leaves + 1)).jwks), [next, newest])

        // A third rotation purges the retired record from the store.
        let third = try rotate(at: leaves + 5)
        XCTAssertEqual(third.purged.map(\.keyID), [original])
        XCTAssertEqual(Set(try store.signingKeys().map(\.keyID)), [next, newest, try XCTUnwrap(third.records.first { $0.role == .next }).keyID])
    }

    func testRotationRulesAndTheStoreMigration() throws {
        let record = { (kid: String, role: SigningKeyRecord.Role) in SigningKeyRecord(keyID: kid, path: "/k/\(kid).pem", role: role, createdAt: 0) }
        // Two current keys, or a new key that is already known, are refused.
        XCTAssertThrowsError(try SigningKeyRotation.rotate([record("a", .current), record("b", .current)], initial: record("a", .current),
                                                           newNext: record("c", .next), maximumTTL: 60, now: 100))
        XCTAssertThrowsError(try SigningKeyRotation.rotate([record("a", .current), record("b", .next)], initial: record("a", .current),
                                                           newNext: record("b", .next), maximumTTL: 60, now: 100))
        let rotated = try SigningKeyRotation.rotate([record("a", .current), record("b", .next)], initial: record("x", .current),
                                                    newNext: record("c", .next), maximumTTL: 60, now: 100)
        XCTAssertEqual(rotated.records.map(\.role), [.retired, .current, .next])
        XCTAssertEqual(rotated.records.first?.retiredAt, 100)
        XCTAssertFalse(SigningKeyRotation.isPublished(rotated.records[0], maximumTTL: 60, now: 100 + 60 + SigningKeyRotation.retirementGrace))
        XCTAssertTrue(SigningKeyRotation.isPublished(rotated.records[0], maximumTTL: 60, now: 99 + 60 + SigningKeyRotation.retirementGrace))

        // The store keeps the records; a record whose file holds another key is refused.
        try store.replaceSigningKeys([SigningKeyRecord(keyID: "0000", path: config.signingKey, role: .current, createdAt: 1)])
        XCTAssertEqual(try store.signingKeys().map(\.keyID), ["0000"])
        XCTAssertThrowsError(try KeyRing.make(store: store, initial: nil, issuer: config.issuer, maximumTTL: config.maximumTTL,
                                         loader: Self.loader)) { error in
            XCTAssertEqual((error as? TokenServiceError)?.code, "serve.signing-keys")
        }

        // A version 2 file (before rotation) gains the signing_keys table.
        let old = fixture.directory.appendingPathComponent("v2.sqlite").path
        try TokenServiceFixture.writeVersion2StateFile(at: old)
        let migrated = try SQLiteTokenStore(path: old)
        XCTAssertEqual(try migrated.signingKeys(), [])
        try migrated.replaceSigningKeys([record("a", .current)])
        XCTAssertEqual(try migrated.signingKeys().map(\.keyID), ["a"])
    }

    /// The real server and `modelsec serve rotate-key`: a token fetched before
    /// two rotations still verifies with PyJWT against the new /jwks.json, the
    /// server signs with the promoted key without a restart, and key files are 0600.
    func testRotateKeyCommandAgainstARunningServerWithPyJWT() throws {
        let live = try TokenServiceFixture(listen: "127.0.0.1:0", engine: Self.engine)
        defer { try? FileManager.default.removeItem(at: live.directory) }
        let server = try TokenServerTests.ServerProcess(config: live.configPath, logDirectory: live.directory)
        defer { _ = server.stop() }
        let interpreter = try TestSupport.python()
        let script = """
            import json, sys, jwt, requests
            base, issuer, audience, client, secret = sys.argv[1:6]
            tokens = sys.argv[6:]
            if not tokens:
                r = requests.post(base + "/token", data={"grant_type": "client_credentials"}, auth=(client, secret), timeout=10)
                print(json.dumps({"token": r.json()["access_token"]}))
                sys.exit(0)
            jwks = jwt.PyJWKSet.from_dict(requests.get(base + "/jwks.json", timeout=10).json())
            out = {"published": [k.key_id for k in jwks.keys], "subjects": [], "kids": []}
            for token in tokens:
                kid = jwt.get_unverified_header(token)["kid"]
                claims = jwt.decode(token, jwks[kid].key, algorithms=["EdDSA"], audience=audience, issuer=issuer)
                out["subjects"].append(claims["sub"])
                out["kids"].append(kid)
            print(json.dumps(out))
            """
        func ask(_ tokens: [String]) throws -> [String: Any] {
            let r = try TestSupport.run(interpreter, ["-c", script, server.base, TokenServiceFixture.issuerURL, TokenServiceFixture.audience,
                                                 "basic-client", TokenServiceFixture.basicSecret] + tokens)
            XCTAssertEqual(r.status, 0, r.stderrText + "\nserver log:\n" + server.log)
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText)
        }
        let old = try XCTUnwrap(try ask([])["token"] as? String)
        var rotations: [[String: Any]] = []
        for _ in 0..<2 {
            let r = try TestSupport.modelsec(["serve", "rotate-key", "--config", live.configPath, "--json"])
            XCTAssertEqual(r.status, 0, r.stderrText)
            rotations.append(try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText))
        }
        XCTAssertEqual(rotations[0]["promoted"] as? Bool, false)
        XCTAssertEqual(rotations[1]["promoted"] as? Bool, true)
        let promoted = try XCTUnwrap(rotations[0]["next"] as? String)
        XCTAssertEqual(rotations[1]["current"] as? String, promoted)
        XCTAssertEqual(rotations[1]["retired"] as? [String], [live.issuerKey.publicKey.keyID])
        let keyFile = try XCTUnwrap(rotations[1]["keyFile"] as? String)
        let mode = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? NSNumber
        XCTAssertEqual(mode?.intValue, 0o600)

        usleep(1_300_000) // the server re-reads the keys at most once per second
        let fresh = try XCTUnwrap(try ask([])["token"] as? String)
        let seen = try ask([old, fresh])
        XCTAssertEqual(seen["subjects"] as? [String], ["basic-client", "basic-client"])
        XCTAssertEqual(seen["kids"] as? [String], [live.issuerKey.publicKey.keyID, promoted])
        XCTAssertEqual(Set(seen["published"] as? [String] ?? []),
                       [live.issuerKey.publicKey.keyID, promoted, try XCTUnwrap(rotations[1]["next"] as? String)])

        // A next key the service could not open is never promoted (review: the
        // store named it current while the server went on signing with the old key).
        let nextFile = keyFile
        try FileManager.default.moveItem(atPath: nextFile, toPath: nextFile + ".moved")
        let refused = try TestSupport.modelsec(["serve", "rotate-key", "--config", live.configPath, "--json"])
        XCTAssertEqual(refused.status, 2, refused.stdoutText)
        try FileManager.default.moveItem(atPath: nextFile + ".moved", toPath: nextFile)
        usleep(1_300_000)
        let after = try ask([try XCTUnwrap(try ask([])["token"] as? String)])
        XCTAssertEqual(after["kids"] as? [String], [promoted], "the current key did not change")
    }
}

/// ``KeyRotationTests`` with the state in PostgreSQL (the shared test cluster).
final class KeyRotationTestsPostgreSQL: KeyRotationTests {
    override class var engine: TokenServiceFixture.Engine { .postgres }

    // Linux XCTest discovers only the methods a class declares: each test again, on PostgreSQL.
    override func testTokensSignedBeforeARotationVerifyAgainstTheNewKeySetAndRetiredKeysLeaveAfterMaxTTL() throws { try super.testTokensSignedBeforeARotationVerifyAgainstTheNewKeySetAndRetiredKeysLeaveAfterMaxTTL() }
    override func testRotationRulesAndTheStoreMigration() throws { try super.testRotationRulesAndTheStoreMigration() }
    override func testRotateKeyCommandAgainstARunningServerWithPyJWT() throws { try super.testRotateKeyCommandAgainstARunningServerWithPyJWT() }
}
