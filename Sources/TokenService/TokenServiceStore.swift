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
/// tokens and the audit trail. SQLite (``SQLiteTokenStore``) by
/// default; a shared database can stand behind the same protocol so that
/// several replicas serve one issuer.
public protocol TokenServiceStore: Sendable {
    /// The registered client `id` (exact bytes), or nil.
    func client(id: String) throws -> RegisteredClient?
    /// Registers a secret client; throws ``TokenServiceError/clientExists(name:)`` for a taken id.
    func addClient(_ client: RegisteredClient, now: Int64) throws
    /// Records that `clientID` used the assertion `tokenID`, valid until
    /// `expiresAt`. Returns false when it was already used (a replay).
    /// Entries past their expiry are forgotten.
    func consumeAssertion(clientID: String, tokenID: String, expiresAt: Int64, now: Int64) throws -> Bool
    /// Records that the access token `tokenID` (issued to `clientID`) is
    /// revoked; the entry may be forgotten after `expiresAt` (the token is
    /// invalid by then anyway). Revoking a revoked token changes nothing.
    func revoke(tokenID: String, clientID: String, expiresAt: Int64, now: Int64) throws
    /// True when the access token `tokenID` was revoked (exact bytes).
    func isRevoked(tokenID: String) throws -> Bool
    /// Appends an audit record.
    func record(_ event: AuditRecord) throws
    /// The audit records, oldest first (at most `limit`).
    func auditRecords(limit: Int) throws -> [AuditRecord]
    /// The audit records at or after `since` (seconds since the epoch), oldest first (at most `limit`).
    func auditRecords(since: Int64, limit: Int) throws -> [AuditRecord]
    /// The service's signing keys (empty until the first `serve rotate-key`).
    func signingKeys() throws -> [SigningKeyRecord]
    /// Replaces the recorded signing keys in one transaction.
    func replaceSigningKeys(_ records: [SigningKeyRecord]) throws
}
