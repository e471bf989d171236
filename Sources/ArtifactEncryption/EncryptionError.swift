import ModelSecIO

/// Why encryption or decryption failed. Messages never contain key material,
/// passphrases or plaintext.
public struct EncryptionError: ModelSecError, Equatable {
    /// What kind of failure this is.
    public enum Kind: Sendable, Equatable {
        /// The input is not a well-formed encrypted file (bad magic, unknown
        /// version, out-of-range parameters, wrong stanza size). Exit code 2.
        case malformed
        /// Authentication failed: tampered, truncated or extended data, or a
        /// header MAC mismatch. Exit code 1.
        case authenticationFailed
        /// None of the given identities can open the file (wrong key or
        /// passphrase). Exit code 1.
        case noMatchingIdentity
        /// The caller asked for something unsupported (bad recipients, bad
        /// parameters). Exit code 2.
        case invalidRequest
    }

    /// The kind of failure.
    public let kind: Kind
    /// The file involved, when known ("-" for standard streams).
    public var path: String?
    /// What went wrong, for a person.
    public let reason: String

    /// A failure of `kind` described by `reason`.
    public init(_ kind: Kind, _ reason: String, path: String? = nil) {
        self.kind = kind
        self.reason = reason
        self.path = path
    }

    /// This error, naming `path` (unless it already names a file).
    public func at(_ path: String) -> EncryptionError {
        var copy = self
        if copy.path == nil { copy.path = path == "-" ? "<stdin>" : path }
        return copy
    }

    public var category: FailureCategory {
        switch kind {
        case .malformed, .invalidRequest: return .invalidInput
        case .authenticationFailed, .noMatchingIdentity: return .verificationFailed
        }
    }

    public var description: String {
        if let path { return "\(path): \(reason)" }
        return reason
    }

    static func malformed(_ reason: String) -> EncryptionError { EncryptionError(.malformed, reason) }
    static func authentication(_ reason: String) -> EncryptionError { EncryptionError(.authenticationFailed, reason) }
}
