import ModelSecIO

/// One problem found in a policy file, with its position.
public struct PolicyDiagnostic: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The file.
    public let path: String
    /// 1-based line (0 when the problem concerns the whole file).
    public let line: Int
    /// 1-based column (0 when unknown).
    public let column: Int
    /// What is wrong, for a person.
    public let message: String

    /// `path:line:column: message`, the format editors and CI logs link.
    public var description: String {
        line > 0 ? "\(path):\(line):\(column): \(message)" : "\(path): \(message)"
    }
}

/// A policy file that cannot be used: unreadable, not YAML, or invalid. Exit code 2
/// for audits (the policy cannot be read).
public struct PolicyError: ModelSecError {
    /// The file.
    public let path: String
    /// Every problem found (at least one).
    public let diagnostics: [PolicyDiagnostic]

    public var category: FailureCategory { .invalidInput }
    public var description: String {
        let first = diagnostics.first.map(\.description) ?? "\(path): invalid policy"
        return diagnostics.count > 1 ? "\(first) (and \(diagnostics.count - 1) more problem(s); run 'modelsec policy lint \(path)')" : first
    }
}
