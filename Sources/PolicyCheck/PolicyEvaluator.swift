import Foundation
import ModelSecIO
import ModelSecKeys

/// Evaluates every rule of every policy against every release and applies
/// waivers. Rule ids and release directories are compared as exact bytes.
public enum PolicyEvaluator {
    /// Audits `releases` against `policies` as of `now`.
    public static func audit(releases: [ReleaseEvidence], policies: [Policy], now: Date = Date()) -> AuditReport {
        var results: [RuleResult] = []
        var totals = AuditTotals(releases: releases.count, rules: policies.reduce(0) { $0 + $1.rules.count },
                                 passed: 0, warnings: 0, failures: 0, waived: 0, expiredWaivers: 0)
        var authenticated: [ExactString: Bool] = [:]  // by directory, byte for byte
        for release in releases {
            for policy in policies {
                for rule in policy.rules {
                    let outcome = rule.check.evaluate(release, now: now)
                    if rule.check.kind == .signedByTrustedKey {
                        authenticated[ExactString(release.directory)] = (authenticated[ExactString(release.directory)] ?? false) || outcome.passed
                    }
                    var status: ResultStatus
                    var waiverInfo: AppliedWaiver?
                    if outcome.passed {
                        status = .passed
                    } else {
                        status = rule.severity == .deny ? .failure : .warning
                        let candidates = policy.waivers.filter { ExactString($0.ruleID) == ExactString(rule.id) && $0.matches(release: release.identifier) }
                        if let active = candidates.first(where: { !$0.isExpired(at: now) }) {
                            status = .waived
                            waiverInfo = AppliedWaiver(release: active.releasePattern, reason: active.reason, expires: active.expiresOn, expired: false, line: active.line)
                        } else if let expired = candidates.first {
                            waiverInfo = AppliedWaiver(release: expired.releasePattern, reason: expired.reason, expires: expired.expiresOn, expired: true, line: expired.line)
                            totals.expiredWaivers += 1
                        }
                    }
                    switch status {
                    case .passed: totals.passed += 1
                    case .warning: totals.warnings += 1
                    case .failure: totals.failures += 1
                    case .waived: totals.waived += 1
                    }
                    var message = outcome.message
                    if let w = waiverInfo {
                        message += w.expired ? " (waiver expired on \(w.expires), no longer applies)" : " (waived until \(w.expires): \(w.reason))"
                    }
                    results.append(RuleResult(policy: policy.name, ruleID: rule.id, title: rule.title, severity: rule.severity,
                                              check: rule.check.kind.rawValue, release: release.identifier,
                                              releaseDirectory: release.directory, status: status, message: message,
                                              files: outcome.files, waiver: waiverInfo, ruleLine: rule.line))
                }
            }
        }
        let policySummaries = policies.map {
            PolicySummary(name: $0.name, version: $0.version, path: $0.path, sha256: $0.sha256, rules: $0.rules.count, waivers: $0.waivers.count)
        }
        let releaseSummaries = releases.map {
            ReleaseSummary(release: $0.identifier, directory: $0.directory, manifest: $0.manifestPath, signerKeyID: $0.signerKeyID,
                           authenticated: authenticated[ExactString($0.directory)])
        }
        return AuditReport(toolVersion: ModelSecVersion.current, generatedAt: now, policies: policySummaries,
                           releases: releaseSummaries, results: results, totals: totals)
    }
}
