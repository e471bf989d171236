import AccessTokens
import Foundation
import GRDB

/// ``TokenServiceStore`` in one SQLite file (GRDB). Text columns compare with
/// SQLite's BINARY collation: exact bytes.
///
/// The file is in write-ahead-log mode (`PRAGMA journal_mode = WAL`, with
/// its `-wal` and `-shm` files beside it) and `synchronous = FULL`.
///
/// Schema (version 3, `PRAGMA user_version`; an older file gains the tables
/// it lacks when opened):
/// - `clients(id TEXT PRIMARY KEY, method TEXT, secret_hash TEXT, scopes TEXT, max_ttl INTEGER NULL, created INTEGER)`
/// - `used_assertions(client_id TEXT, jti TEXT, expires_at INTEGER, PRIMARY KEY(client_id, jti))`
/// - `audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time, event, client_id, subject, scopes, jti, outcome)`
/// - `revoked_tokens(jti TEXT PRIMARY KEY, client_id TEXT, expires_at INTEGER, revoked_at INTEGER)` (version 2)
/// - `signing_keys(kid TEXT PRIMARY KEY, path TEXT, role TEXT, created_at INTEGER, retired_at INTEGER NULL)` (version 3)
/// - `audit.request_id TEXT` and the index `audit_time(time)` (version 4)
public final class SQLiteTokenStore: TokenServiceStore {
    /// The schema version this code writes.
    public static let schemaVersion = 4

    private let queue: DatabaseQueue
    private let file: String

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
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            // Write-ahead logging: a commit appends to the -wal file (one
            // fsync) instead of rewriting a rollback journal (several), with
            // the same durability (synchronous stays FULL); readers such as
            // `serve audit` do not block the running service.
            try queue.writeWithoutTransaction { db in
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            }
            try queue.write { db in
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
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
            }
        } catch let error as TokenServiceError {
            throw error
        } catch {
            throw TokenServiceError.store(file: path, reason: "\(error)")
        }
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as TokenServiceError { throw error } catch {
            throw TokenServiceError.store(file: file, reason: "\(error)")
        }
    }

    public func client(id: String) throws -> RegisteredClient? {
        try wrap {
            try queue.read { db -> RegisteredClient? in
                guard let row = try Row.fetchOne(db, sql: "SELECT method, secret_hash, scopes, max_ttl FROM clients WHERE id = ?",
                                                 arguments: [id]) else { return nil }
                let methodText: String = row["method"]
                let hashText: String = row["secret_hash"]
                let scopesText: String = row["scopes"]
                let ttl: Int64? = row["max_ttl"]
                guard let method = RegisteredClient.AuthMethod(rawValue: methodText), method != .privateKeyJWT,
                      let hash = SecretHash(encoded: hashText) else {
                    throw TokenServiceError.store(file: file, reason: "client '\(id)' has an unreadable record")
                }
                let scopes = try scopesText.split(separator: " ").map { try ModelScope(parsing: String($0)) }
                return RegisteredClient(id: id, method: method, credential: .secret(hash), scopes: scopes,
                                        maximumTTL: ttl.map { TokenDuration(seconds: $0) })
            }
        }
    }

    public func addClient(_ client: RegisteredClient, now: Int64) throws {
        guard case let .secret(hash) = client.credential else {
            throw TokenServiceError.store(file: file, reason: "only secret clients are stored; key clients belong in the configuration")
        }
        try wrap {
            try queue.write { db in
                if try Int.fetchOne(db, sql: "SELECT 1 FROM clients WHERE id = ?", arguments: [client.id]) != nil {
                    throw TokenServiceError.clientExists(name: client.id)
                }
                try db.execute(sql: "INSERT INTO clients(id, method, secret_hash, scopes, max_ttl, created) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [client.id, client.method.rawValue, hash.encoded,
                                           client.scopes.map(\.description).joined(separator: " "),
                                           client.maximumTTL?.seconds, now])
            }
        }
    }

    public func consumeAssertion(clientID: String, tokenID: String, expiresAt: Int64, now: Int64) throws -> Bool {
        try wrap {
            try queue.write { db -> Bool in
                try db.execute(sql: "DELETE FROM used_assertions WHERE expires_at < ?", arguments: [now])
                try db.execute(sql: "INSERT OR IGNORE INTO used_assertions(client_id, jti, expires_at) VALUES (?, ?, ?)",
                               arguments: [clientID, tokenID, expiresAt])
                return db.changesCount == 1
            }
        }
    }

    public func revoke(tokenID: String, clientID: String, expiresAt: Int64, now: Int64) throws {
        try wrap {
            try queue.write { db in
                try db.execute(sql: "DELETE FROM revoked_tokens WHERE expires_at < ?", arguments: [now])
                try db.execute(sql: "INSERT OR IGNORE INTO revoked_tokens(jti, client_id, expires_at, revoked_at) VALUES (?, ?, ?, ?)",
                               arguments: [tokenID, clientID, expiresAt, now])
            }
        }
    }

    public func isRevoked(tokenID: String) throws -> Bool {
        try wrap {
            try queue.read { db in
                try Int.fetchOne(db, sql: "SELECT 1 FROM revoked_tokens WHERE jti = ?", arguments: [tokenID]) != nil
            }
        }
    }

    public func record(_ event: AuditRecord) throws {
        try wrap {
            try queue.write { db in
                try db.execute(sql: "INSERT INTO audit(time, event, client_id, subject, scopes, jti, outcome, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               arguments: [event.time, event.event, event.clientID, event.subject, event.scopes, event.tokenID, event.outcome,
                                           event.requestID])
            }
        }
    }

    public func auditRecords(limit: Int) throws -> [AuditRecord] {
        try auditRecords(since: Int64.min, limit: limit)
    }

    public func auditRecords(since: Int64, limit: Int) throws -> [AuditRecord] {
        try wrap {
            try queue.read { db in
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

    public func signingKeys() throws -> [SigningKeyRecord] {
        try wrap {
            try queue.read { db in
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

    public func replaceSigningKeys(_ records: [SigningKeyRecord]) throws {
        try wrap {
            try queue.write { db in
                try db.execute(sql: "DELETE FROM signing_keys")
                for record in records {
                    try db.execute(sql: "INSERT INTO signing_keys(kid, path, role, created_at, retired_at) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [record.keyID, record.path, record.role.rawValue, record.createdAt, record.retiredAt])
                }
            }
        }
    }
}
