/// An output file or directory already exists and the caller did not ask to
/// replace it. Unusable input (exit 2); nothing was written.
public struct OutputExistsError: ModelSecError, Equatable, Sendable {
    /// The existing file.
    public let file: String
    /// ``file``, as the error contract names it.
    public var path: String? { file }

    /// The output `path` exists.
    public init(path: String) { file = path }

    public var category: FailureCategory { .invalidInput }
    public var code: String { "file.exists" }
    public var description: String { "\(file): already exists" }
}
