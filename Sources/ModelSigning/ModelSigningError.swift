import ModelSecIO

/// A signature file that cannot be used: unreadable, not JSON, not an OMS
/// v1.0 Sigstore bundle, or a payload that is not a model-signing statement.
/// Always exit code 2: the input is malformed, nothing was checked.
public struct SignatureFormatError: ModelSecError, Equatable {
    /// The signature file (or a label such as `<bundle>` when parsed from memory).
    public let path: String
    /// What is wrong with it.
    public let reason: String

    /// Describes a malformed signature.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var category: FailureCategory { .invalidInput }
    public var description: String { "\(path): \(reason)" }
}

/// A model that cannot be serialized: missing, unreadable, a special file, a
/// refused symbolic link, a name that is not UTF-8.
public struct ModelContentError: ModelSecError, Equatable {
    /// The file or directory involved.
    public let path: String
    /// What is wrong with it.
    public let reason: String
    /// Exit 2 when signing; a refused symlink found while verifying is a failed
    /// check (exit 1), because the model is not what was signed.
    public let category: FailureCategory

    /// Describes a model problem.
    public init(path: String, reason: String, category: FailureCategory = .invalidInput) {
        self.path = path
        self.reason = reason
        self.category = category
    }

    public var description: String { "\(path): \(reason)" }
}
