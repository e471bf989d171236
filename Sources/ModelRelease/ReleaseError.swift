import ModelSecIO

/// A problem with the arguments or inputs of a release operation (exit code 2):
/// unreadable metadata, a bad name or version, an output that already exists.
public struct ReleaseInputError: ModelSecError, Equatable {
    /// The file or argument involved.
    public let path: String
    /// What is wrong, for a person.
    public let reason: String
    /// Stable machine-readable identifier (`release.…`).
    public let code: String

    /// An error about `path`.
    public init(path: String, reason: String, code: String = "release.invalid-input") {
        self.path = path
        self.reason = reason
        self.code = code
    }

    public var category: FailureCategory { .invalidInput }
    public var description: String { "\(path): \(reason)" }
}

/// A release that is not what it claims to be (exit code 1): a bad or
/// untrusted signature, an edited `release.json`, a tampered artifact.
public struct ReleaseVerificationError: ModelSecError, Equatable {
    /// The file involved.
    public let path: String
    /// What is wrong, for a person.
    public let reason: String
    /// Stable machine-readable identifier (`release.…`).
    public let code: String

    /// An error about `path`.
    public init(path: String, reason: String, code: String = "release.verification-failed") {
        self.path = path
        self.reason = reason
        self.code = code
    }

    public var category: FailureCategory { .verificationFailed }
    public var description: String { "\(path): \(reason)" }
}
