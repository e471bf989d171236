import Foundation
import ModelSecIO

/// SARIF 2.1.0: one run per policy; the rules are the policy's rules; one result per
/// failed, warned or waived rule × release (levels `error`, `warning`, `note` + an
/// external suppression), located at the release's files. Passing results are
/// counted in the run's properties (the JSON report lists them).
enum SARIFReport {
    static let schemaURI = "https://json.schemastore.org/sarif-2.1.0.json"

    static func render(_ report: AuditReport) throws -> Data {
        var runs: [JSONValue] = []
        for policy in report.policies {
            let results = report.results.filter { $0.policy == policy.name }
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
                var result: [String: JSONValue] = [
                    "ruleId": .string(r.ruleID),
                    "ruleIndex": .number(Double(ruleOrder.firstIndex(of: r.ruleID)!)),
                    "level": .string(level(r.status)),
                    "kind": .string("fail"),
                    "message": .object(["text": .string("\(r.release): \(r.message)")]),
                    "locations": .array(r.files.map(location)),
                    "properties": .object([
                        "release": .string(r.release),
                        "releaseDirectory": .string(r.releaseDirectory),
                        "status": .string(r.status.rawValue),
                    ]),
                ]
                if let w = r.waiver {
                    var props = result["properties"]!.objectValue!
                    props["waiver"] = .object(["release": .string(w.release), "reason": .string(w.reason),
                                               "expires": .string(w.expires), "expired": .bool(w.expired)])
                    result["properties"] = .object(props)
                    if !w.expired {
                        result["suppressions"] = .array([.object(["kind": .string("external"), "status": .string("accepted"),
                                                                  "justification": .string("\(w.reason) (expires \(w.expires))")])])
                    }
                }
                sarifResults.append(.object(result))
            }
            let passed = results.filter { $0.status == .passed }.count
            runs.append(.object([
                "tool": .object(["driver": .object([
                    "name": .string("modelsec"),
                    "version": .string(report.toolVersion),
                    "semanticVersion": .string(report.toolVersion),
                    "rules": .array(rules),
                ])]),
                "invocations": .array([.object(["executionSuccessful": .bool(true), "endTimeUtc": .string(report.generatedAtText)])]),
                "results": .array(sarifResults),
                "properties": .object([
                    "policy": .object(["name": .string(policy.name), "version": .string(policy.version),
                                       "path": .string(policy.path), "sha256": .string(policy.sha256)]),
                    "generatedAt": .string(report.generatedAtText),
                    "passed": .number(Double(passed)),
                ]),
            ]))
        }
        let log: JSONValue = .object(["$schema": .string(schemaURI), "version": .string("2.1.0"), "runs": .array(runs)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(log) + Data("\n".utf8)
    }

    static func level(_ status: ResultStatus) -> String {
        switch status {
        case .failure: return "error"
        case .warning: return "warning"
        case .waived: return "note"
        case .passed: return "none"
        }
    }

    /// A physical location: a file URI for absolute paths, a relative URI reference otherwise.
    static func location(_ path: String) -> JSONValue {
        let uri: String
        if path.hasPrefix("/") {
            uri = URL(fileURLWithPath: path).absoluteString
        } else {
            uri = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
        }
        return .object(["physicalLocation": .object(["artifactLocation": .object(["uri": .string(uri)])])])
    }
}
