import Foundation

/// How one rule turned out for one release, after waivers.
public enum ResultStatus: String, Codable, Sendable {
    /// The check passed.
    case passed
    /// The check failed on a `warn` rule.
    case warning
    /// The check failed on a `deny` rule.
    case failure
    /// The check failed but an unexpired waiver covers it.
    case waived
}

extension ResultStatus {
    /// The status as every audit report for people prints it (text, HTML,
    /// Markdown): `pass`, `WARN`, `FAIL` or `waived`.
    package var label: String {
        switch self {
        case .passed: return "pass"
        case .warning: return "WARN"
        case .failure: return "FAIL"
        case .waived: return "waived"
        }
    }
}

/// A waiver that was considered for a failing result.
public struct AppliedWaiver: Codable, Sendable, Hashable {
    /// The waiver's release pattern.
    public let release: String
    /// Its reason.
    public let reason: String
    /// Its last day (`YYYY-MM-DD`).
    public let expires: String
    /// True when it had expired at audit time, so it did NOT apply.
    public let expired: Bool
    /// Its line in the policy file.
    public let line: Int
}

/// One rule × release result.
public struct RuleResult: Codable, Sendable {
    /// The policy's name.
    public let policy: String
    /// The rule id.
    public let ruleID: String
    /// The rule title.
    public let title: String
    /// The rule severity.
    public let severity: RuleSeverity
    /// The check name.
    public let check: String
    /// The release as `name@version` (the directory itself, for a directory
    /// that is not a readable release).
    public let release: String
    /// The release directory.
    public let releaseDirectory: String
    /// Lowercase hex SHA-256 of the release's `release.json` (the bytes its
    /// signature covers), when it was read.
    public let manifestSHA256: String?
    /// The outcome after waivers.
    public let status: ResultStatus
    /// Why, for a person.
    public let message: String
    /// Files the result concerns.
    public let files: [String]
    /// The waiver that applies, or the expired waiver that would have applied.
    public let waiver: AppliedWaiver?
    /// The rule's line in its policy file.
    public let ruleLine: Int
}

/// Identifies a policy in a report.
public struct PolicySummary: Codable, Sendable {
    /// Its name.
    public let name: String
    /// Its version.
    public let version: String
    /// The file.
    public let path: String
    /// Lowercase hex SHA-256 of the file.
    public let sha256: String
    /// Rule count.
    public let rules: Int
    /// Waiver count.
    public let waivers: Int
}

/// Identifies a release in a report.
public struct ReleaseSummary: Codable, Sendable {
    /// `name@version`.
    public let release: String
    /// The release directory.
    public let directory: String
    /// Its `release.json`.
    public let manifest: String
    /// The recorded signer key id.
    public let signerKeyID: String?
    /// Whether a `signed-by-trusted-key` rule verified the release (nil when no
    /// policy has such a rule). When false, the other results judge an
    /// unauthenticated release.json.
    public let authenticated: Bool?
    /// Lowercase hex SHA-256 of its `release.json`, when it was read.
    public let manifestSHA256: String?
    /// False for a directory that could not be read as a release (its only
    /// result is a failed `release-readable`).
    public let readable: Bool
    /// Why it could not be read.
    public let error: ReleaseReadError?
}

/// Why a directory could not be read as a release, in a report.
public struct ReleaseReadError: Codable, Sendable, Equatable {
    /// The error's stable code (e.g. `audit.not-a-release`).
    public let code: String
    /// One line for a person.
    public let message: String
}

/// Which trusted keys the audit's `signed-by-trusted-key` rules verified with.
public struct SignatureTrust: Codable, Sendable, Equatable {
    /// Where the keys came from.
    public enum Source: String, Codable, Sendable {
        /// Keys given to the audit itself (they replace the policies' keys).
        case audit
        /// The keys each policy's rules name.
        case policy
        /// No keys at all: every signature rule fails.
        case none
    }
    /// Where the keys came from.
    public let source: Source
    /// For a person: the origin given with the audit's keys, or the policies' key references.
    public let detail: String
    /// The ids of the keys trusted (sorted).
    public let keyIDs: [String]

    /// One line for the text report.
    public var line: String {
        switch source {
        case .audit: return "signature trust: \(keyIDs.count) key(s) given to the audit (\(detail)), in place of the policies' keys"
        case .policy: return "signature trust: \(keyIDs.count) key(s) named by the policies (\(detail))"
        case .none: return "signature trust: none (\(detail)); every signature rule fails"
        }
    }
}

/// Totals over all results.
public struct AuditTotals: Codable, Sendable, Equatable {
    /// Releases audited.
    public var releases: Int
    /// Rules applied (summed over policies).
    public var rules: Int
    /// Results that passed.
    public var passed: Int
    /// Failed `warn` results.
    public var warnings: Int
    /// Failed `deny` results.
    public var failures: Int
    /// Failed results covered by a waiver.
    public var waived: Int
    /// Failed results whose only matching waiver has expired.
    public var expiredWaivers: Int

    /// `N releases, N rules, N passed, N warnings, N failures, N waived`.
    public var line: String {
        "\(releases) releases, \(rules) rules, \(passed) passed, \(warnings) warnings, \(failures) failures, \(waived) waived"
    }
}

/// Everything an audit found, plus what an auditor needs to reproduce it.
public struct AuditReport: Codable, Sendable {
    /// The modelsec version that produced it.
    public let toolVersion: String
    /// When the audit ran (ISO 8601, UTC).
    public let generatedAt: Date
    /// The policies applied.
    public let policies: [PolicySummary]
    /// The releases audited.
    public let releases: [ReleaseSummary]
    /// Which trusted keys the signature rules used.
    public let signatureTrust: SignatureTrust
    /// One entry per policy rule × release.
    public let results: [RuleResult]
    /// Totals.
    public let totals: AuditTotals

    /// The exit code the audit deserves: 1 when a deny rule failed (or a warn rule
    /// with `failOnWarn`), else 0.
    public func exitCode(failOnWarn: Bool) -> Int32 {
        if totals.failures > 0 { return 1 }
        if failOnWarn, totals.warnings > 0 { return 1 }
        return 0
    }
}
