import Foundation

/// The audit report formats.
public enum ReportFormat: String, CaseIterable, Sendable {
    /// A readable table with a summary line.
    case text
    /// Everything, as JSON (the `AuditReport` structure).
    case json
    /// SARIF 2.1.0 (one run per policy).
    case sarif
    /// JUnit XML (one test case per rule × release).
    case junit
}

extension AuditReport {
    /// The report in `format`. `failOnWarn` makes warnings JUnit failures (as they
    /// fail the audit) instead of passing test cases with a warning in system-out.
    public func rendered(as format: ReportFormat, failOnWarn: Bool = false) throws -> Data {
        switch format {
        case .text: return Data(TextReport.render(self).utf8)
        case .json: return try JSONReport.render(self)
        case .sarif: return try SARIFReport.render(self)
        case .junit: return Data(JUnitReport.render(self, failOnWarn: failOnWarn).utf8)
        }
    }

    /// `generatedAt` as RFC 3339 UTC text.
    var generatedAtText: String { ReportTime.text(generatedAt) }
}

enum ReportTime {
    static func text(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// JSON: the whole `AuditReport`.
enum JSONReport {
    static func render(_ report: AuditReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(ReportTime.text(date))
        }
        return try encoder.encode(report) + Data("\n".utf8)
    }
}
