import AccessTokens
import ModelSecCrypto
import ModelSecKeys
import Foundation
import ModelSecStore
import ModelSecStorePostgres
import TestSupport
import TokenService
import XCTest

/// The ``TokenServiceStore`` contract, each test run against a fresh SQLite
/// file and a fresh migrated PostgreSQL database with identical
/// expectations (error cases included). PostgreSQL is required: the test
/// fails, never skips, when the cluster cannot start.
final class TokenStoreEngineTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try TestSupport.makeTemporaryDirectory("token-store") }
    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    private func cluster() throws -> PostgresCluster {
        do { return try PostgresCluster.shared() } catch {
            XCTFail("PostgreSQL is required by this test and could not be started: \(error)")
            throw error
        }
    }

    /// The cluster's password in a private file.
    private func passwordFile() throws -> String {
        let path = directory.appendingPathComponent("pg.pw").path
        if !FileManager.default.fileExists(atPath: path) {
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data((try cluster().password + "\n").utf8),
                                           attributes: [.posixPermissions: 0o600]))
        }
        return path
    }

    /// A fresh store of each engine, with its name.
    private func stores() throws -> [(String, any TokenServiceStore)] {
        let pg = try cluster()
        let url = pg.url(try pg.makeDatabase("tokstore"))
        _ = try LedgerStores.migrate(try StoreURL(parsing: url), passwordFile: try passwordFile())
        return [("sqlite", try TokenStores.open(.sqlite(path: directory.appendingPathComponent("\(UUID().uuidString).sqlite").path))),
                ("postgres", try TokenStores.open(try StoreURL(parsing: url), passwordFile: try passwordFile()))]
    }

    private func secretClient(_ id: String, scopes: [String] = ["model:pull:*@*"], ttl: Int64? = nil) throws -> RegisteredClient {
        RegisteredClient(id: id, method: .clientSecretPost,
                         credential: .secret(try SecretHash(hashing: "s-" + id, parameters: Argon2id.Parameters(iterations: 1, memoryKiB: 64))),
                         scopes: try scopes.map { try ModelScope(parsing: $0) }, maximumTTL: ttl.map { TokenDuration(seconds: $0) })
    }

    func testClientsAreFoundByExactBytesAndRegisteredOnce() throws {
        for (engine, store) in try stores() {
            try store.addClient(try secretClient("deployer", scopes: ["model:deploy:resnet@*", "model:pull:*@*"], ttl: 300), now: 7)
            let found = try XCTUnwrap(try store.client(id: "deployer"), engine)
            XCTAssertEqual(found.method, .clientSecretPost, engine)
            XCTAssertEqual(found.scopes.map(\.description), ["model:deploy:resnet@*", "model:pull:*@*"], engine)
            XCTAssertEqual(found.maximumTTL?.seconds, 300, engine)
            guard case let .secret(hash) = found.credential else { return XCTFail("\(engine): not a secret client") }
            XCTAssertTrue(hash.matches("s-deployer"), engine)
            XCTAssertFalse(hash.matches("s-Deployer"), engine)
            XCTAssertNil(try store.client(id: "Deployer"), "\(engine): ids are exact bytes")
            XCTAssertNil(try store.client(id: "deployer "), engine)
            XCTAssertNil(try store.client(id: "nobody"), engine)
            XCTAssertThrowsError(try store.addClient(try secretClient("deployer"), now: 8)) {
                XCTAssertEqual($0 as? TokenServiceError, .clientExists(name: "deployer"), engine)
            }
            try store.addClient(try secretClient("Deployer"), now: 8)
            XCTAssertEqual(try store.client(id: "Deployer")?.scopes.map(\.description), ["model:pull:*@*"], engine)
            // A SQL-looking id is just an id (every value is a bound parameter).
            let hostile = "x'); DROP TABLE tok_clients; --"
            try store.addClient(try secretClient(hostile), now: 9)
            XCTAssertNotNil(try store.client(id: hostile), engine)
            XCTAssertNotNil(try store.client(id: "deployer"), "\(engine): the table is still there")
            // Key clients are configuration, never stored.
            let keyClient = RegisteredClient(id: "k", method: .privateKeyJWT, credential: .publicKey(PrivateKey.generate(.p256).publicKey),
                                             scopes: [], maximumTTL: nil)
            XCTAssertThrowsError(try store.addClient(keyClient, now: 9)) {
                XCTAssertEqual(($0 as? TokenServiceError)?.code, "serve.store-failed", engine)
            }
        }
    }

    func testAnAssertionIdIsAcceptedOncePerClientWithinItsLifetime() throws {
        for (engine, store) in try stores() {
            XCTAssertTrue(try store.consumeAssertion(clientID: "c", tokenID: "jti-1", expiresAt: 100, now: 10), engine)
            XCTAssertFalse(try store.consumeAssertion(clientID: "c", tokenID: "jti-1", expiresAt: 100, now: 11), "\(engine): a replay")
            XCTAssertTrue(try store.consumeAssertion(clientID: "d", tokenID: "jti-1", expiresAt: 100, now: 11), "\(engine): per client")
            XCTAssertTrue(try store.consumeAssertion(clientID: "c", tokenID: "JTI-1", expiresAt: 100, now: 11), "\(engine): exact bytes")
            // Canonically equivalent but different bytes (NFC and NFD), a NUL, and a 256-byte id are all distinct ids.
            XCTAssertTrue(try store.consumeAssertion(clientID: "c", tokenID: "caf\u{E9}", expiresAt: 100, now: 11), engine)
            XCTAssertTrue(try store.consumeAssertion(clientID: "c", tokenID: "cafe\u{301}", expiresAt: 100, now: 11), engine)
            XCTAssertFalse(try store.consumeAssertion(clientID: "c", tokenID: "cafe\u{301}", expiresAt: 100, now: 11), engine)
            XCTAssertTrue(try store.consumeAssertion(clientID: "c", tokenID: "a\u{0}b", expiresAt: 100, now: 11), engine)
            XCTAssertTrue(try store.consumeAssertion(clientID: "c", tokenID: "a", expiresAt: 100, now: 11), "\(engine): not cut at the NUL")
            XCTAssertFalse(try store.consumeAssertion(clientID: "c", tokenID: "a\u{0}b", expiresAt: 100, now: 11), engine)
            let long = String(repeating: "z", count: 256)
            XCTAssertTrue(try store.consumeAssertion(clientID: "c", tokenID: long, expiresAt: 100, now: 11), engine)
            XCTAssertFalse(try store.consumeAssertion(clientID: "c", tokenID: long, expiresAt: 100, now: 11), engine)
            // An entry is kept for the sweep margin past its expiry (replicas'
            // clocks differ), then forgotten: the id may be used again.
            let m = tokenStoreSweepMargin
            XCTAssertFalse(try store.consumeAssertion(clientID: "c", tokenID: "jti-1", expiresAt: 300, now: 101), "\(engine): kept within the margin")
            XCTAssertTrue(try store.consumeAssertion(clientID: "c", tokenID: "jti-1", expiresAt: 300 + m, now: 101 + m), "\(engine): expired entry renewed")
            XCTAssertFalse(try store.consumeAssertion(clientID: "c", tokenID: "jti-1", expiresAt: 300 + m, now: 102 + m), engine)
            XCTAssertTrue(try store.consumeAssertion(clientID: "e", tokenID: "k", expiresAt: 500, now: 102), engine)
            XCTAssertFalse(try store.consumeAssertion(clientID: "e", tokenID: "k", expiresAt: 600 + m, now: 500 + m), "\(engine): not past the margin at 500 + m")
            XCTAssertTrue(try store.consumeAssertion(clientID: "e", tokenID: "k", expiresAt: 600 + m, now: 501 + m), "\(engine): past at 501 + m")
        }
    }

    func testConcurrentUsesOfOneAssertionIdSucceedExactlyOnce() throws {
        for (engine, store) in try stores() {
            let accepted = LockedCounter()
            DispatchQueue.concurrentPerform(iterations: 16) { _ in
                if (try? store.consumeAssertion(clientID: "c", tokenID: "race", expiresAt: 100, now: 1)) == true { accepted.add() }
            }
            XCTAssertEqual(accepted.value, 1, engine)
        }
    }

    func testRevocationsAreExactBytesIdempotentAndForgottenAfterExpiry() throws {
        for (engine, store) in try stores() {
            XCTAssertFalse(try store.isRevoked(tokenID: "t1"), engine)
            try store.revoke(tokenID: "t1", clientID: "c", expiresAt: 100, now: 10)
            try store.revoke(tokenID: "t1", clientID: "c", expiresAt: 100, now: 11)
            XCTAssertTrue(try store.isRevoked(tokenID: "t1"), engine)
            XCTAssertFalse(try store.isRevoked(tokenID: "T1"), "\(engine): exact bytes")
            XCTAssertFalse(try store.isRevoked(tokenID: "t1 "), engine)
            try store.revoke(tokenID: "n\u{0}1", clientID: "c", expiresAt: 100, now: 12)
            XCTAssertTrue(try store.isRevoked(tokenID: "n\u{0}1"), engine)
            XCTAssertFalse(try store.isRevoked(tokenID: "n"), "\(engine): not cut at the NUL")
            XCTAssertFalse(try store.isRevoked(tokenID: "n\u{0}2"), engine)
            try store.revoke(tokenID: "x'; DELETE FROM tok_revoked_tokens; --", clientID: "c", expiresAt: 100, now: 12)
            XCTAssertTrue(try store.isRevoked(tokenID: "t1"), engine)
            XCTAssertTrue(try store.isRevoked(tokenID: "x'; DELETE FROM tok_revoked_tokens; --"), engine)
            // A later revocation sweeps entries past their expiry and the
            // sweep margin (those tokens are invalid anyway, by every replica's clock).
            try store.revoke(tokenID: "t2", clientID: "c", expiresAt: 500 + tokenStoreSweepMargin, now: 200)
            XCTAssertTrue(try store.isRevoked(tokenID: "t1"), "\(engine): kept within the margin")
            try store.revoke(tokenID: "t3", clientID: "c", expiresAt: 500 + tokenStoreSweepMargin, now: 101 + tokenStoreSweepMargin)
            XCTAssertFalse(try store.isRevoked(tokenID: "t1"), "\(engine): swept after expiry")
            XCTAssertTrue(try store.isRevoked(tokenID: "t2"), engine)
        }
    }

    func testAuditRecordsComeBackOldestFirstBySinceAndLimit() throws {
        for (engine, store) in try stores() {
            let records = [
                AuditRecord(time: 300, event: "issue", clientID: "a", subject: "a", scopes: "model:pull:x@1 model:pull:y@1", tokenID: "j1",
                            outcome: "ok", requestID: "r1"),
                AuditRecord(time: 100, event: "refuse", clientID: "", subject: "", scopes: "", tokenID: "", outcome: "invalid_client"),
                AuditRecord(time: 200, event: "exchange", clientID: "rule", subject: "system:serviceaccount:ns:sa \u{E9}", scopes: "s",
                            tokenID: "j2", outcome: "ok", requestID: "r3"),
            ]
            for record in records { try store.record(record) }
            XCTAssertEqual(try store.auditRecords(limit: 10), records, "\(engine): insertion order, every field back")
            XCTAssertEqual(try store.auditRecords(since: 200, limit: 10), [records[0], records[2]], engine)
            XCTAssertEqual(try store.auditRecords(since: 200, limit: 1), [records[0]], engine)
            XCTAssertEqual(try store.auditRecords(since: 301, limit: 10), [], engine)
            XCTAssertEqual(try store.auditRecords(limit: 0), [], engine)
        }
    }

    /// The token endpoint's one commit per `private_key_jwt` token: the
    /// replay-cache row and the audit row together, or (a replay) neither.
    func testAConsumedAssertionAndItsAuditRowGoTogether() throws {
        for (engine, store) in try stores() {
            let audit = AuditRecord(time: 50, event: "issue", clientID: "c", subject: "c", scopes: "model:pull:m@1", tokenID: "tok-1",
                                    outcome: "ok", requestID: "r1")
            XCTAssertTrue(try blockingWait { try await store.consumeAssertion(clientID: "c", tokenID: "a\u{0}1", expiresAt: 100, now: 50,
                                                                              recording: audit) }, engine)
            XCTAssertEqual(try store.auditRecords(limit: 10), [audit], engine)
            let again = AuditRecord(time: 60, event: "issue", clientID: "c", subject: "c", scopes: "model:pull:m@1", tokenID: "tok-2",
                                    outcome: "ok", requestID: "r2")
            XCTAssertFalse(try blockingWait { try await store.consumeAssertion(clientID: "c", tokenID: "a\u{0}1", expiresAt: 100, now: 60,
                                                                               recording: again) }, "\(engine): a replay")
            XCTAssertEqual(try store.auditRecords(limit: 10), [audit], "\(engine): no audit row for the replay")
            XCTAssertFalse(try store.consumeAssertion(clientID: "c", tokenID: "a\u{0}1", expiresAt: 100, now: 61), "\(engine): one cache")
        }
    }

    /// `serve audit`'s query: the newest records first, so a limit cuts the
    /// oldest; and the retention sweep deletes exactly the records older
    /// than its cutoff, across several batches.
    func testLatestAuditRecordsComeNewestFirstAndTheRetentionDeleteKeepsTheRest() throws {
        for (engine, store) in try stores() {
            let records = (0..<5).map { AuditRecord(time: Int64(100 * ($0 + 1)), event: "issue", clientID: "c\($0)", subject: "s",
                                                    scopes: "", tokenID: "j\($0)", outcome: "ok") }
            for record in records { try store.record(record) }
            XCTAssertEqual(try store.latestAuditRecords(since: Int64.min, limit: 10), Array(records.reversed()), engine)
            XCTAssertEqual(try store.latestAuditRecords(since: Int64.min, limit: 2), [records[4], records[3]], "\(engine): the newest two")
            XCTAssertEqual(try store.latestAuditRecords(since: 250, limit: 10), [records[4], records[3], records[2]], engine)
            XCTAssertEqual(try store.deleteAuditRecords(before: 300), 2, "\(engine): times 100 and 200")
            XCTAssertEqual(try store.auditRecords(limit: 10), Array(records[2...]), engine)
            XCTAssertEqual(try store.deleteAuditRecords(before: 300), 0, engine)
            // More than one batch of old rows.
            let old = auditDeleteBatch + 7
            try blockingWait {
                // Concurrently, so that SQLite's group commit batches them.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<old {
                        group.addTask {
                            try await store.record(AuditRecord(time: 10 + Int64(i % 50), event: "refuse", clientID: "", subject: "",
                                                               scopes: "", tokenID: "", outcome: "invalid_client"))
                        }
                    }
                    try await group.waitForAll()
                }
            }
            XCTAssertEqual(try store.deleteAuditRecords(before: 300), old, engine)
            XCTAssertEqual(try store.auditRecords(limit: 100_000), Array(records[2...]), "\(engine): the newer records stay")
        }
    }

    func testSigningKeyRecordsAreReplacedAsAWhole() throws {
        for (engine, store) in try stores() {
            XCTAssertEqual(try store.signingKeys(), [], engine)
            let first = [SigningKeyRecord(keyID: "b", path: "/keys/b.pem", role: .current, createdAt: 5),
                         SigningKeyRecord(keyID: "a", path: "/keys/a.pem", role: .next, createdAt: 5),
                         SigningKeyRecord(keyID: "Z", path: "/keys/Z.pem", role: .retired, createdAt: 1, retiredAt: 4)]
            try store.replaceSigningKeys(first)
            XCTAssertEqual(try store.signingKeys(), [first[2], first[1], first[0]], "\(engine): by creation time, then key id bytes")
            XCTAssertEqual(try store.signingKeys().map(\.keyID), ["Z", "a", "b"], engine)
            try store.replaceSigningKeys([first[1]])
            XCTAssertEqual(try store.signingKeys(), [first[1]], engine)
            // Two records with one key id: refused, and the records before stay.
            XCTAssertThrowsError(try store.replaceSigningKeys([first[0], first[0]]), engine)
            XCTAssertEqual(try store.signingKeys(), [first[1]], "\(engine): nothing half-written")
        }
    }

    /// PostgreSQL only: what opening a store that cannot be used says.
    func testAPostgresStoreMustBeReachableAuthenticatedAndMigrated() throws {
        let pg = try cluster()
        let unmigrated = pg.url(try pg.makeDatabase("tokraw"))
        XCTAssertThrowsError(try TokenStores.open(try StoreURL(parsing: unmigrated), passwordFile: try passwordFile())) {
            XCTAssertEqual(($0 as? StoreError)?.code, "store.no-schema", "\($0)")
        }
        let wrong = directory.appendingPathComponent("wrong.pw").path
        try "not-the-password\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TokenStores.open(try StoreURL(parsing: unmigrated), passwordFile: wrong)) {
            XCTAssertEqual(($0 as? StoreError)?.code, "store.authentication-failed", "\($0)")
            XCTAssertFalse("\($0)".contains("not-the-password"))
        }
        XCTAssertThrowsError(try TokenStores.open(try StoreURL(parsing: "postgres://modelsec@127.0.0.1:1/x?sslmode=disable"),
                                                  passwordFile: try passwordFile())) {
            XCTAssertEqual(($0 as? StoreError)?.code, "store.unreachable", "\($0)")
        }
        // A ledger migrated by an older modelsec (version 4) must be migrated again first.
        let older = pg.url(try pg.makeDatabase("tokold"))
        _ = try LedgerStores.migrate(try StoreURL(parsing: older), passwordFile: try passwordFile())
        try pg.psql("UPDATE modelsec_schema SET version = 4", database: String(older.split(separator: "/").last!.split(separator: "?").first!))
        XCTAssertThrowsError(try TokenStores.open(try StoreURL(parsing: older), passwordFile: try passwordFile())) {
            XCTAssertEqual(($0 as? StoreError)?.code, "store.older-schema", "\($0)")
        }
    }

    /// SQLite only: a version 4 file (ids as text) keeps its revocations and
    /// replay cache when version 5 converts them to bytes.
    func testAVersionFourStateFileKeepsItsRevocationsAndReplayCache() throws {
        let path = directory.appendingPathComponent("v4.sqlite").path
        let script = """
            CREATE TABLE clients(id TEXT PRIMARY KEY NOT NULL, method TEXT NOT NULL, secret_hash TEXT NOT NULL, scopes TEXT NOT NULL, max_ttl INTEGER, created INTEGER NOT NULL);
            CREATE TABLE used_assertions(client_id TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY(client_id, jti));
            CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, event TEXT NOT NULL, client_id TEXT NOT NULL, subject TEXT NOT NULL, scopes TEXT NOT NULL, jti TEXT NOT NULL, outcome TEXT NOT NULL, request_id TEXT NOT NULL DEFAULT '');
            CREATE INDEX audit_time ON audit(time);
            CREATE TABLE revoked_tokens(jti TEXT PRIMARY KEY NOT NULL, client_id TEXT NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL);
            CREATE TABLE signing_keys(kid TEXT PRIMARY KEY NOT NULL, path TEXT NOT NULL, role TEXT NOT NULL, created_at INTEGER NOT NULL, retired_at INTEGER);
            INSERT INTO revoked_tokens VALUES ('revoked-\u{E9}', 'c', 9999999999, 1);
            INSERT INTO used_assertions VALUES ('c', 'used-1', 9999999999);
            PRAGMA user_version = 4;
            """
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c",
                                                     "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.executescript(sys.argv[2]); db.commit()",
                                                     path, script])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let store = try SQLiteTokenStore(path: path)
        XCTAssertTrue(try store.isRevoked(tokenID: "revoked-\u{E9}"), "a revocation made before the upgrade still counts")
        XCTAssertFalse(try store.isRevoked(tokenID: "revoked-e\u{301}"))
        XCTAssertFalse(try store.consumeAssertion(clientID: "c", tokenID: "used-1", expiresAt: 9_999_999_999, now: 1), "still a replay")
        XCTAssertTrue(try store.consumeAssertion(clientID: "c", tokenID: "used-2", expiresAt: 9_999_999_999, now: 1))
    }

    /// SQLite only: concurrent writes are group-committed (fewer transactions
    /// than writes), each caller gets its own outcome (a refused write is
    /// rolled back alone), and every answered write is in the file.
    func testConcurrentSQLiteWritesShareTransactionsAndKeepTheirOwnOutcomes() async throws {
        let path = directory.appendingPathComponent("group.sqlite").path
        let store = try SQLiteTokenStore(path: path)
        let client = try secretClient("dup")
        let outcomes = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for i in 0..<200 {
                group.addTask { ("jti", try await store.consumeAssertion(clientID: "c", tokenID: "j\(i)", expiresAt: 1000, now: 1)) }
                group.addTask {
                    try await store.record(AuditRecord(time: 5, event: "issue", clientID: "c", subject: "c", scopes: "", tokenID: "j\(i)",
                                                       outcome: "ok"))
                    return ("audit", true)
                }
                if i % 20 == 0 {
                    group.addTask {
                        do { try await store.addClient(client, now: 1); return ("add", true) } catch TokenServiceError.clientExists {
                            return ("add", false)
                        }
                    }
                }
            }
            var all: [(String, Bool)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        XCTAssertEqual(outcomes.filter { $0.0 == "jti" && $0.1 }.count, 200)
        XCTAssertEqual(outcomes.filter { $0.0 == "add" && $0.1 }.count, 1, "one registration wins; the others are refused alone")
        XCTAssertEqual(outcomes.filter { $0.0 == "add" && !$0.1 }.count, 9)
        let writes = 200 + 200 + 10
        XCTAssertLessThan(store.writeTransactions, writes, "concurrent writes share transactions")
        XCTAssertGreaterThan(store.writeTransactions, 0)
        // Everything answered is in the file, as another opener sees it.
        let reopened = try SQLiteTokenStore(path: path)
        for i in 0..<200 {
            let replayed = try await reopened.consumeAssertion(clientID: "c", tokenID: "j\(i)", expiresAt: 1000, now: 2)
            XCTAssertFalse(replayed, "j\(i)")
        }
        let audit = try await reopened.auditRecords(limit: 1000)
        XCTAssertEqual(audit.count, 200)
        let registered = try await reopened.client(id: "dup")
        XCTAssertNotNil(registered)
    }

    /// SQLite only: a privacy ledger file is never taken for a token state file.
    func testALedgerFileIsNotATokenStateFile() throws {
        let path = directory.appendingPathComponent("ledger.db").path
        let r = try TestSupport.modelsec(["store", "migrate", "--store", "sqlite:" + path])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertThrowsError(try SQLiteTokenStore(path: path)) {
            XCTAssertTrue("\($0)".contains("privacy ledger"), "\($0)")
        }
    }
}

/// A counter for concurrent closures.
final class LockedCounter: @unchecked Sendable { // `count` is only touched with `lock` held
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
