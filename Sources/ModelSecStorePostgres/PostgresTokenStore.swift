import Foundation
import Logging
import ModelSecStore
import NIOCore
import NIOSSL
import PostgresNIO
import TokenService

extension PostgresSchema {
    /// Version 5: the token service's state (the tables of the SQLite token
    /// state file, version 5). Values that come from requests and are
    /// compared for replay or revocation (`jti`, the client id of the
    /// replay cache) are `bytea`: exact bytes, whatever they hold (a `text`
    /// column cannot hold U+0000, and a non-UTF-8 database would convert
    /// text); identifiers the service itself validates or creates (client
    /// ids, key ids) are `text COLLATE "C"`, whose equality and order are
    /// those of the bytes.
    static let version5: [String] = [
        """
        CREATE TABLE tok_clients (
            id TEXT COLLATE "C" PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
            method TEXT NOT NULL CHECK (method IN ('client_secret_basic', 'client_secret_post')),
            secret_hash TEXT NOT NULL,
            scopes TEXT NOT NULL,
            max_ttl BIGINT CHECK (max_ttl IS NULL OR max_ttl > 0),
            created BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE tok_used_assertions (
            client_id BYTEA NOT NULL,
            jti BYTEA NOT NULL,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (client_id, jti)
        )
        """,
        "CREATE INDEX tok_used_assertions_expiry ON tok_used_assertions(expires_at)",
        """
        CREATE TABLE tok_revoked_tokens (
            jti BYTEA PRIMARY KEY,
            client_id BYTEA NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX tok_revoked_tokens_expiry ON tok_revoked_tokens(expires_at)",
        """
        CREATE TABLE tok_audit (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            time BIGINT NOT NULL,
            event TEXT NOT NULL,
            client_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            scopes TEXT NOT NULL,
            jti TEXT NOT NULL,
            outcome TEXT NOT NULL,
            request_id TEXT NOT NULL DEFAULT ''
        )
        """,
        "CREATE INDEX tok_audit_time ON tok_audit(time)",
        """
        CREATE TABLE tok_signing_keys (
            kid TEXT COLLATE "C" PRIMARY KEY,
            path TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('current', 'next', 'retired')),
            created_at BIGINT NOT NULL,
            retired_at BIGINT
        )
        """,
    ]
}

/// ``TokenService/TokenServiceStore`` in a shared PostgreSQL store (schema
/// version 5, `tok_*` tables), so that several `modelsec serve` replicas
/// serve one issuer.
///
/// - Connections come from a small pool (postgres-nio's `PostgresClient`),
///   which reconnects after the server restarts; every call suspends, none
///   blocks a thread, and each gives up after `MODELSEC_STORE_TIMEOUT`
///   seconds (``ModelSecStore/StoreError/timedOut(store:seconds:)``).
/// - Nothing is cached: every client lookup, replay check and revocation
///   check is one statement on the shared tables, so a revocation or a used
///   assertion recorded through one replica counts at every other at once.
///   A replay check is one `INSERT … ON CONFLICT` (with the expiry sweep in
///   the same statement), atomic across replicas: of two replicas given the
///   same assertion, exactly one gets the row.
/// - All values are bound parameters.
public final class PostgresTokenStore: TokenServiceStore {
    let client: PostgresClient
    private let runner: Task<Void, Never>
    /// The redacted store URL (for messages).
    public let storeName: String

    private init(client: PostgresClient, runner: Task<Void, Never>, storeName: String) {
        self.client = client
        self.runner = runner
        self.storeName = storeName
    }

    deinit { runner.cancel() }

    /// Stops the pool (its connections close); later calls fail.
    public func close() { runner.cancel() }

    /// Connects to `location` (checking the credentials and that the store
    /// is at exactly the schema version this modelsec uses: `modelsec store
    /// migrate` first), then starts a pool of at most `connections`.
    public static func open(_ location: PostgresLocation, password: String?, connections: Int = 4) async throws -> PostgresTokenStore {
        let store = location.redacted
        do {
            // One direct connection first: a wrong password, a refused
            // connection or a missing schema is an error now, not a request
            // waiting on a pool that keeps retrying.
            let tls: PostgresConnection.Configuration.TLS
            do { tls = try PostgresSession.tlsMode(location) } catch let error as StoreError { throw error } catch {
                throw StoreError.tls(store: store, reason: "cannot set up TLS: \(type(of: error))")
            }
            var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                                 password: password, database: location.database, tls: tls)
            configuration.options.connectTimeout = .seconds(Int64(location.connectTimeout))
            configuration.options.requireBackendKeyData = false
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: PostgresSession.logger)
            do {
                try await PostgresSchema.requireCurrent(connection, store: store)
                let rows = try await connection.query("SELECT current_setting('server_encoding')", logger: PostgresSession.logger)
                var encoding = ""
                for try await value in rows.decode(String.self) { encoding = value }
                guard encoding == "UTF8" || encoding == "SQL_ASCII" else {
                    throw StoreError.schemaAltered(store: store, reason: "the database encoding is \(encoding); the token service needs UTF8")
                }
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        } catch {
            throw PostgresSession.map(error, store: store)
        }
        var pooled = PostgresClient.Configuration(host: location.host, port: location.port, username: location.user,
                                                  password: password, database: location.database, tls: try clientTLS(location))
        pooled.options.connectTimeout = .seconds(Int64(location.connectTimeout))
        pooled.options.maximumConnections = max(1, connections)
        pooled.options.minimumConnections = 1
        let client = PostgresClient(configuration: pooled, backgroundLogger: PostgresSession.logger)
        let runner = Task { await client.run() }
        return PostgresTokenStore(client: client, runner: runner, storeName: store)
    }

    /// The pool's TLS setting for the URL's `sslmode` (``PostgresSession/tlsSettings(_:)``).
    static func clientTLS(_ location: PostgresLocation) throws -> PostgresClient.Configuration.TLS {
        guard let settings = PostgresSession.tlsSettings(location) else { return .disable }
        return settings.required ? .require(settings.configuration) : .prefer(settings.configuration)
    }

    /// Runs `body` on a pooled connection within the operation timeout, mapping errors to store errors.
    func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = self.client, store = storeName
        let seconds = PostgresSession.operationTimeout
        do {
            return try await withThrowingTaskGroup(of: T.self) { group in
                group.addTask { try await client.withConnection { try await body($0) } }
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(seconds) * 1_000_000_000)
                    throw StoreError.timedOut(store: store, seconds: seconds)
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw StoreError.connectionLost(store: store) }
                return first
            }
        } catch {
            throw PostgresSession.map(error, store: store)
        }
    }

    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(bytes: Array(text.utf8)) }

    public func client(id: String) async throws -> RegisteredClient? {
        let store = storeName
        let row: StoredClient.Row? = try await run { c in
            let rows = try await c.query("SELECT method, secret_hash, scopes, max_ttl FROM tok_clients WHERE id = \(id)",
                                         logger: PostgresSession.logger)
            var found: StoredClient.Row?
            for try await (method, hash, scopes, ttl) in rows.decode((String, String, String, Int64?).self) {
                found = StoredClient.Row(method: method, secretHash: hash, scopes: scopes, maximumTTL: ttl)
            }
            return found
        }
        return try row.map { try StoredClient.client(id: id, row: $0, store: store) }
    }

    public func addClient(_ client: RegisteredClient, now: Int64) async throws {
        let row = try StoredClient.row(client, store: storeName)
        let id = client.id
        let inserted: Bool = try await run { c in
            let rows = try await c.query("""
                INSERT INTO tok_clients (id, method, secret_hash, scopes, max_ttl, created)
                VALUES (\(id), \(row.method), \(row.secretHash), \(row.scopes), \(row.maximumTTL), \(now))
                ON CONFLICT (id) DO NOTHING RETURNING 1
                """, logger: PostgresSession.logger)
            var count = 0
            for try await _ in rows.decode(Int32.self) { count += 1 }
            return count == 1
        }
        guard inserted else { throw TokenServiceError.clientExists(name: id) }
    }

    public func consumeAssertion(clientID: String, tokenID: String, expiresAt: Int64, now: Int64) async throws -> Bool {
        let client = Self.bytes(clientID), jti = Self.bytes(tokenID)
        let stale = now - tokenStoreSweepMargin
        // The sweep spares this key's own row: an expired entry for it is
        // renewed by the upsert instead (as SQLite deletes it, then inserts).
        return try await run { c in
            let rows = try await c.query("""
                WITH sweep AS (DELETE FROM tok_used_assertions WHERE expires_at < \(stale) AND NOT (client_id = \(client) AND jti = \(jti)))
                INSERT INTO tok_used_assertions (client_id, jti, expires_at) VALUES (\(client), \(jti), \(expiresAt))
                ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
                WHERE tok_used_assertions.expires_at < \(stale)
                RETURNING 1
                """, logger: PostgresSession.logger)
            var count = 0
            for try await _ in rows.decode(Int32.self) { count += 1 }
            return count == 1
        }
    }

    public func consumeAssertion(clientID: String, tokenID: String, expiresAt: Int64, now: Int64,
                                 recording event: AuditRecord) async throws -> Bool {
        let client = Self.bytes(clientID), jti = Self.bytes(tokenID)
        let stale = now - tokenStoreSweepMargin
        // One statement, so one transaction: the audit row is inserted once
        // per row the replay-cache insert returned (none for a replay).
        return try await run { c in
            let rows = try await c.query("""
                WITH sweep AS (DELETE FROM tok_used_assertions WHERE expires_at < \(stale) AND NOT (client_id = \(client) AND jti = \(jti))),
                fresh AS (
                    INSERT INTO tok_used_assertions (client_id, jti, expires_at) VALUES (\(client), \(jti), \(expiresAt))
                    ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
                    WHERE tok_used_assertions.expires_at < \(stale)
                    RETURNING 1),
                audited AS (
                    INSERT INTO tok_audit (time, event, client_id, subject, scopes, jti, outcome, request_id)
                    SELECT \(event.time), \(event.event), \(event.clientID), \(event.subject), \(event.scopes), \(event.tokenID),
                           \(event.outcome), \(event.requestID) FROM fresh)
                SELECT count(*) FROM fresh
                """, logger: PostgresSession.logger)
            var count: Int64 = 0
            for try await (n) in rows.decode(Int64.self) { count = n }
            return count == 1
        }
    }

    public func revoke(tokenID: String, clientID: String, expiresAt: Int64, now: Int64) async throws {
        let client = Self.bytes(clientID), jti = Self.bytes(tokenID)
        let stale = now - tokenStoreSweepMargin
        try await run { c in
            _ = try await c.query("""
                WITH sweep AS (DELETE FROM tok_revoked_tokens WHERE expires_at < \(stale) AND jti <> \(jti))
                INSERT INTO tok_revoked_tokens (jti, client_id, expires_at, revoked_at) VALUES (\(jti), \(client), \(expiresAt), \(now))
                ON CONFLICT (jti) DO UPDATE SET client_id = EXCLUDED.client_id, expires_at = EXCLUDED.expires_at,
                    revoked_at = EXCLUDED.revoked_at
                WHERE tok_revoked_tokens.expires_at < \(stale)
                """, logger: PostgresSession.logger)
        }
    }

    public func isRevoked(tokenID: String) async throws -> Bool {
        let jti = Self.bytes(tokenID)
        return try await run { c in
            let rows = try await c.query("SELECT 1 FROM tok_revoked_tokens WHERE jti = \(jti)", logger: PostgresSession.logger)
            var found = false
            for try await _ in rows.decode(Int32.self) { found = true }
            return found
        }
    }

    public func record(_ event: AuditRecord) async throws {
        try await run { c in
            _ = try await c.query("""
                INSERT INTO tok_audit (time, event, client_id, subject, scopes, jti, outcome, request_id)
                VALUES (\(event.time), \(event.event), \(event.clientID), \(event.subject), \(event.scopes), \(event.tokenID),
                        \(event.outcome), \(event.requestID))
                """, logger: PostgresSession.logger)
        }
    }

    public func auditRecords(since: Int64, limit: Int) async throws -> [AuditRecord] {
        try await auditRows(since: since, limit: limit, newestFirst: false)
    }

    public func latestAuditRecords(since: Int64, limit: Int) async throws -> [AuditRecord] {
        try await auditRows(since: since, limit: limit, newestFirst: true)
    }

    /// Audit rows from `since`, at most `limit`, oldest or newest first.
    private func auditRows(since: Int64, limit: Int, newestFirst: Bool) async throws -> [AuditRecord] {
        let count = Int64(max(0, limit))
        return try await run { c in
            let query: PostgresQuery = newestFirst
                ? "SELECT time, event, client_id, subject, scopes, jti, outcome, request_id FROM tok_audit WHERE time >= \(since) ORDER BY id DESC LIMIT \(count)"
                : "SELECT time, event, client_id, subject, scopes, jti, outcome, request_id FROM tok_audit WHERE time >= \(since) ORDER BY id LIMIT \(count)"
            let rows = try await c.query(query, logger: PostgresSession.logger)
            var result: [AuditRecord] = []
            for try await (time, event, client, subject, scopes, jti, outcome, request) in rows.decode(
                (Int64, String, String, String, String, String, String, String).self) {
                result.append(AuditRecord(time: time, event: event, clientID: client, subject: subject, scopes: scopes, tokenID: jti,
                                          outcome: outcome, requestID: request))
            }
            return result
        }
    }

    public func deleteAuditRecords(before: Int64) async throws -> Int {
        let batch = Int64(auditDeleteBatch)
        var total = 0
        while true {
            let deleted = try await run { c -> Int in
                let rows = try await c.query("""
                    WITH gone AS (DELETE FROM tok_audit WHERE id IN
                        (SELECT id FROM tok_audit WHERE time < \(before) ORDER BY time LIMIT \(batch)) RETURNING 1)
                    SELECT count(*) FROM gone
                    """, logger: PostgresSession.logger)
                var count: Int64 = 0
                for try await (n) in rows.decode(Int64.self) { count = n }
                return Int(count)
            }
            total += deleted
            if deleted < auditDeleteBatch { return total }
        }
    }

    public func signingKeys() async throws -> [SigningKeyRecord] {
        let store = storeName
        return try await run { c in
            let rows = try await c.query("SELECT kid, path, role, created_at, retired_at FROM tok_signing_keys ORDER BY created_at, kid",
                                         logger: PostgresSession.logger)
            var result: [SigningKeyRecord] = []
            for try await (kid, path, roleText, created, retired) in rows.decode((String, String, String, Int64, Int64?).self) {
                guard let role = SigningKeyRecord.Role(rawValue: roleText) else {
                    throw TokenServiceError.store(file: store, reason: "a signing key has the unknown role '\(roleText)'")
                }
                result.append(SigningKeyRecord(keyID: kid, path: path, role: role, createdAt: created, retiredAt: retired))
            }
            return result
        }
    }

    public func replaceSigningKeys(_ records: [SigningKeyRecord]) async throws {
        try await run { c in
            try await c.query("BEGIN", logger: PostgresSession.logger)
            do {
                // Two replacements never interleave: a second `rotate-key` waits here for this one's commit
                // (plain reads, the replicas' reloads, are not blocked by this lock mode).
                try await c.query("LOCK TABLE tok_signing_keys IN EXCLUSIVE MODE", logger: PostgresSession.logger)
                try await c.query("DELETE FROM tok_signing_keys", logger: PostgresSession.logger)
                for record in records {
                    try await c.query("""
                        INSERT INTO tok_signing_keys (kid, path, role, created_at, retired_at)
                        VALUES (\(record.keyID), \(record.path), \(record.role.rawValue), \(record.createdAt), \(record.retiredAt))
                        """, logger: PostgresSession.logger)
                }
                try await c.query("COMMIT", logger: PostgresSession.logger)
            } catch {
                _ = try? await c.query("ROLLBACK", logger: PostgresSession.logger)
                throw error
            }
        }
    }
}
