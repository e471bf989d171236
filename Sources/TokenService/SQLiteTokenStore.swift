import AccessTokens
import Foundation
import GRDB

/// ``TokenServiceStore`` in one SQLite file (GRDB). Text columns compare with
/// SQLite's BINARY collation: exact bytes.
///
/// The file is in write-ahead-log mode (`PRAGMA journal_mode = WAL`, with
/// its `-wal` and `-shm` files beside it) and `synchronous = FULL`.
///
/// Every operation runs off Swift's cooperative pool and the caller
/// suspends until it is done: reads on GRDB's own serial queue (its async
/// `read`), writes group-committed (``SQLiteGroupCommit``: the writes of
/// concurrent requests share one transaction and one fsync, each caller
/// answered once its transaction is durable).
///
/// Schema (version 5, `PRAGMA user_version`; an older file gains the tables
/// it lacks when opened). The versions of this file count the token
/// service's tables only (a privacy ledger is another file with its own
/// tables; docs/store.md, "Schema versions"); version 5 is the same tables
/// and indexes as PostgreSQL schema version 5's `tok_*` tables:
/// - `clients(id TEXT PRIMARY KEY, method TEXT, secret_hash TEXT, scopes TEXT, max_ttl INTEGER NULL, created INTEGER)`
/// - `used_assertions(client_id TEXT, jti TEXT, expires_at INTEGER, PRIMARY KEY(client_id, jti))`
/// - `audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time, event, client_id, subject, scopes, jti, outcome)`
/// - `revoked_tokens(jti TEXT PRIMARY KEY, client_id TEXT, expires_at INTEGER, revoked_at INTEGER)` (version 2)
/// - `signing_keys(kid TEXT PRIMARY KEY, path TEXT, role TEXT, created_at INTEGER, retired_at INTEGER NULL)` (version 3)
/// - `audit.request_id TEXT` and the index `audit_time(time)` (version 4)
/// - version 5: the indexes `used_assertions_expiry(expires_at)` and
///   `revoked_tokens_expiry(expires_at)` (the expiry sweeps that run with
///   every write no longer scan the tables), and the `client_id` and `jti`
///   of `used_assertions` and `revoked_tokens` held as BLOBs of their UTF-8
///   bytes (rows of older versions converted): a `jti` comes from a request
///   and may hold U+0000, where SQLite's text binding would cut it, so
///   `a<NUL>b` and `a` were one id
public final class SQLiteTokenStore: TokenServiceStore {
    /// The schema version this code writes.
    public static let schemaVersion = 5

    private let queue: DatabaseQueue
    private let file: String
    private let writes: SQLiteGroupCommit

    /// Opens (creating if needed) the store at `path`.
    public init(path: String) throws {
        file = path
        // The state holds client secret hashes, the audit trail and revoked
        // token ids: a new file is made 0600 whatever the umask (SQLite gives
        // its -wal and -shm files the database file's mode).
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        var config = Configuration()
        config.busyMode = .timeout(10)
        // Every commit is durable before a request is answered, whatever this
        // SQLite build's default (some use NORMAL with WAL).
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            // Write-ahead logging: a commit appends to the -wal file (one
            // fsync) instead of rewriting a rollback journal (several), with
            // the same durability (synchronous is FULL, set above); readers such as
            // `serve audit` do not block the running service.
            try queue.writeWithoutTransaction { db in
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            }
            try queue.write { db in
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                // A privacy ledger file (its own tables and version numbers)
                // must not be taken for a token service state file.
                if try db.tableExists("spends") || db.tableExists("datasets") {
                    throw TokenServiceError.store(file: path, reason: "this is a privacy ledger file, not a token service state file")
                }
                guard version <= Self.schemaVersion else {
                    throw TokenServiceError.store(file: path, reason: "schema version \(version) is newer than this modelsec (\(Self.schemaVersion))")
                }
                if version == 0 {
                    try db.execute(sql: """
                        CREATE TABLE clients(id TEXT PRIMARY KEY NOT NULL, method TEXT NOT NULL, secret_hash TEXT NOT NULL,
                                             scopes TEXT NOT NULL, max_ttl INTEGER, created INTEGER NOT NULL);
                        CREATE TABLE used_assertions(client_id TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL,
                                                     PRIMARY KEY(client_id, jti));
                        CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, event TEXT NOT NULL,
                                           client_id TEXT NOT NULL, subject TEXT NOT NULL, scopes TEXT NOT NULL,
                                           jti TEXT NOT NULL, outcome TEXT NOT NULL);
                        PRAGMA user_version = 1;
                        """)
                }
                if version <= 1 {
                    try db.execute(sql: """
                        CREATE TABLE revoked_tokens(jti TEXT PRIMARY KEY NOT NULL, client_id TEXT NOT NULL,
                                                    expires_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL);
                        PRAGMA user_version = 2;
                        """)
                }
                if version <= 2 {
                    try db.execute(sql: """
                        CREATE TABLE signing_keys(kid TEXT PRIMARY KEY NOT NULL, path TEXT NOT NULL,
                                                  role TEXT NOT NULL CHECK(role IN ('current', 'next', 'retired')),
                                                  created_at INTEGER NOT NULL, retired_at INTEGER);
                        PRAGMA user_version = 3;
                        """)
                }
                if version <= 3 {
                    try db.execute(sql: """
                        ALTER TABLE audit ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
                        CREATE INDEX audit_time ON audit(time);
                        PRAGMA user_version = 4;
                        """)
                }
                if version <= 4 {
                    try db.execute(sql: """
                        CREATE INDEX used_assertions_expiry ON used_assertions(expires_at);
                        CREATE INDEX revoked_tokens_expiry ON revoked_tokens(expires_at);
                        UPDATE used_assertions SET client_id = CAST(client_id AS BLOB), jti = CAST(jti AS BLOB);
                        UPDATE revoked_tokens SET client_id = CAST(client_id AS BLOB), jti = CAST(jti AS BLOB);
                        PRAGMA user_version = 5;
                        """)
                }
            }
        } catch let error as TokenServiceError {
            throw error
        } catch {
            throw TokenServiceError.store(file: path, reason: "\(error)")
        }
        writes = SQLiteGroupCommit(database: queue)
    }

    private func wrap<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as TokenServiceError { throw error } catch {
            throw TokenServiceError.store(file: file, reason: "\(error)")
        }
    }

    /// How many write transactions this store has run: with concurrent
    /// writers, fewer than the writes (group commit; for tests and tuning).
    public var writeTransactions: Int { writes.transactions }

    /// A request-derived id as its exact UTF-8 bytes (a BLOB: SQLite's text binding stops at U+0000).
    static func blob(_ text: String) -> Data { Data(text.utf8) }

    public func client(id: String) async throws -> RegisteredClient? {
        try await wrap {
            try await queue.read { [file] db -> RegisteredClient? in
                guard let row = try Row.fetchOne(db, sql: "SELECT method, secret_hash, scopes, max_ttl FROM clients WHERE id = ?",
                                                 arguments: [id]) else { return nil }
                return try StoredClient.client(id: id, row: StoredClient.Row(method: row["method"], secretHash: row["secret_hash"],
                                                                             scopes: row["scopes"], maximumTTL: row["max_ttl"]),
                                               store: file)
            }
        }
    }

    public func addClient(_ client: RegisteredClient, now: Int64) async throws {
        let row = try StoredClient.row(client, store: file)
        try await wrap {
            try await writes.write { db in
                if try Int.fetchOne(db, sql: "SELECT 1 FROM clients WHERE id = ?", arguments: [client.id]) != nil {
                    throw TokenServiceError.clientExists(name: client.id)
                }
                try db.execute(sql: "INSERT INTO clients(id, method, secret_hash, scopes, max_ttl, created) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [client.id, row.method, row.secretHash, row.scopes, row.maximumTTL, now])
            }
        }
    }

    // The statements every token request runs: prepared once per
    // connection (GRDB's statement cache), not parsed per request.
    static let sweepAssertionsSQL = "DELETE FROM used_assertions WHERE expires_at < ?"
    static let insertAssertionSQL = "INSERT OR IGNORE INTO used_assertions(client_id, jti, expires_at) VALUES (?, ?, ?)"
    static let sweepRevocationsSQL = "DELETE FROM revoked_tokens WHERE expires_at < ?"
    static let insertAuditSQL = "INSERT INTO audit(time, event, client_id, subject, scopes, jti, outcome, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"

    /// Inserts `event` (in the caller's transaction).
    static func insert(_ event: AuditRecord, _ db: Database) throws {
        try db.cachedStatement(sql: insertAuditSQL).execute(arguments: [
            event.time, event.event, event.clientID, event.subject, event.scopes, event.tokenID, event.outcome, event.requestID,
        ])
    }

    /// Inserts the replay-cache row; false when it was there already (in the caller's transaction).
    static func insertAssertion(clientID: String, tokenID: String, expiresAt: Int64, _ db: Database) throws -> Bool {
        try db.cachedStatement(sql: insertAssertionSQL).execute(arguments: [blob(clientID), blob(tokenID), expiresAt])
        return db.changesCount == 1
    }

    // Expired replay-cache rows go in the sweep the batch runs once before
    // its writes (the latest cutoff of the batch), not once per write.
    public func consumeAssertion(clientID: String, tokenID: String, expiresAt: Int64, now: Int64) async throws -> Bool {
        try await wrap {
            try await writes.write(sweep: .init(sql: Self.sweepAssertionsSQL, cutoff: now - tokenStoreSweepMargin)) { db -> Bool in
                try Self.insertAssertion(clientID: clientID, tokenID: tokenID, expiresAt: expiresAt, db)
            }
        }
    }

    public func consumeAssertion(clientID: String, tokenID: String, expiresAt: Int64, now: Int64,
                                 recording event: AuditRecord) async throws -> Bool {
        try await wrap {
            try await writes.write(sweep: .init(sql: Self.sweepAssertionsSQL, cutoff: now - tokenStoreSweepMargin)) { db -> Bool in
                guard try Self.insertAssertion(clientID: clientID, tokenID: tokenID, expiresAt: expiresAt, db) else { return false }
                try Self.insert(event, db)
                return true
            }
        }
    }

    public func revoke(tokenID: String, clientID: String, expiresAt: Int64, now: Int64) async throws {
        try await wrap {
            try await writes.write(sweep: .init(sql: Self.sweepRevocationsSQL, cutoff: now - tokenStoreSweepMargin)) { db in
                try db.execute(sql: "INSERT OR IGNORE INTO revoked_tokens(jti, client_id, expires_at, revoked_at) VALUES (?, ?, ?, ?)",
                               arguments: [Self.blob(tokenID), Self.blob(clientID), expiresAt, now])
            }
        }
    }

    public func isRevoked(tokenID: String) async throws -> Bool {
        try await wrap {
            try await queue.read { db in
                try Int.fetchOne(db, sql: "SELECT 1 FROM revoked_tokens WHERE jti = ?", arguments: [Self.blob(tokenID)]) != nil
            }
        }
    }

    public func record(_ event: AuditRecord) async throws {
        try await wrap {
            try await writes.write { db in try Self.insert(event, db) }
        }
    }

    public func auditRecords(since: Int64, limit: Int) async throws -> [AuditRecord] {
        try await wrap {
            try await queue.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT time, event, client_id, subject, scopes, jti, outcome, request_id FROM audit
                    WHERE time >= ? ORDER BY id LIMIT ?
                    """, arguments: [since, max(0, limit)]).map {
                    AuditRecord(time: $0["time"], event: $0["event"], clientID: $0["client_id"], subject: $0["subject"],
                                scopes: $0["scopes"], tokenID: $0["jti"], outcome: $0["outcome"], requestID: $0["request_id"])
                }
            }
        }
    }

    public func latestAuditRecords(since: Int64, limit: Int) async throws -> [AuditRecord] {
        try await wrap {
            try await queue.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT time, event, client_id, subject, scopes, jti, outcome, request_id FROM audit
                    WHERE time >= ? ORDER BY id DESC LIMIT ?
                    """, arguments: [since, max(0, limit)]).map {
                    AuditRecord(time: $0["time"], event: $0["event"], clientID: $0["client_id"], subject: $0["subject"],
                                scopes: $0["scopes"], tokenID: $0["jti"], outcome: $0["outcome"], requestID: $0["request_id"])
                }
            }
        }
    }

    public func deleteAuditRecords(before: Int64) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await wrap {
                try await writes.write { db -> Int in
                    try db.execute(sql: "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time < ? ORDER BY time LIMIT ?)",
                                   arguments: [before, auditDeleteBatch])
                    return db.changesCount
                }
            }
            total += deleted
            if deleted < auditDeleteBatch { return total }
        }
    }

    public func signingKeys() async throws -> [SigningKeyRecord] {
        try await wrap {
            try await queue.read { db in
                try Row.fetchAll(db, sql: "SELECT kid, path, role, created_at, retired_at FROM signing_keys ORDER BY created_at, kid")
                    .map { row in
                        let roleText: String = row["role"]
                        guard let role = SigningKeyRecord.Role(rawValue: roleText) else {
                            throw TokenServiceError.store(file: file, reason: "a signing key has the unknown role '\(roleText)'")
                        }
                        return SigningKeyRecord(keyID: row["kid"], path: row["path"], role: role, createdAt: row["created_at"],
                                                retiredAt: row["retired_at"])
                    }
            }
        }
    }

    public func replaceSigningKeys(_ records: [SigningKeyRecord]) async throws {
        try await wrap {
            try await writes.write { db in
                try db.execute(sql: "DELETE FROM signing_keys")
                for record in records {
                    try db.execute(sql: "INSERT INTO signing_keys(kid, path, role, created_at, retired_at) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [record.keyID, record.path, record.role.rawValue, record.createdAt, record.retiredAt])
                }
            }
        }
    }
}
