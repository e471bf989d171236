import Foundation
import ModelSec

/// `modelsec audit --format markdown`: a short report for a merge-request
/// comment (docs/policy.md, "markdown"): the releases by outcome, the
/// totals, the policies with their digests, then one section per release
/// that did not pass cleanly with a table of its non-passing results. Every
/// string from a release or a policy goes through
/// ``ReportEscaping/markdown(_:)``, so it cannot start a link, a mention,
/// raw HTML or a new table cell.
enum AuditMarkdownReport {
    static func render(_ report: AuditReport) -> String {
        let overview = AuditOverview(report)
        let m = ReportEscaping.markdown
        var out = "## modelsec audit\n\n"
        out += "modelsec \(m(report.toolVersion)), audit at \(m(overview.generatedAt))\n\n"
        out += "| Outcome | Releases |\n|---|---:|\n"
        for (outcome, count) in overview.releasesByOutcome { out += "| \(outcome.label) | \(count) |\n" }
        out += "| **Total** | **\(overview.sections.count)** |\n\n"
        out += "\(m(report.totals.line))\n\n"
        if report.totals.expiredWaivers > 0 {
            out += "\(report.totals.expiredWaivers) result\\(s\\) matched only an expired waiver, which no longer applies\\.\n\n"
        }
        out += "\(m(report.signatureTrust.line))\n\n"
        out += "| Policy | Version | File | SHA\\-256 |\n|---|---|---|---|\n"
        for p in report.policies {
            out += "| \(m(p.name)) | \(m(p.version)) | \(m(p.path)) | `\(hex(p.sha256))` |\n"
        }
        let attention = overview.sections.filter { $0.outcome != .passed }
        let clean = overview.sections.count - attention.count
        out += "\n"
        for section in attention { out += release(section) }
        if clean > 0 { out += "\(clean) release\\(s\\) passed every rule\\.\n" }
        return out
    }

    /// A release that did not pass cleanly: identity, signer, and its non-passing results.
    static func release(_ section: AuditOverview.Section) -> String {
        let m = ReportEscaping.markdown
        let r = section.release
        var out = "### \(section.outcome.label): \(m(AuditOverview.title(r)))\n\n"
        out += "- Directory: \(m(r.directory))\n"
        if r.readable { out += "- release\\.json SHA\\-256: `\(hex(r.manifestSHA256 ?? ""))`\n" }
        out += "- Signer: \(m(AuditOverview.signer(r)))\n"
        if let error = r.error { out += "- Unreadable: \(m(error.code)): \(m(error.message))\n" }
        out += "\n| Rule | Severity | Status | Detail | Waiver |\n|---|---|---|---|---|\n"
        for f in section.findings {
            let waiver = f.waiver.map { w in
                "\(m(w.reason)) \\(expires \(m(w.expires))\(w.expired ? ", expired" : "")\\)"
            } ?? ""
            out += "| \(m(f.ruleID)) | \(m(f.severity.rawValue)) | \(f.status.label) | \(m(f.message)) | \(waiver) |\n"
        }
        return out + "\n"
    }

    /// A digest inside a code span: only lowercase hex digits survive, so it
    /// can never close the span.
    static func hex(_ digest: String) -> String {
        String(digest.filter { $0.isHexDigit && ($0.isNumber || $0.isLowercase) })
    }
}
