import Foundation

/// JUnit XML as GitLab and Jenkins read it: one `<testsuite>` per policy × release,
/// one `<testcase>` per rule. Failed deny rules are `<failure>`; waived results are
/// `<skipped>` with the waiver's reason; failed warn rules pass with the warning in
/// `<system-out>` (or are failures with `--fail-on-warn`, matching the exit code).
/// Suites and test names carry the release's directory and the SHA-256 of its
/// release.json, so two copies of one `name@version` never share a test name.
enum JUnitReport {
    static func render(_ report: AuditReport, failOnWarn: Bool) -> String {
        var suites: [(key: String, results: [RuleResult])] = []
        var index: [String: Int] = [:]
        for r in report.results {
            let key = "\(r.policy) / \(r.release) (\(r.releaseDirectory), \(TextReport.shortDigest(r.manifestSHA256)))"
            if let i = index[key] { suites[i].results.append(r) } else { index[key] = suites.count; suites.append((key, [r])) }
        }
        var usedNames = Set<String>()
        /// `base`, or `base #2`, `#3`… when a test of the same class already has that name.
        func uniqueName(classname: String, _ base: String) -> String {
            var name = base
            var n = 1
            while !usedNames.insert(classname + "\u{0}" + name).inserted { n += 1; name = "\(base) #\(n)" }
            return name
        }
        func isFailure(_ r: RuleResult) -> Bool { r.status == .failure || (failOnWarn && r.status == .warning) }
        let total = report.results.count
        let failures = report.results.filter(isFailure).count
        let skipped = report.results.filter { $0.status == .waived }.count
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<testsuites name=\"modelsec audit\" tests=\"\(total)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\" time=\"0\" timestamp=\"\(report.generatedAtText)\">\n"
        for suite in suites {
            let r0 = suite.results[0]
            let policy = report.policies.first { $0.name == r0.policy }
            let f = suite.results.filter(isFailure).count
            let s = suite.results.filter { $0.status == .waived }.count
            x += "  <testsuite name=\"\(esc(suite.key))\" tests=\"\(suite.results.count)\" failures=\"\(f)\" errors=\"0\" skipped=\"\(s)\" time=\"0\" timestamp=\"\(report.generatedAtText)\">\n"
            x += "    <properties>\n"
            x += "      <property name=\"tool.version\" value=\"\(esc(report.toolVersion))\"/>\n"
            if let policy {
                x += "      <property name=\"policy.name\" value=\"\(esc(policy.name))\"/>\n"
                x += "      <property name=\"policy.version\" value=\"\(esc(policy.version))\"/>\n"
                x += "      <property name=\"policy.path\" value=\"\(esc(policy.path))\"/>\n"
                x += "      <property name=\"policy.sha256\" value=\"\(esc(policy.sha256))\"/>\n"
            }
            x += "      <property name=\"release.directory\" value=\"\(esc(r0.releaseDirectory))\"/>\n"
            x += "      <property name=\"release.sha256\" value=\"\(esc(r0.manifestSHA256 ?? ""))\"/>\n"
            x += "      <property name=\"signature.trust.source\" value=\"\(esc(report.signatureTrust.source.rawValue))\"/>\n"
            x += "      <property name=\"signature.trust\" value=\"\(esc(report.signatureTrust.line))\"/>\n"
            x += "    </properties>\n"
            for r in suite.results {
                let classname = "\(r.policy).\(r.release)"
                let name = uniqueName(classname: classname, "\(r.ruleID): \(r.title) [\(r.releaseDirectory) \(TextReport.shortDigest(r.manifestSHA256))]")
                let file = r.files.first.map { " file=\"\(esc($0))\"" } ?? ""
                x += "    <testcase classname=\"\(esc(classname))\" name=\"\(esc(name))\" time=\"0\"\(file)>"
                switch r.status {
                case .passed:
                    x += "</testcase>\n"
                    continue
                case .failure:
                    x += "\n      <failure type=\"deny\" message=\"\(esc(r.message))\">\(esc(detail(r)))</failure>\n"
                case .warning where failOnWarn:
                    x += "\n      <failure type=\"warn\" message=\"\(esc(r.message))\">\(esc(detail(r)))</failure>\n"
                case .warning:
                    x += "\n      <system-out>\(esc("WARNING: " + detail(r)))</system-out>\n"
                case .waived:
                    x += "\n      <skipped message=\"\(esc("waived: " + (r.waiver?.reason ?? "")))\"/>\n      <system-out>\(esc(detail(r)))</system-out>\n"
                }
                x += "    </testcase>\n"
            }
            x += "  </testsuite>\n"
        }
        x += "</testsuites>\n"
        return x
    }

    static func detail(_ r: RuleResult) -> String {
        "[\(r.severity.rawValue)] \(r.ruleID) (\(r.check)) on \(r.release) (\(r.releaseDirectory), release.json sha256 \(r.manifestSHA256 ?? "unknown")): \(r.message)\nfiles: \(r.files.joined(separator: ", "))"
    }

    /// XML-escapes text for attributes and content. Nothing is dropped
    /// silently (that would change a file name without showing it):
    /// characters XML 1.0 cannot carry (C0 controls other than tab, line feed
    /// and carriage return, U+FFFE, U+FFFF) and characters a terminal or a
    /// report page acts on (DEL, C1 controls, bidirectional controls, U+2028,
    /// U+2029) are written as a visible `\u{202e}`, as the text, HTML and
    /// SARIF reports write them. (A numeric character reference would be
    /// decoded by every JUnit reader back to the raw control.)
    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\t", "\r": out += "&#\(scalar.value);"
            default:
                let v = scalar.value
                if TextReport.actsOnDisplay(v) || (0xFFFE...0xFFFF).contains(v) {
                    out += "\\u{\(String(v, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
