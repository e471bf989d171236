import Foundation

/// The readable table: one row per rule × release, naming each release by
/// `name@version`, directory and the SHA-256 of its `release.json`; then one
/// line per release and the summary line.
enum TextReport {
    static func render(_ report: AuditReport) -> String {
        var out = "modelsec \(report.toolVersion) audit at \(report.generatedAtText)\n"
        for p in report.policies {
            out += safe("policy \(p.name) \(p.version) (\(p.path), sha256 \(p.sha256))") + "\n"
        }
        out += safe(report.signatureTrust.line) + "\n"
        out += "\n"
        let header = ["RELEASE", "DIRECTORY", "DIGEST", "POLICY", "RULE", "SEVERITY", "STATUS", "DETAIL"]
        let rows = report.results.map { r in
            [r.release, r.releaseDirectory, shortDigest(r.manifestSHA256), r.policy, r.ruleID, r.severity.rawValue, r.status.label, r.message].map(safe)
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
        for release in report.releases {
            if !release.readable {
                out += safe("\(release.directory): NOT A READABLE RELEASE (\(release.error?.message ?? "unreadable"))") + "\n"
                continue
            }
            var text = "\(release.release) (\(release.directory), release.json sha256 \(release.manifestSHA256 ?? "unknown"))"
            if release.authenticated != true {
                let why = release.authenticated == nil ? "no policy checks its signature" : "its signature did not verify with any trusted key"
                text += ": NOT AUTHENTICATED (\(why)); the other results judge an unverified release.json"
            }
            out += safe(text) + "\n"
        }
        if report.totals.expiredWaivers > 0 {
            out += "\(report.totals.expiredWaivers) result(s) matched only an expired waiver, which no longer applies\n"
        }
        out += report.totals.line + "\n"
        return out
    }

    /// `sha256:` and the first 16 hex digits (the full digest is on the release's line).
    static func shortDigest(_ digest: String?) -> String {
        guard let digest else { return "-" }
        return "sha256:" + digest.prefix(16)
    }

    /// True for the characters a terminal or a report page acts on rather than
    /// shows: C0 and C1 controls, DEL, bidirectional marks, overrides and
    /// isolates, and the Unicode line and paragraph separators. Every report
    /// format writes these as a visible `\u{…}`.
    static func actsOnDisplay(_ v: UInt32) -> Bool {
        v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
            || v == 0x200E || v == 0x200F || v == 0x061C || v == 0x2028 || v == 0x2029
    }

    /// `text` with every character a terminal acts on (C0 and C1 controls, DEL,
    /// bidirectional overrides and isolates) written as `\u{…}`: release names,
    /// file names and messages come from untrusted release.json files, and
    /// each row must stay one line.
    static func safe(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if actsOnDisplay(v) {
                out.append(contentsOf: "\\u{\(String(v, radix: 16))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
