import Foundation
import ModelSec

/// An audit report arranged for a person: one section per audited release
/// with its results, and each release's outcome (the worst status among
/// its results). The HTML and Markdown reports are drawn from it.
struct AuditOverview {
    /// How one release came out of the audit.
    enum Outcome: String, CaseIterable {
        /// Some deny rule failed (or the directory is not a readable release).
        case failure
        /// Some warn rule failed, no deny rule did.
        case warning
        /// Every failing rule is covered by an unexpired waiver.
        case waived
        /// Every rule passed.
        case passed

        /// The label shown to a person.
        var label: String {
            switch self {
            case .failure: return "FAIL"
            case .warning: return "WARN"
            case .waived: return "waived"
            case .passed: return "pass"
            }
        }
    }

    /// One audited release and its results.
    struct Section {
        /// The release as the audit read it.
        let release: ReleaseSummary
        /// Its results, in report order.
        let results: [RuleResult]
        /// Its outcome.
        let outcome: Outcome
        /// The results that did not pass (the findings a reader acts on).
        var findings: [RuleResult] { results.filter { $0.status != .passed } }
        /// The waivers considered for its results, expired ones included.
        var waivers: [AppliedWaiver] {
            var seen = Set<AppliedWaiver>()
            return results.compactMap(\.waiver).filter { seen.insert($0).inserted }
        }
    }

    /// The report itself.
    let report: AuditReport
    /// One section per release directory, in the order given to the audit.
    let sections: [Section]

    init(_ report: AuditReport) {
        self.report = report
        var byDirectory: [String: [RuleResult]] = [:]
        for result in report.results { byDirectory[result.releaseDirectory, default: []].append(result) }
        var seen = Set<String>()
        sections = report.releases.compactMap { release in
            guard seen.insert(release.directory).inserted else { return nil }
            let results = byDirectory[release.directory] ?? []
            return Section(release: release, results: results, outcome: Self.outcome(of: results, readable: release.readable))
        }
    }

    /// The worst status among `results`; an unreadable release is a failure.
    static func outcome(of results: [RuleResult], readable: Bool) -> Outcome {
        if !readable || results.contains(where: { $0.status == .failure }) { return .failure }
        if results.contains(where: { $0.status == .warning }) { return .warning }
        if results.contains(where: { $0.status == .waived }) { return .waived }
        return .passed
    }

    /// How many releases came out with each outcome.
    var releasesByOutcome: [(Outcome, Int)] {
        Outcome.allCases.map { outcome in (outcome, sections.filter { $0.outcome == outcome }.count) }
    }

    /// Every rule id that appears in the results, sorted.
    var ruleIDs: [String] { Set(report.results.map(\.ruleID)).sorted() }

    /// The audit time as RFC 3339 UTC text.
    var generatedAt: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: report.generatedAt)
    }

    /// `name@version`, or the directory for an unreadable release.
    static func title(_ release: ReleaseSummary) -> String { release.readable ? release.release : release.directory }

    /// What a reader should know about the release's signature.
    static func signer(_ release: ReleaseSummary) -> String {
        guard release.readable else { return "not a readable release" }
        let key = release.signerKeyID.map { "key \($0)" } ?? "no signer recorded"
        switch release.authenticated {
        case true?: return "\(key): verified with a trusted key"
        case false?: return "\(key): NOT AUTHENTICATED (no trusted key verifies its signature)"
        case nil: return "\(key): not checked (no policy rule checks the signature)"
        }
    }
}
