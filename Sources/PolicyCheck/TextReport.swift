import Foundation

/// The readable table: one row per rule × release, then the summary line.
enum TextReport {
    static func render(_ report: AuditReport) -> String {
        var out = "modelsec \(report.toolVersion) audit at \(report.generatedAtText)\n"
        for p in report.policies {
            out += "policy \(p.name) \(p.version) (\(p.path), sha256 \(p.sha256))\n"
        }
        out += "\n"
        let header = ["RELEASE", "POLICY", "RULE", "SEVERITY", "STATUS", "DETAIL"]
        let rows = report.results.map { r in
            [r.release, r.policy, r.ruleID, r.severity.rawValue, label(r.status), r.message]
        }
        // Pad every column except the last (the detail can be long).
        var widths = header.map(\.count)
        for row in rows { for i in 0..<(row.count - 1) { widths[i] = max(widths[i], row[i].count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        out += line(header) + "\n"
        for row in rows { out += line(row) + "\n" }
        out += "\n"
        for release in report.releases where release.authenticated != true {
            let why = release.authenticated == nil ? "no policy checks its signature" : "its signature did not verify with any trusted key"
            out += "\(release.release): NOT AUTHENTICATED (\(why)); the other results judge an unverified release.json\n"
        }
        if report.totals.expiredWaivers > 0 {
            out += "\(report.totals.expiredWaivers) result(s) matched only an expired waiver, which no longer applies\n"
        }
        out += report.totals.line + "\n"
        return out
    }

    static func label(_ status: ResultStatus) -> String {
        switch status {
        case .passed: return "pass"
        case .warning: return "WARN"
        case .failure: return "FAIL"
        case .waived: return "waived"
        }
    }
}
