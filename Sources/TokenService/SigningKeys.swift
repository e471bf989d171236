import AccessTokens
import Foundation
import ModelSecCrypto

/// One signing key of the service as the state store records it
/// (docs/token-service.md, "Key rotation"): its `kid`, the PKCS#8 PEM file
/// holding it, and its role.
public struct SigningKeyRecord: Sendable, Equatable {
    /// What the service does with a key.
    public enum Role: String, Sendable, CaseIterable {
        /// Signs every new token; published.
        case current
        /// Published ahead of its use, so that verifiers know it before the
        /// next rotation makes it current.
        case next
        /// No longer signs; published until every token it signed has expired.
        case retired
    }

    /// The key id (`kid`): the SHA-256 of the public key's SPKI PEM, in hex.
    public var keyID: String
    /// The private key file (absolute path).
    public var path: String
    /// The key's role.
    public var role: Role
    /// When the record was made (seconds since the epoch).
    public var createdAt: Int64
    /// For a retired key: when it stopped signing.
    public var retiredAt: Int64?

    /// A record; see the properties.
    public init(keyID: String, path: String, role: Role, createdAt: Int64, retiredAt: Int64? = nil) {
        self.keyID = keyID
        self.path = path
        self.role = role
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }
}

/// The rotation of the service's signing keys, as a pure function of the
/// recorded keys (``SigningKeyRecord``) so that it can be checked without files.
public enum SigningKeyRotation {
    /// A retired key stays published this long past `max_ttl` after its
    /// retirement: servers pick up a rotation within a second
    /// (``KeyRing/reloadInterval``) and verifiers accept a token up to their
    /// clock leeway (30 s for `token verify`) past its `exp`.
    public static let retirementGrace: Int64 = 60

    /// True while the retired key `record` may still have signed an unexpired token.
    public static func isPublished(_ record: SigningKeyRecord, maximumTTL: Int64, now: Int64) -> Bool {
        guard record.role == .retired else { return true }
        guard let retiredAt = record.retiredAt else { return false }
        return now < retiredAt + maximumTTL + retirementGrace
    }

    /// The outcome of ``rotate(_:initial:newNext:maximumTTL:now:)``.
    public struct Outcome: Sendable, Equatable {
        /// The records to store.
        public var records: [SigningKeyRecord]
        /// True when the next key became current; false when there was no
        /// next key yet (the first rotation only adds one).
        public var promoted: Bool
        /// Retired keys no longer published (their files may be deleted).
        public var purged: [SigningKeyRecord]
    }

    /// One rotation: the next key becomes current, the current one retired
    /// (at `now`), and `newNext` the next key. Without a next key (the store
    /// has no keys yet, or only a current one) nothing is promoted: `newNext`
    /// is added as the next key, so that it is published before it signs.
    /// `initial` is the configured `signing_key`, the current key when the
    /// store records none. Retired keys past ``isPublished(_:maximumTTL:now:)``
    /// are dropped.
    public static func rotate(_ records: [SigningKeyRecord], initial: SigningKeyRecord, newNext: SigningKeyRecord,
                              maximumTTL: Int64, now: Int64) throws -> Outcome {
        var keys = records.isEmpty ? [initial] : records
        guard keys.filter({ $0.role == .current }).count == 1, keys.filter({ $0.role == .next }).count <= 1 else {
            throw TokenServiceError.signingKeys(reason: "the store must record exactly one current key and at most one next key")
        }
        guard !keys.contains(where: { Array($0.keyID.utf8) == Array(newNext.keyID.utf8) }) else {
            throw TokenServiceError.signingKeys(reason: "the new key \(newNext.keyID) is already one of the service's keys")
        }
        var promoted = false
        if keys.contains(where: { $0.role == .next }) {
            promoted = true
            keys = keys.map { record in
                var changed = record
                switch record.role {
                case .current:
                    changed.role = .retired
                    changed.retiredAt = now
                case .next:
                    changed.role = .current
                case .retired:
                    break
                }
                return changed
            }
        }
        var next = newNext
        next.role = .next
        next.retiredAt = nil
        keys.append(next)
        let purged = keys.filter { !isPublished($0, maximumTTL: maximumTTL, now: now) }
        keys.removeAll { !isPublished($0, maximumTTL: maximumTTL, now: now) }
        return Outcome(records: keys, promoted: promoted, purged: purged)
    }
}

/// The keys one server signs and publishes with, re-read from the state store
/// at most once per ``reloadInterval`` so that `serve rotate-key` takes
/// effect without a restart. The current key, the JWK Set and the verifiers
/// for introspection always come from one snapshot: a server never signs with
/// a key its `/jwks.json` does not list.
public final class KeyRing: @unchecked Sendable { // `snapshot`, `records`, `checkedAt`, `reloading` are only touched with `lock` held
    /// What one request uses.
    public struct Snapshot: Sendable {
        /// Signs new tokens (the current key).
        public let issuer: AccessTokenIssuer
        /// The published keys: current, next, retired-but-unexpired.
        public let keys: [VerificationKey]
        /// `/jwks.json`.
        public let jwks: [UInt8]
    }

    /// How often the store is asked whether the keys changed.
    public static let reloadInterval: Double = 1

    private let lock = NSLock()
    private let store: (any TokenServiceStore)?
    private let initial: (any Signer)?
    private let loader: @Sendable (String) throws -> any Signer
    private let issuerName: String
    private let maximumTTL: TokenDuration
    private var records: [SigningKeyRecord]?
    /// The recorded keys a reload last failed on (reported once).
    private var reportedFailure: [SigningKeyRecord]?
    private var snapshot: Snapshot
    private var checkedAt: Double
    /// True while one caller re-reads the store.
    private var reloading = false

    /// A ring that never changes: `issuer` signs, `keys` are published.
    public init(fixed issuer: AccessTokenIssuer, keys: [VerificationKey]) throws {
        store = nil
        initial = nil
        loader = { path in throw TokenServiceError.signingKeys(reason: "\(path): a fixed key ring loads no files") }
        issuerName = issuer.issuer
        maximumTTL = issuer.maximumLifetime
        snapshot = Snapshot(issuer: issuer, keys: keys, jwks: Array(try JSONWebKeySet.document(for: keys).utf8))
        checkedAt = .infinity
    }

    /// A ring following the keys `store` records; `initial` (the configured
    /// `signing_key`) signs alone while the store records none (it may be
    /// nil when the store records keys). `loader` reads a recorded key file.
    public init(store: any TokenServiceStore, initial: (any Signer)?, issuer: String, maximumTTL: TokenDuration,
                now: Date = Date(), loader: @escaping @Sendable (String) throws -> any Signer) async throws {
        self.store = store
        self.initial = initial
        self.loader = loader
        issuerName = issuer
        self.maximumTTL = maximumTTL
        let recorded = try await store.signingKeys()
        snapshot = try Self.load(recorded, initial: initial, loader: loader, issuer: issuer, maximumTTL: maximumTTL,
                                 now: Int64(now.timeIntervalSince1970))
        records = recorded
        checkedAt = now.timeIntervalSince1970
    }

    /// The keys to use at `now`, re-read from the store when
    /// ``reloadInterval`` has passed (one request re-reads while the others
    /// go on with the keys in use; the lock is never held across the
    /// store's await). A store or key file that fails on a reload leaves
    /// the previous keys in use.
    public func current(now: Date = Date()) async -> Snapshot {
        let clock = now.timeIntervalSince1970
        let (due, inUse): (Bool, Snapshot) = lock.withLock {
            guard store != nil, !reloading, clock - checkedAt >= Self.reloadInterval || clock < checkedAt else { return (false, snapshot) }
            checkedAt = clock
            reloading = true
            return (true, snapshot)
        }
        guard due, let store else { return inUse }
        let recorded = try? await store.signingKeys()
        return lock.withLock { () -> Snapshot in
            reloading = false
            guard let recorded else { return snapshot }
            let seconds = Int64(clock.rounded(.down))
            // Reload when the records changed or a retired key's publication ended.
            let visible = recorded.filter { SigningKeyRotation.isPublished($0, maximumTTL: maximumTTL.seconds, now: seconds) }
            if recorded != records || (!recorded.isEmpty && visible.count != snapshot.keys.count) {
                do {
                    snapshot = try Self.load(recorded, initial: initial, loader: loader, issuer: issuerName,
                                             maximumTTL: maximumTTL, now: seconds)
                    records = recorded
                } catch {
                    // Keep serving with the keys in use, but never silently (once
                    // per recorded state): a rotation the service cannot follow
                    // is the operator's to fix.
                    if reportedFailure != recorded {
                        reportedFailure = recorded
                        FileHandle.standardError.write(Data("modelsec serve: error: the recorded signing keys cannot be loaded, so the keys loaded before stay in use: \(error)\n".utf8))
                    }
                }
            }
            return snapshot
        }
    }

    static func load(_ recorded: [SigningKeyRecord], initial: (any Signer)?, loader: (String) throws -> any Signer,
                     issuer: String, maximumTTL: TokenDuration, now: Int64) throws -> Snapshot {
        guard !recorded.isEmpty else {
            guard let initial else { throw TokenServiceError.signingKeys(reason: "the store records no signing key") }
            return try makeSnapshot(current: initial, others: [], issuer: issuer, maximumTTL: maximumTTL)
        }
        let currents = recorded.filter { $0.role == .current }
        guard currents.count == 1, let current = currents.first else {
            throw TokenServiceError.signingKeys(reason: "the store must record exactly one current key")
        }
        func signer(_ record: SigningKeyRecord) throws -> any Signer {
            let key = try loader(record.path)
            guard Array(key.publicKey.keyID.utf8) == Array(record.keyID.utf8) else {
                throw TokenServiceError.signingKeys(reason: "\(record.path) does not hold the key \(record.keyID)")
            }
            return key
        }
        let others = try recorded.filter {
            $0.role != .current && SigningKeyRotation.isPublished($0, maximumTTL: maximumTTL.seconds, now: now)
        }.sorted { ($0.role == .next ? 0 : 1, -($0.retiredAt ?? 0)) < ($1.role == .next ? 0 : 1, -($1.retiredAt ?? 0)) }
         .map { try VerificationKey(try signer($0).publicKey) }
        return try makeSnapshot(current: try signer(current), others: others, issuer: issuer, maximumTTL: maximumTTL)
    }

    static func makeSnapshot(current: any Signer, others: [VerificationKey], issuer: String,
                             maximumTTL: TokenDuration) throws -> Snapshot {
        let signer = try AccessTokenIssuer(signingKey: current, issuer: issuer, maximumLifetime: maximumTTL)
        let keys = [try VerificationKey(current.publicKey, keyID: signer.keyID)] + others
        return Snapshot(issuer: signer, keys: keys, jwks: Array(try JSONWebKeySet.document(for: keys).utf8))
    }
}
