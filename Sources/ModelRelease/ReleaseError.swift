import ModelSecIO

/// A problem with the arguments or inputs of a release operation (exit code 2):
/// unreadable metadata, a bad name or version, an output that already exists.
public struct ReleaseInputError: FileReasonError, Equatable {
    /// Which kind of input problem this is (it picks the code).
    public enum Kind: Sendable, Equatable {
        /// Any unusable input; the reason says what.
        case invalidInput
        /// A passphrase recipient, which releases do not support.
        case passphraseRecipient
        /// A `--metadata` model card that does not match its schema (docs/evidence.md).
        case modelCardInvalid
        /// A `--provenance` file that does not match its schema (docs/evidence.md).
        case provenanceInvalid
    }

    /// The file or argument involved.
    public let file: String
    /// What is wrong, for a person.
    public let reason: String
    /// Which kind of problem.
    public let kind: Kind

    /// An error about `path`.
    public init(path: String, reason: String, kind: Kind = .invalidInput) {
        self.file = path
        self.reason = reason
        self.kind = kind
    }

    public var category: FailureCategory { .invalidInput }

    /// `release.…`, one per kind.
    public var code: String {
        switch kind {
        case .invalidInput: return "release.invalid-input"
        case .passphraseRecipient: return "release.passphrase-recipient"
        case .modelCardInvalid: return "release.model-card-invalid"
        case .provenanceInvalid: return "release.provenance-invalid"
        }
    }
}

/// A release that is not what it claims to be (exit code 1): a bad or
/// untrusted signature, an edited `release.json`, a tampered artifact.
public struct ReleaseVerificationError: FileReasonError, Equatable {
    /// The file involved.
    public let file: String
    /// What is wrong, for a person.
    public let reason: String

    /// An error about `path`.
    public init(path: String, reason: String) {
        self.file = path
        self.reason = reason
    }

    public var category: FailureCategory { .verificationFailed }

    /// Always `release.verification-failed`; the reason says which check.
    public var code: String {
        "release.verification-failed"
    }
}
