import ModelSecIO

/// Errors of the shared store. Each names the store by its redacted URL
/// (``StoreURL/redacted``) and never contains a password, a password file's
/// contents or a value stored in the database. All are unusable input (exit 2).
public enum StoreError: ModelSecError, Equatable {
    /// The store URL is malformed; the reason never repeats the offending value.
    case invalidURL(reason: String)
    /// A password was written into the URL (it would be visible in `ps` and logs).
    case passwordInURL
    /// A password file could not be used.
    case passwordFile(path: String, reason: String)
    /// The server could not be reached (refused, unresolvable, timed out).
    case unreachable(store: String, reason: String)
    /// The server refused the credentials.
    case authenticationFailed(store: String)
    /// The TLS handshake or the `sslmode` requirement failed.
    case tls(store: String, reason: String)
    /// The store has no modelsec schema (it was never migrated).
    case noSchema(store: String)
    /// The store was migrated by a newer modelsec.
    case newerSchema(store: String, found: Int, supported: Int)
    /// The store has an older schema that must be migrated first.
    case olderSchema(store: String, found: Int, current: Int)
    /// The store's schema is not what this version creates.
    case schemaAltered(store: String, reason: String)
    /// The connection was lost; the transaction in progress was not committed
    /// (or, if the loss came during COMMIT, its outcome is unknown: retry with
    /// the same request id).
    case connectionLost(store: String)
    /// An operation got no answer within `seconds` (the server or the network
    /// stopped responding, or a lock was held that long); the transaction was
    /// abandoned: rolled back, or (if COMMIT was already sent) its outcome is
    /// unknown: retry with the same request id.
    case timedOut(store: String, seconds: Int)
    /// The database is out of disk space; nothing was written.
    case diskFull(store: String)
    /// The database refused a statement (SQLSTATE and the server's message;
    /// no bound value is ever part of it).
    case database(store: String, sqlState: String, message: String)
    /// Serialization failures or deadlocks persisted past the retry limit.
    case contention(store: String, attempts: Int)
    /// `store copy` needs an empty destination.
    case copyTargetNotEmpty(store: String)

    /// Every store error is unusable input (exit 2).
    public var category: FailureCategory { .invalidInput }

    /// Stable machine-readable identifier of each case.
    public var code: String {
        switch self {
        case .invalidURL: return "store.invalid-url"
        case .passwordInURL: return "store.password-in-url"
        case .passwordFile: return "store.password-file"
        case .unreachable: return "store.unreachable"
        case .authenticationFailed: return "store.authentication-failed"
        case .tls: return "store.tls-failed"
        case .noSchema: return "store.no-schema"
        case .newerSchema: return "store.newer-schema"
        case .olderSchema: return "store.older-schema"
        case .schemaAltered: return "store.schema-altered"
        case .connectionLost: return "store.connection-lost"
        case .timedOut: return "store.timeout"
        case .diskFull: return "store.disk-full"
        case .database: return "store.database-error"
        case .contention: return "store.contention"
        case .copyTargetNotEmpty: return "store.copy-target-not-empty"
        }
    }

    /// The password file, for password-file errors.
    public var path: String? {
        if case .passwordFile(let path, _) = self { return path }
        return nil
    }

    /// One line naming the store and the problem.
    public var description: String {
        switch self {
        case .invalidURL(let reason): return "store URL refused: \(reason)"
        case .passwordInURL: return "store URL refused: it contains a password; give the password in a password file or PGPASSWORD/PGPASSFILE instead"
        case .passwordFile(let path, let reason): return "\(path): \(reason)"
        case .unreachable(let store, let reason): return "\(store): cannot connect: \(reason)"
        case .authenticationFailed(let store): return "\(store): the server refused the credentials (wrong user or password)"
        case .tls(let store, let reason): return "\(store): TLS failed: \(reason)"
        case .noSchema(let store): return "\(store): no modelsec schema in this store (it has not been migrated)"
        case .newerSchema(let store, let found, let supported):
            return "\(store): schema version \(found) was written by a newer modelsec; this modelsec knows versions up to \(supported)"
        case .olderSchema(let store, let found, let current):
            return "\(store): schema version \(found) must be migrated to version \(current) before use"
        case .schemaAltered(let store, let reason): return "\(store): schema refused: \(reason)"
        case .connectionLost(let store):
            return "\(store): the connection was lost; the transaction in progress was rolled back or its outcome is unknown (retry with the same request id)"
        case .timedOut(let store, let seconds):
            return "\(store): no answer within \(seconds) s (MODELSEC_STORE_TIMEOUT); the transaction was abandoned: rolled back, or its outcome is unknown (retry with the same request id)"
        case .diskFull(let store): return "\(store): the database is out of disk space; nothing was written"
        case .database(let store, let sqlState, let message): return "\(store): the database refused the statement (SQLSTATE \(sqlState)): \(message)"
        case .contention(let store, let attempts): return "\(store): still conflicting with concurrent transactions after \(attempts) attempts"
        case .copyTargetNotEmpty(let store): return "\(store): the destination already holds privacy ledger data; copy needs an empty store"
        }
    }
}
