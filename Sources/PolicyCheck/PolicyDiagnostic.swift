import ModelSecIO

/// One thing `policy lint` has to say about a policy file, with its position.
public struct PolicyDiagnostic: Sendable, Codable, Hashable, CustomStringConvertible {
    /// Whether the diagnostic makes the policy unusable.
    public enum Severity: String, Sendable, Codable, Hashable {
        /// A problem: the policy is invalid while it stands.
        case error
        /// Information about the environment the policy will meet (an unset
        /// variable, for example); the policy itself is valid.
        case note
    }

    /// The file.
    public let path: String
    /// 1-based line (0 when the problem concerns the whole file).
    public let line: Int
    /// 1-based column (0 when unknown).
    public let column: Int
    /// What is wrong, for a person.
    public let message: String
    /// A problem or a note.
    public let severity: Severity

    /// A diagnostic at `line`:`column` of `path` (an error unless `severity` says otherwise).
    public init(path: String, line: Int, column: Int, message: String, severity: Severity = .error) {
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        self.severity = severity
    }

    /// `path:line:column: message` (`note: ` before the message of a note), the
    /// format editors and CI logs link.
    public var description: String {
        let text = severity == .note ? "note: \(message)" : message
        return line > 0 ? "\(path):\(line):\(column): \(text)" : "\(path): \(text)"
    }
}

/// A policy file that cannot be used: not UTF-8, not YAML, or invalid. Audits
/// and the deploy gate refuse it (exit code 2: the policy cannot be read).
public struct PolicyError: ModelSecError {
    /// The policy file.
    public let file: String
    /// Every problem found (at least one), notes excluded.
    public let diagnostics: [PolicyDiagnostic]

    /// An invalid policy at `path` with its problems.
    public init(path: String, diagnostics: [PolicyDiagnostic]) {
        self.file = path
        self.diagnostics = diagnostics
    }

    public var category: FailureCategory { .invalidInput }
    public var code: String { "policy.invalid" }
    public var path: String? { file }
    public var description: String {
        let first = diagnostics.first.map(\.description) ?? "\(file): invalid policy"
        return diagnostics.count > 1 ? "\(first) (and \(diagnostics.count - 1) more problem(s) in the policy)" : first
    }
}
