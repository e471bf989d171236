/// How a failure maps to the CLI's exit codes.
public enum FailureCategory: Sendable {
    /// A check failed: bad signature, tampered data, rejected token, denied
    /// policy. Exit code 1.
    case verificationFailed
    /// Usage errors and unreadable, malformed or unwritable input or output.
    /// Exit code 2.
    case invalidInput

    /// The process exit code for this category.
    public var exitCode: Int32 {
        switch self {
        case .verificationFailed: return 1
        case .invalidInput: return 2
        }
    }
}

/// An error that knows which exit code it deserves. Its `description` is the
/// one line the CLI prints; it names the file and the problem and never
/// contains secrets.
public protocol ModelSecError: Error, CustomStringConvertible {
    /// Whether this is a failed check (1) or unusable input (2).
    var category: FailureCategory { get }
}

/// A file could not be read or written.
public struct FileError: ModelSecError, Equatable {
    /// The path involved.
    public let path: String
    /// What went wrong, for a person.
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var category: FailureCategory { .invalidInput }
    public var description: String { "\(path): \(reason)" }
}
