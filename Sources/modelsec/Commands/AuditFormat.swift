import Foundation
import ModelSec

/// The report formats of `modelsec audit --format`: the library's (text,
/// JSON, SARIF, JUnit) and the two for people the CLI draws itself (HTML,
/// Markdown).
enum AuditFormat: String, CaseIterable {
    case text, json, sarif, junit, html, markdown

    /// The report's bytes in this format.
    func render(_ report: AuditReport, failOnWarn: Bool) throws -> Data {
        switch self {
        case .html: return Data(AuditHTMLReport.render(report).utf8)
        case .markdown: return Data(AuditMarkdownReport.render(report).utf8)
        case .json, .sarif:
            // The same \uXXXX escapes as every --json output (docs/cli-json.md):
            // exact for a JSON reader, never raw bidi or C1 controls on a terminal.
            return JSONEnvelope.terminalSafeJSON(try report.rendered(as: ReportFormat(rawValue: rawValue)!, failOnWarn: failOnWarn))
        case .text, .junit:
            return try report.rendered(as: ReportFormat(rawValue: rawValue)!, failOnWarn: failOnWarn)
        }
    }
}
