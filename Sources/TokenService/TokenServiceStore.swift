import AccessTokens
import Foundation

/// One audit record: an issue, a refusal, a revocation or an introspection.
public struct AuditRecord: Sendable, Equatable {
    /// Seconds since the epoch.
    public var time: Int64
    /// What happened: `issue`, `refuse`, ...
    public var event: String
    /// The client id (as claimed, for refusals), or empty.
    public var clientID: String
    /// The token subject, or empty.
    public var subject: String
    /// The granted or requested scopes, space-separated.
    public var scopes: String
    /// The issued token's `jti`, or empty.
    public var tokenID: String
    /// `ok`, or the OAuth error code of a refusal.
    public var outcome: String
    /// The HTTP request's id (`X-Request-Id`), or empty.
    public var requestID: String

    /// A record; see the properties.
    public init(time: Int64, event: String, clientID: String, subject: String, scopes: String, tokenID: String, outcome: String,
                requestID: String = "") {
        self.requestID = requestID
        self.time = time
        self.event = event
        self.clientID = clientID
        self.subject = subject
        self.scopes = scopes
        self.tokenID = tokenID
        self.outcome = outcome
    }
}

/// The token service's state: registered clients, the `jti` replay cache of
/// client assertions (and of single-use subject tokens), revoked access
/// tokens, the audit trail and the signing-key records. SQLite
/// (``SQLiteTokenStore``) by default; a shared PostgreSQL database
/// (`PostgresTokenStore` in ModelSecStorePostgres) stands behind the same
/// protocol so that several replicas serve one issuer.
///
/// Every method is async: the server calls them from its request handlers,
/// which run on Swift's cooperative thread pool (as many threads as cores),
/// and an implementation must never block one of those threads on I/O
/// (SQLite's fsync, a database round trip): it suspends instead.
/// Identifiers (client ids, `jti`s, key ids) are compared as exact bytes.
/// How long past its expiry, by the sweeping process's clock, a replay-cache
/// or revocation entry is kept (seconds). Replicas sweep with their own
/// clocks: without the margin, a replica whose clock ran ahead would delete
/// an entry while another replica still accepts the assertion or token it
/// guards, reopening a replay (or un-revoking a token) for the length of the
/// skew. Both engines sweep only entries older than this.
public let tokenStoreSweepMargin: Int64 = 300

/// The most audit rows one retention delete statement removes.
public let auditDeleteBatch = 10_000

public protocol TokenServiceStore: Sendable {
    /// The registered client `id` (exact bytes), or nil.
    func client(id: String) async throws -> RegisteredClient?
    /// Registers a secret client; throws ``TokenServiceError/clientExists(name:)`` for a taken id.
    func addClient(_ client: RegisteredClient, now: Int64) async throws
    /// Records that `clientID` used the assertion `tokenID`, valid until
    /// `expiresAt`. Returns false when it was already used (a replay), by
    /// this process or any other sharing the store. Entries past their
    /// expiry are forgotten.
    func consumeAssertion(clientID: String, tokenID: String, expiresAt: Int64, now: Int64) async throws -> Bool
    /// ``consumeAssertion(clientID:tokenID:expiresAt:now:)`` and, when the
    /// assertion was fresh, ``record(_:)`` of `recording`, in one durable
    /// transaction: both rows or neither, one commit. Returns false (and
    /// records nothing) for a replay.
    func consumeAssertion(clientID: String, tokenID: String, expiresAt: Int64, now: Int64, recording: AuditRecord) async throws -> Bool
    /// Records that the access token `tokenID` (issued to `clientID`) is
    /// revoked; the entry may be forgotten after `expiresAt` (the token is
    /// invalid by then anyway). Revoking a revoked token changes nothing.
    func revoke(tokenID: String, clientID: String, expiresAt: Int64, now: Int64) async throws
    /// True when the access token `tokenID` was revoked (exact bytes).
    func isRevoked(tokenID: String) async throws -> Bool
    /// Appends an audit record.
    func record(_ event: AuditRecord) async throws
    /// The audit records, oldest first (at most `limit`).
    func auditRecords(limit: Int) async throws -> [AuditRecord]
    /// The audit records at or after `since` (seconds since the epoch), oldest first (at most `limit`).
    func auditRecords(since: Int64, limit: Int) async throws -> [AuditRecord]
    /// The newest audit records at or after `since` (seconds since the
    /// epoch), newest first (in insertion order, reversed), at most `limit`.
    func latestAuditRecords(since: Int64, limit: Int) async throws -> [AuditRecord]
    /// Deletes the audit records older than `before` (seconds since the
    /// epoch), in batches of at most ``auditDeleteBatch`` rows per
    /// statement (so the writers wait little); returns how many.
    func deleteAuditRecords(before: Int64) async throws -> Int
    /// The service's signing keys (empty until the first `serve rotate-key`).
    func signingKeys() async throws -> [SigningKeyRecord]
    /// Replaces the recorded signing keys in one transaction.
    func replaceSigningKeys(_ records: [SigningKeyRecord]) async throws
}

extension TokenServiceStore {
    /// The replay check, then the audit record, in two transactions (for
    /// engines without a combined statement).
    public func consumeAssertion(clientID: String, tokenID: String, expiresAt: Int64, now: Int64,
                                 recording: AuditRecord) async throws -> Bool {
        guard try await consumeAssertion(clientID: clientID, tokenID: tokenID, expiresAt: expiresAt, now: now) else { return false }
        try? await record(recording)
        return true
    }

    /// The audit records, oldest first (at most `limit`).
    public func auditRecords(limit: Int) async throws -> [AuditRecord] {
        try await auditRecords(since: Int64.min, limit: limit)
    }
}

/// How every engine writes a stored (secret) client and reads it back, so
/// that both engines accept and refuse exactly the same rows.
public enum StoredClient {
    /// The columns of a client row: method, Argon2id hash (PHC text),
    /// space-separated scope patterns, maximum TTL in seconds.
    public struct Row: Sendable, Equatable {
        /// `client_secret_basic` or `client_secret_post`.
        public var method: String
        /// The encoded Argon2id hash.
        public var secretHash: String
        /// The scope patterns, separated by one space.
        public var scopes: String
        /// The client's own TTL cap in seconds, or nil.
        public var maximumTTL: Int64?

        /// A row; see the properties.
        public init(method: String, secretHash: String, scopes: String, maximumTTL: Int64?) {
            self.method = method
            self.secretHash = secretHash
            self.scopes = scopes
            self.maximumTTL = maximumTTL
        }
    }

    /// The row of `client`; throws `reason` text for a key client (those
    /// belong in the configuration).
    public static func row(_ client: RegisteredClient, store: String) throws -> Row {
        guard case let .secret(hash) = client.credential else {
            throw TokenServiceError.store(file: store, reason: "only secret clients are stored; key clients belong in the configuration")
        }
        return Row(method: client.method.rawValue, secretHash: hash.encoded,
                   scopes: client.scopes.map(\.description).joined(separator: " "), maximumTTL: client.maximumTTL?.seconds)
    }

    /// The client `id` from its row; an unreadable row is a store error naming `store`.
    public static func client(id: String, row: Row, store: String) throws -> RegisteredClient {
        guard let method = RegisteredClient.AuthMethod(rawValue: row.method), method != .privateKeyJWT,
              let hash = SecretHash(encoded: row.secretHash) else {
            throw TokenServiceError.store(file: store, reason: "client '\(id)' has an unreadable record")
        }
        let scopes: [ModelScope]
        do { scopes = try row.scopes.split(separator: " ").map { try ModelScope(parsing: String($0)) } } catch {
            throw TokenServiceError.store(file: store, reason: "client '\(id)' has an unreadable record")
        }
        return RegisteredClient(id: id, method: method, credential: .secret(hash), scopes: scopes,
                                maximumTTL: row.maximumTTL.map { TokenDuration(seconds: $0) })
    }
}
