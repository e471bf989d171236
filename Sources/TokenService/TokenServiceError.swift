import ModelSecIO

/// Why the token service could not start or a management command failed:
/// an unusable configuration, key or state store. (Refusals of OAuth requests
/// are not errors of this kind: they are ``OAuthError`` answers.)
public enum TokenServiceError: ModelSecError, Equatable {
    /// The configuration file breaks a rule; `line` is 1-based, 0 when unknown.
    case invalidConfig(file: String, line: Int, reason: String)
    /// A file the configuration names could not be read or used.
    case unusableFile(file: String, reason: String)
    /// The state store could not be opened or used (an SQLite file), or holds an unreadable row (either engine).
    case store(file: String, reason: String)
    /// A client name is already registered.
    case clientExists(name: String)
    /// The server could not be started (address in use, TLS setup).
    case serverStart(reason: String)
    /// The signing keys the state store records are unusable (not exactly one
    /// current key, a key file that does not hold the recorded key), or a
    /// rotation could not be done.
    case signingKeys(reason: String)

    public var category: FailureCategory { .invalidInput }

    public var code: String {
        switch self {
        case .invalidConfig: return "serve.invalid-config"
        case .unusableFile: return "serve.unusable-file"
        case .store: return "serve.store-failed"
        case .clientExists: return "serve.client-exists"
        case .serverStart: return "serve.start-failed"
        case .signingKeys: return "serve.signing-keys"
        }
    }

    public var path: String? {
        switch self {
        case .invalidConfig(let file, _, _), .unusableFile(let file, _), .store(let file, _): return file
        case .clientExists, .serverStart, .signingKeys: return nil
        }
    }

    public var description: String {
        switch self {
        case .invalidConfig(let file, let line, let reason):
            return line > 0 ? "\(file): line \(line): \(reason)" : "\(file): \(reason)"
        case .unusableFile(let file, let reason): return "\(file): \(reason)"
        case .store(let file, let reason): return "\(file): state store: \(reason)"
        case .clientExists(let name): return "a client named '\(name)' is already registered"
        case .serverStart(let reason): return "the token service could not start: \(reason)"
        case .signingKeys(let reason): return "signing keys: \(reason)"
        }
    }
}
