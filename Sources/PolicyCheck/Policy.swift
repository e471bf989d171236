import Foundation

/// What happens when a rule fails.
public enum RuleSeverity: String, Codable, Sendable {
    /// A failure denies the release (audit exit code 1).
    case deny
    /// A failure is reported as a warning (exit 1 only with `--fail-on-warn`).
    case warn
}

/// One rule of a policy: a stable id, a title, a severity and a configured check.
public struct PolicyRule: Sendable {
    /// Stable identifier (reports, SARIF rule ids and waivers refer to it).
    public let id: String
    /// One line for a person.
    public let title: String
    /// Deny or warn.
    public let severity: RuleSeverity
    /// The check with its parameters.
    public let check: ConfiguredCheck
    /// The line of the rule in the policy file (1-based).
    public let line: Int
}

/// A time-limited exception: rule `ruleID` is not enforced on releases whose
/// `name@version` matches `releasePattern`, until `expires` (end of that UTC day).
public struct Waiver: Sendable {
    /// The rule it covers.
    public let ruleID: String
    /// A glob over `name@version` (`*`, `?`, `[...]`, as in fnmatch).
    public let releasePattern: String
    /// Why the exception was granted.
    public let reason: String
    /// The last day it applies (as written, `YYYY-MM-DD`).
    public let expiresOn: String
    /// The instant it stops applying: the end of `expiresOn` in UTC.
    public let expiry: Date
    /// The line of the waiver in the policy file (1-based).
    public let line: Int

    /// Whether the waiver covers a release named `name@version`.
    public func matches(release: String) -> Bool {
        fnmatch(releasePattern, release, 0) == 0
    }

    /// Whether it has expired at `date`.
    public func isExpired(at date: Date) -> Bool { date >= expiry }
}

/// A parsed, validated policy file.
public struct Policy: Sendable {
    /// The policy's name.
    public let name: String
    /// The policy's version, as written.
    public let version: String
    /// Optional free text.
    public let description: String?
    /// The rules, in file order.
    public let rules: [PolicyRule]
    /// The waivers, in file order.
    public let waivers: [Waiver]
    /// The file it was read from.
    public let path: String
    /// Lowercase hex SHA-256 of the file's bytes, recorded in every report.
    public let sha256: String
}
