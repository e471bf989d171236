/// What kind of failure an error is. The CLI turns it into an exit code
/// (1 for a failed check, 2 for unusable input); the library never decides
/// exit codes itself.
public enum FailureCategory: Sendable {
    /// A check failed: bad signature, tampered data, rejected token, denied
    /// policy, budget exceeded.
    case verificationFailed
    /// Usage errors and unreadable, malformed or unwritable input or output.
    case invalidInput
}

/// The contract every error the library throws keeps.
///
/// - `category` says whether a check failed or the input was unusable.
/// - `code` is a stable, machine-readable identifier: lower-case words joined
///   with `-`, prefixed by the capability (`signing.digest-mismatch`,
///   `token.expired`, `file.unreadable`). Scripts match on it; it never
///   changes meaning once published (see docs/errors.md).
/// - `path` is the file or directory the failure is about, when there is one.
///   (Error types keep their own stored property under another name, such as
///   `file`: a stored `path: String` beside this `String?` requirement would
///   leave the requirement to the default `nil`; ``FileReasonError`` derives
///   `path` and `description` from such a `file` and a `reason`.)
/// - `description` is one line for a person that names the file and the
///   problem, never contains secrets or data cell contents, and never names a
///   command-line flag (the CLI adds those hints).
public protocol ModelSecError: Error, CustomStringConvertible {
    /// Whether this is a failed check or unusable input.
    var category: FailureCategory { get }
    /// Stable machine-readable identifier of the failure.
    var code: String { get }
    /// The file or directory the failure is about, if any.
    var path: String? { get }
}

extension ModelSecError {
    /// A generic code from the category, for error types that have not yet
    /// named their cases (each module overrides this with specific codes).
    public var code: String {
        switch category {
        case .verificationFailed: return "verification-failed"
        case .invalidInput: return "invalid-input"
        }
    }

    /// No path unless the error type says otherwise.
    public var path: String? { nil }
}

/// An error about one file, told as `FILE: reason`: ``file`` is the error
/// contract's ``ModelSecError/path`` and ``reason`` says what is wrong with it.
public protocol FileReasonError: ModelSecError {
    /// The file the error is about.
    var file: String { get }
    /// What is wrong, for a person (without the path).
    var reason: String { get }
}

extension FileReasonError {
    /// ``file``, as the error contract names it.
    public var path: String? { file }
    /// `FILE: reason`.
    public var description: String { "\(file): \(reason)" }
}

/// A file could not be read or written.
public struct FileError: FileReasonError, Equatable {
    /// The path involved.
    public let file: String
    /// What went wrong, for a person.
    public let reason: String

    public init(path: String, reason: String) {
        self.file = path
        self.reason = reason
    }

    public var category: FailureCategory { .invalidInput }
    public var code: String { "file.unusable" }
}
