import Foundation
import ModelSec

/// The result of `modelsec audit --json` (docs/schemas/audit.schema.json):
/// the whole report in the CLI's camelCase names, beside `ok` in the
/// envelope. `output` and `format` say where a report in another format was
/// written, when `--output` was given.
struct AuditResult: Encodable, Sendable {
    struct Policy: Encodable {
        let name, version, path, sha256: String
        let rules, waivers: Int
    }
    struct ReadError: Encodable { let code, message: String }
    struct Release: Encodable {
        let release, directory, manifest: String
        let signerKeyId: String?
        let authenticated: Bool?
        let manifestSha256: String?
        let readable: Bool
        let outcome: String
        let error: ReadError?
    }
    struct Trust: Encodable {
        let source, detail: String
        let keyIds: [String]
    }
    struct Waiver: Encodable {
        let release, reason, expires: String
        let expired: Bool
        let line: Int
    }
    struct Result: Encodable {
        let policy, ruleId, title, severity, check, release, releaseDirectory: String
        let manifestSha256: String?
        let status, message: String
        let files: [String]
        let waiver: Waiver?
        let ruleLine: Int
    }
    struct Totals: Encodable {
        let releases, rules, passed, warnings, failures, waived, expiredWaivers: Int
        let releasesByOutcome: [String: Int]
    }

    let toolVersion: String
    let generatedAt: String
    let policies: [Policy]
    let releases: [Release]
    let signatureTrust: Trust
    let results: [Result]
    let totals: Totals
    let format: String?
    let output: String?

    init(_ report: AuditReport, format: String?, output: String?) {
        let overview = AuditOverview(report)
        let outcomes = Dictionary(overview.sections.map { ($0.release.directory, $0.outcome.rawValue) }, uniquingKeysWith: { a, _ in a })
        toolVersion = report.toolVersion
        generatedAt = overview.generatedAt
        policies = report.policies.map { Policy(name: $0.name, version: $0.version, path: $0.path, sha256: $0.sha256, rules: $0.rules, waivers: $0.waivers) }
        releases = report.releases.map { r in
            Release(release: r.release, directory: r.directory, manifest: r.manifest, signerKeyId: r.signerKeyID,
                    authenticated: r.authenticated, manifestSha256: r.manifestSHA256, readable: r.readable,
                    outcome: outcomes[r.directory] ?? AuditOverview.Outcome.failure.rawValue,
                    error: r.error.map { ReadError(code: $0.code, message: $0.message) })
        }
        signatureTrust = Trust(source: report.signatureTrust.source.rawValue, detail: report.signatureTrust.detail, keyIds: report.signatureTrust.keyIDs)
        results = report.results.map { r in
            Result(policy: r.policy, ruleId: r.ruleID, title: r.title, severity: r.severity.rawValue, check: r.check, release: r.release,
                   releaseDirectory: r.releaseDirectory, manifestSha256: r.manifestSHA256, status: r.status.rawValue, message: r.message,
                   files: r.files, waiver: r.waiver.map { Waiver(release: $0.release, reason: $0.reason, expires: $0.expires, expired: $0.expired, line: $0.line) },
                   ruleLine: r.ruleLine)
        }
        let t = report.totals
        totals = Totals(releases: t.releases, rules: t.rules, passed: t.passed, warnings: t.warnings, failures: t.failures,
                        waived: t.waived, expiredWaivers: t.expiredWaivers,
                        releasesByOutcome: Dictionary(uniqueKeysWithValues: overview.releasesByOutcome.map { ($0.0.rawValue, $0.1) }))
        self.format = format
        self.output = output
    }
}

/// `modelsec audit` found a failing rule: a failed `deny` rule, or a failed
/// `warn` rule with `--fail-on-warn` (exit 1).
struct AuditFailed: ModelSecError {
    /// Failed deny results.
    let failures: Int
    /// Failed warn results, counted only with --fail-on-warn.
    let warnings: Int
    var category: FailureCategory { .verificationFailed }
    var code: String { failures > 0 ? "audit.rules-failed" : "audit.warnings-failed" }
    var description: String {
        failures > 0 ? "audit failed: \(failures) deny rule result(s) failed" : "audit failed: \(warnings) warning(s) with --fail-on-warn"
    }
}
