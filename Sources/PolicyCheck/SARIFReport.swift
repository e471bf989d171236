import Foundation
import ModelSecIO

/// SARIF 2.1.0: one run per policy; the rules are the policy's rules; one result per
/// failed, warned or waived rule × release (levels `error`, `warning`, `note` + an
/// external suppression), located at the release's files by absolute `file://`
/// URIs. Passing results are counted in the run's properties (the JSON report
/// lists them). Directories that are not readable releases are results of the
/// built-in rule `release-readable` in one more run, `modelsec`.
enum SARIFReport {
    static let schemaURI = "https://json.schemastore.org/sarif-2.1.0.json"

    static func render(_ report: AuditReport, workingDirectory: String = FileManager.default.currentDirectoryPath) throws -> Data {
        var runs: [JSONValue] = []
        let trust: JSONValue = .object([
            "source": .string(report.signatureTrust.source.rawValue),
            "detail": .string(report.signatureTrust.detail),
            "keyIDs": .array(report.signatureTrust.keyIDs.map(JSONValue.string)),
        ])
        for policy in report.policies {
            let results = report.results.filter { $0.policy == policy.name && $0.ruleID != PolicyEvaluator.releaseReadableRule }
            let properties: [String: JSONValue] = [
                "policy": .object(["name": .string(policy.name), "version": .string(policy.version),
                                   "path": .string(policy.path), "sha256": .string(policy.sha256)]),
                "signatureTrust": trust,
            ]
            runs.append(run(results, report: report, properties: properties, workingDirectory: workingDirectory))
        }
        let unreadable = report.results.filter { $0.policy == PolicyEvaluator.builtInPolicy && $0.ruleID == PolicyEvaluator.releaseReadableRule }
        if !unreadable.isEmpty {
            runs.append(run(unreadable, report: report, properties: ["signatureTrust": trust], workingDirectory: workingDirectory))
        }
        let log: JSONValue = .object(["$schema": .string(schemaURI), "version": .string("2.1.0"), "runs": .array(runs)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(log) + Data("\n".utf8)
    }

    /// One run over `results` (all of one policy, or the built-in results).
    static func run(_ results: [RuleResult], report: AuditReport, properties: [String: JSONValue], workingDirectory: String) -> JSONValue {
        var ruleOrder: [String] = []
        var ruleInfo: [String: RuleResult] = [:]
        for r in results where ruleInfo[r.ruleID] == nil { ruleOrder.append(r.ruleID); ruleInfo[r.ruleID] = r }
        let rules: [JSONValue] = ruleOrder.map { id in
            let r = ruleInfo[id]!
            return .object([
                "id": .string(id),
                "name": .string(r.check),
                "shortDescription": .object(["text": .string(r.title)]),
                "defaultConfiguration": .object(["level": .string(r.severity == .deny ? "error" : "warning")]),
                "properties": .object(["severity": .string(r.severity.rawValue), "check": .string(r.check), "policyLine": .number(Double(r.ruleLine))]),
            ])
        }
        var sarifResults: [JSONValue] = []
        for r in results where r.status != .passed {
            var props: [String: JSONValue] = [
                "release": .string(r.release),
                "releaseDirectory": .string(r.releaseDirectory),
                "releaseDirectoryURI": .string(fileURI(r.releaseDirectory, workingDirectory: workingDirectory)),
                "status": .string(r.status.rawValue),
            ]
            if let digest = r.manifestSHA256 { props["manifestSHA256"] = .string(digest) }
            let who = "\(r.release) (\(r.releaseDirectory), release.json sha256 \(r.manifestSHA256 ?? "unknown"))"
            var result: [String: JSONValue] = [
                "ruleId": .string(r.ruleID),
                "ruleIndex": .number(Double(ruleOrder.firstIndex(of: r.ruleID)!)),
                "level": .string(level(r.status)),
                "kind": .string("fail"),
                "message": .object(["text": .string("\(who): \(r.message)")]),
                "locations": .array(r.files.map { location($0, workingDirectory: workingDirectory) }),
            ]
            if let w = r.waiver {
                props["waiver"] = .object(["release": .string(w.release), "reason": .string(w.reason),
                                           "expires": .string(w.expires), "expired": .bool(w.expired)])
                if !w.expired {
                    result["suppressions"] = .array([.object(["kind": .string("external"), "status": .string("accepted"),
                                                              "justification": .string("\(w.reason) (expires \(w.expires))")])])
                }
            }
            result["properties"] = .object(props)
            sarifResults.append(.object(result))
        }
        var runProperties = properties
        runProperties["generatedAt"] = .string(report.generatedAtText)
        runProperties["passed"] = .number(Double(results.filter { $0.status == .passed }.count))
        return .object([
            "tool": .object(["driver": .object([
                "name": .string("modelsec"),
                "version": .string(report.toolVersion),
                "semanticVersion": .string(report.toolVersion),
                "rules": .array(rules),
            ])]),
            "invocations": .array([.object(["executionSuccessful": .bool(true), "endTimeUtc": .string(report.generatedAtText)])]),
            "results": .array(sarifResults),
            "properties": .object(runProperties),
        ])
    }

    static func level(_ status: ResultStatus) -> String {
        switch status {
        case .failure: return "error"
        case .warning: return "warning"
        case .waived: return "note"
        case .passed: return "none"
        }
    }

    /// A physical location at the file's absolute `file://` URI.
    static func location(_ path: String, workingDirectory: String) -> JSONValue {
        .object(["physicalLocation": .object(["artifactLocation": .object(["uri": .string(fileURI(path, workingDirectory: workingDirectory))])])])
    }

    /// The absolute `file://` URI of `path` (a relative path is taken from
    /// `workingDirectory`; empty and `.` components are dropped, `..` kept):
    /// `file://` + the path's UTF-8 bytes, each byte other than an RFC 3986
    /// unreserved character or `/` percent-encoded (`%20`, `%23`, `%25`, `%C3%A9`).
    static func fileURI(_ path: String, workingDirectory: String) -> String {
        let absolute = path.hasPrefix("/") ? path : workingDirectory + "/" + path
        let components = absolute.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        var uri = "file://"
        for component in components {
            uri += "/"
            for byte in component.utf8 {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                    uri.unicodeScalars.append(Unicode.Scalar(byte))
                default:
                    uri += String(format: "%%%02X", byte)
                }
            }
        }
        if components.isEmpty { uri += "/" }
        return uri
    }
}
