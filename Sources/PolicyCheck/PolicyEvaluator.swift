import Foundation
import ModelSecIO
import ModelSecKeys

/// A directory an audit could not read as a release: it gets one failed
/// result of the built-in rule `release-readable` instead of aborting the audit.
public struct UnreadableRelease: Sendable {
    /// The directory as given.
    public let directory: String
    /// The error's stable code.
    public let code: String
    /// One line for a person.
    public let message: String

    /// A directory that could not be read, and why.
    public init(directory: String, code: String, message: String) {
        self.directory = directory
        self.code = code
        self.message = message
    }

    /// The directory that failed with `error` (its code when it is a `ModelSecError`).
    public init(directory: String, error: any Error) {
        self.directory = directory
        self.code = (error as? any ModelSecError)?.code ?? "audit.release-unreadable"
        self.message = "\(error)"
    }
}

/// One thing an audit judges: a release, or a directory that is not one.
public enum AuditSubject: Sendable {
    /// A release read from its directory.
    case release(ReleaseEvidence)
    /// A directory that could not be read as a release.
    case unreadable(UnreadableRelease)
}

/// Evaluates every rule of every policy against every release and applies
/// waivers. Rule ids and release directories are compared as exact bytes.
public enum PolicyEvaluator {
    /// The pseudo-policy name of the built-in `release-readable` results.
    public static let builtInPolicy = "modelsec"
    /// The rule id (and check name) of the built-in result for a directory that is not a readable release.
    public static let releaseReadableRule = "release-readable"

    /// Audits `releases` against `policies` as of `now`; signature rules use
    /// `trust` in place of the policies' keys when it is given.
    public static func audit(releases: [ReleaseEvidence], policies: [Policy], now: Date = Date(), trust: AuditTrust? = nil) -> AuditReport {
        audit(subjects: releases.map(AuditSubject.release), policies: policies, now: now, trust: trust)
    }

    /// Audits `subjects` (releases, and directories that could not be read,
    /// each one failed result) against `policies`, in the order given.
    public static func audit(subjects: [AuditSubject], policies: [Policy], now: Date = Date(), trust: AuditTrust? = nil) -> AuditReport {
        var results: [RuleResult] = []
        var totals = AuditTotals(releases: subjects.count, rules: policies.reduce(0) { $0 + $1.rules.count },
                                 passed: 0, warnings: 0, failures: 0, waived: 0, expiredWaivers: 0)
        var summaries: [ReleaseSummary] = []
        for subject in subjects {
            switch subject {
            case let .unreadable(u):
                totals.failures += 1
                results.append(RuleResult(policy: builtInPolicy, ruleID: releaseReadableRule, title: "The directory is a readable release",
                                          severity: .deny, check: releaseReadableRule, release: u.directory, releaseDirectory: u.directory,
                                          manifestSHA256: nil, status: .failure, message: u.message, files: [u.directory],
                                          waiver: nil, ruleLine: 0))
                summaries.append(ReleaseSummary(release: u.directory, directory: u.directory,
                                                manifest: (u.directory as NSString).appendingPathComponent(ManifestEvidenceLoader.manifestFile),
                                                signerKeyID: nil, authenticated: nil, manifestSHA256: nil, readable: false,
                                                error: ReleaseReadError(code: u.code, message: u.message)))
            case let .release(release):
                var authenticated: Bool?
                for policy in policies {
                    for rule in policy.rules {
                        let outcome = rule.check.evaluate(release, now: now, trust: trust)
                        if rule.check.kind == .signedByTrustedKey { authenticated = (authenticated ?? false) || outcome.passed }
                        let result = judge(rule, of: policy, on: release, outcome: outcome, now: now, totals: &totals)
                        results.append(result)
                    }
                }
                summaries.append(ReleaseSummary(release: release.identifier, directory: release.directory, manifest: release.manifestPath,
                                                signerKeyID: release.signerKeyID, authenticated: authenticated,
                                                manifestSHA256: release.manifestSHA256, readable: true, error: nil))
            }
        }
        let policySummaries = policies.map {
            PolicySummary(name: $0.name, version: $0.version, path: $0.path, sha256: $0.sha256, rules: $0.rules.count, waivers: $0.waivers.count)
        }
        return AuditReport(toolVersion: ModelSecVersion.current, generatedAt: now, policies: policySummaries,
                           releases: summaries, signatureTrust: signatureTrust(policies: policies, trust: trust),
                           results: results, totals: totals)
    }

    /// One rule's result on one release, after waivers; counts it in `totals`.
    private static func judge(_ rule: PolicyRule, of policy: Policy, on release: ReleaseEvidence, outcome: CheckOutcome,
                              now: Date, totals: inout AuditTotals) -> RuleResult {
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
        return RuleResult(policy: policy.name, ruleID: rule.id, title: rule.title, severity: rule.severity,
                          check: rule.check.kind.rawValue, release: release.identifier,
                          releaseDirectory: release.directory, manifestSHA256: release.manifestSHA256, status: status, message: message,
                          files: outcome.files, waiver: waiverInfo, ruleLine: rule.line)
    }

    /// Which keys the signature rules verify with: the audit's, else the policies'.
    static func signatureTrust(policies: [Policy], trust: AuditTrust?) -> SignatureTrust {
        if let trust {
            // The audit's keys replace the policies' keys, never their CA roots: say so.
            let roots = policies.flatMap(\.rules).reduce(0) { count, rule in
                guard case let .signedByTrustedKey(_, _, _, certificates) = rule.check else { return count }
                return count + (certificates?.trust.roots.count ?? 0)
            }
            let detail = roots == 0 ? trust.origin
                : "\(trust.origin); and certificates under the CA roots the rules name (\(roots) root(s)), which audit keys do not replace"
            return SignatureTrust(source: .audit, detail: detail, keyIDs: Set(trust.keys.map(\.keyID)).sorted())
        }
        var ids = Set<String>()
        var unresolved: [String] = []
        var hasRule = false
        var roots = 0
        for policy in policies {
            for rule in policy.rules {
                guard case let .signedByTrustedKey(keys, _, refs, certificates) = rule.check else { continue }
                hasRule = true
                roots += certificates?.trust.roots.count ?? 0
                ids.formUnion(keys.map(\.keyID))
                unresolved += refs.map { "\(policy.name)/\(rule.id): \($0) is not set" }
            }
        }
        if !hasRule { return SignatureTrust(source: .none, detail: "no policy has a signed-by-trusted-key rule", keyIDs: []) }
        if ids.isEmpty, roots > 0 {
            return SignatureTrust(source: .policy, detail: "certificates under the CA roots each rule names (\(roots) root(s))", keyIDs: [])
        }
        if ids.isEmpty {
            let why = unresolved.isEmpty ? "the policies name no keys" : unresolved.joined(separator: "; ")
            return SignatureTrust(source: .none, detail: "\(why), and the audit was given none", keyIDs: [])
        }
        var detail = unresolved.isEmpty ? "each rule its own" : "each rule its own; " + unresolved.joined(separator: "; ")
        if roots > 0 { detail += "; and certificates under the CA roots the rules name (\(roots) root(s))" }
        return SignatureTrust(source: .policy, detail: detail, keyIDs: ids.sorted())
    }
}
