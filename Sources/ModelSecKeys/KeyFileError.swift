import ModelSecCrypto
import ModelSecIO

/// A key file could not be used. The message names the file and the problem.
public struct KeyFileError: ModelSecError, Equatable {
    /// The key file.
    public let path: String
    /// What is wrong with it.
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    init(path: String, _ error: KeyDecodingError) {
        self.init(path: path, reason: error.description)
    }

    /// Every key problem is unusable input (exit 2).
    public var category: FailureCategory { .invalidInput }
    public var description: String { "\(path): \(reason)" }
}
