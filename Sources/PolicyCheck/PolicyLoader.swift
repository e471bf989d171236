import Foundation
import ModelRelease
import ModelScanner
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import Yams

/// Reads policy files (YAML, schema in docs/policy.md) and reports every problem
/// with its line number: unknown keys, unknown checks, missing parameters, bad values.
///
/// The YAML is read by ``BoundedYAML`` (size, nesting, alias and key limits,
/// checked before anything is built). Keys, names and ids are compared as
/// exact UTF-8 bytes (``ExactString``): a waiver for rule `\u{212A}1` (KELVIN
/// SIGN) does not name rule `K1`, though Swift's `String ==` says it does.
public enum PolicyLoader {
    /// Loads and validates the policy at `path`; throws `PolicyError` listing every
    /// problem. Notes (an unset environment variable) do not stop it loading.
    public static func load(path: String) throws -> Policy {
        let result = try lint(path: path)
        if let policy = result.policy { return policy }
        throw PolicyError(path: path, diagnostics: result.problems)
    }

    /// The outcome of reading a policy: the policy when it is valid, and every
    /// problem and note found.
    public struct LintResult: Sendable {
        /// The policy, when there were no problems (there may be notes).
        public let policy: Policy?
        /// Problems and notes, in file order.
        public let diagnostics: [PolicyDiagnostic]
        /// The problems alone (severity `error`).
        public var problems: [PolicyDiagnostic] { diagnostics.filter { $0.severity == .error } }
        /// The notes alone.
        public var notes: [PolicyDiagnostic] { diagnostics.filter { $0.severity == .note } }
    }

    /// Reads and checks the policy at `path`. Throws only when the file cannot be read
    /// (a `FileError`); problems in its content are returned as diagnostics.
    /// Relative paths inside the policy resolve against the policy file's
    /// directory, made absolute here so that diagnostics name the path tried.
    public static func lint(path: String) throws -> LintResult {
        let data = Data(try FileIO.readFile(path, limit: BoundedYAML.maximumDocumentSize))
        guard let text = String(data: data, encoding: .utf8) else {
            return LintResult(policy: nil, diagnostics: [PolicyDiagnostic(path: path, line: 0, column: 0, message: "not UTF-8 text")])
        }
        return lint(text: text, path: path, sha256: SHA2.SHA256.hash(data: data).hex, baseDirectory: policyDirectory(path))
    }

    /// The absolute directory holding the policy file at `path` (a relative path
    /// is taken from the working directory; `.` components are dropped).
    static func policyDirectory(_ path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        let absolute = directory.hasPrefix("/") ? directory
            : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(directory)
        let parts = absolute.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    /// Checks policy `text`; `path` names it in diagnostics and key paths resolve against `baseDirectory`.
    public static func lint(text: String, path: String, sha256: String, baseDirectory: String) -> LintResult {
        let d = DiagnosticSink(path: path)
        let root: Node?
        do {
            root = try BoundedYAML.compose(text, source: path)
        } catch let refusal as BoundedYAML.Refusal {
            d.report(line: refusal.line, column: refusal.column, refusal.reason)
            return LintResult(policy: nil, diagnostics: d.items)
        } catch let error as YamlError {
            d.report(at: Self.mark(of: error), "not valid YAML: \(Self.problem(of: error))")
            return LintResult(policy: nil, diagnostics: d.items)
        } catch {
            d.report(at: nil, "not valid YAML: \(error)")
            return LintResult(policy: nil, diagnostics: d.items)
        }
        guard let root, let top = d.mapping(root, "the policy") else {
            if root == nil { d.report(at: nil, "the file is empty") }
            return LintResult(policy: nil, diagnostics: d.items)
        }
        d.checkKeys(top, allowed: ["name", "version", "description", "rules", "waivers"], in: "the policy")
        let name = d.requiredString(top, "name", in: "the policy")
        let version = d.requiredString(top, "version", in: "the policy")
        let description = top["description"].flatMap { d.string($0, "description") }

        var rules: [PolicyRule] = []
        var seenIDs: [ExactString: Int] = [:]
        var declaredIDs = Set<ExactString>()
        if let rulesNode = d.required(top, "rules", in: "the policy"), let list = d.sequence(rulesNode, "rules") {
            if list.isEmpty { d.report(at: rulesNode.mark, "'rules' is empty: a policy needs at least one rule") }
            for item in list {
                if let idNode = item.mapping?["id"], let id = idNode.scalar?.string {
                    if let earlier = seenIDs[ExactString(id)] {
                        d.report(at: idNode.mark, "duplicate rule id '\(id)' (first used on line \(earlier))")
                    } else {
                        seenIDs[ExactString(id)] = item.mark?.line ?? 0
                    }
                    declaredIDs.insert(ExactString(id))
                }
                if let rule = parseRule(item, d: d, baseDirectory: baseDirectory) { rules.append(rule) }
            }
        }

        var waivers: [Waiver] = []
        if let waiversNode = top["waivers"], !(waiversNode.tagName == .null), let list = d.sequence(waiversNode, "waivers") {
            for item in list {
                if let ruleNode = item.mapping?["rule"], let ruleID = ruleNode.scalar?.string, !declaredIDs.contains(ExactString(ruleID)) {
                    d.report(at: ruleNode.mark, "waiver refers to rule '\(ruleID)', which this policy does not define")
                }
                if let waiver = parseWaiver(item, d: d) { waivers.append(waiver) }
            }
        }

        guard !d.hasProblems, let name, let version else { return LintResult(policy: nil, diagnostics: d.sorted) }
        let policy = Policy(name: name, version: version, description: description, rules: rules, waivers: waivers, path: path, sha256: sha256)
        return LintResult(policy: policy, diagnostics: d.sorted)
    }

    // MARK: Rules

    private static let ruleIDCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

    private static func parseRule(_ node: Node, d: DiagnosticSink, baseDirectory: String) -> PolicyRule? {
        guard let map = d.mapping(node, "a rule") else { return nil }
        d.checkKeys(map, allowed: ["id", "title", "severity", "check", "params", "description"], in: "a rule")
        let id = d.requiredString(map, "id", in: "a rule")
        if let id, let idNode = map["id"], id.isEmpty || id.unicodeScalars.contains(where: { !ruleIDCharacters.contains($0) }) {
            d.report(at: idNode.mark, "rule id '\(id)' may only contain letters, digits, '.', '_' and '-'")
        }
        let title = d.requiredString(map, "title", in: "rule '\(id ?? "?")'")
        var severity: RuleSeverity?
        if let text = d.requiredString(map, "severity", in: "rule '\(id ?? "?")'") {
            severity = RuleSeverity(exactRawValue: text)
            if severity == nil { d.report(at: map["severity"]?.mark, "unknown severity '\(text)' (expected deny or warn)") }
        }
        var check: ConfiguredCheck?
        if let checkName = d.requiredString(map, "check", in: "rule '\(id ?? "?")'") {
            if let kind = CheckKind(exactRawValue: checkName) {
                let paramsNode = map["params"]
                var params: Node.Mapping?
                if let paramsNode, paramsNode.tagName != .null { params = d.mapping(paramsNode, "params") }
                let at = paramsNode?.mark ?? node.mark
                check = CheckParameterParser(d: d, params: params ?? Node.Mapping([]), at: at, baseDirectory: baseDirectory, rule: id ?? "?").parse(kind)
            } else {
                d.report(at: map["check"]?.mark, "unknown check '\(checkName)' (known: \(CheckKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        guard let id, let title, let severity, let check else { return nil }
        return PolicyRule(id: id, title: title, severity: severity, check: check, line: node.mark?.line ?? 0)
    }

    private static func parseWaiver(_ node: Node, d: DiagnosticSink) -> Waiver? {
        guard let map = d.mapping(node, "a waiver") else { return nil }
        d.checkKeys(map, allowed: ["rule", "release", "reason", "expires"], in: "a waiver")
        let rule = d.requiredString(map, "rule", in: "a waiver")
        let pattern = d.requiredString(map, "release", in: "a waiver")
        if let pattern, !pattern.utf8.contains(UInt8(ascii: "@")) {
            d.report(at: map["release"]?.mark, "release pattern '\(pattern)' must have the form NAME@VERSION (globs allowed, e.g. 'resnet@1.*')")
        }
        let reason = d.requiredString(map, "reason", in: "a waiver")
        if let reason, reason.trimmingCharacters(in: .whitespaces).isEmpty { d.report(at: map["reason"]?.mark, "a waiver needs a non-empty reason") }
        var expiry: Date?
        let expiresText = d.requiredString(map, "expires", in: "a waiver")
        if let expiresText {
            expiry = Self.endOfDay(expiresText)
            if expiry == nil { d.report(at: map["expires"]?.mark, "expires '\(expiresText)' is not a date of the form YYYY-MM-DD") }
        }
        guard let rule, let pattern, let reason, let expiresText, let expiry else { return nil }
        return Waiver(ruleID: rule, releasePattern: pattern, reason: reason, expiresOn: expiresText, expiry: expiry, line: node.mark?.line ?? 0)
    }

    /// The first instant after the UTC day `YYYY-MM-DD`, or nil if it is not a real date.
    static func endOfDay(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: y, month: m, day: day)
        guard components.isValidDate(in: calendar), let start = calendar.date(from: components) else { return nil }
        return calendar.date(byAdding: .day, value: 1, to: start)
    }

    private static func mark(of error: YamlError) -> Mark? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _): return mark
        default: return nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, _, _), let .parser(context, problem, _, _), let .composer(context, problem, _, _):
            if let context { return "\(problem) (\(context.text))" }
            return problem
        case let .duplicatedKeysInMapping(duplicates, _):
            return "duplicate keys: \(duplicates.joined(separator: ", "))"
        default: return "\(error)"
        }
    }
}

/// Collects diagnostics and offers typed accessors over Yams nodes that report
/// problems with the node's line.
final class DiagnosticSink {
    let path: String
    private(set) var items: [PolicyDiagnostic] = []
    /// The diagnostics in file order.
    var sorted: [PolicyDiagnostic] { items.enumerated().sorted { ($0.element.line, $0.element.column, $0.offset) < ($1.element.line, $1.element.column, $1.offset) }.map(\.element) }

    init(path: String) { self.path = path }

    func report(at mark: Mark?, _ message: String) {
        report(line: mark?.line ?? 0, column: mark?.column ?? 0, message)
    }

    func report(line: Int, column: Int, _ message: String) {
        items.append(PolicyDiagnostic(path: path, line: line, column: column, message: message))
    }

    /// Records a note: something about the environment, not a problem in the policy.
    func note(at mark: Mark?, _ message: String) {
        items.append(PolicyDiagnostic(path: path, line: mark?.line ?? 0, column: mark?.column ?? 0, message: message, severity: .note))
    }

    /// The number of problems (notes excluded) so far.
    var problemCount: Int { items.filter { $0.severity == .error }.count }

    /// Whether any problem (not a note) has been reported.
    var hasProblems: Bool { problemCount > 0 }

    func mapping(_ node: Node, _ what: String) -> Node.Mapping? {
        if let m = node.mapping { return m }
        report(at: node.mark, "\(what) must be a mapping (key: value)")
        return nil
    }

    func sequence(_ node: Node, _ what: String) -> [Node]? {
        if let s = node.sequence { return Array(s) }
        report(at: node.mark, "'\(what)' must be a list")
        return nil
    }

    /// Reports every key of `map` that is not exactly (byte for byte) one of
    /// `allowed`. Lookups by name (`map["keys"]`) use Swift's canonical
    /// equivalence, so only a policy whose keys are exactly the names loads.
    func checkKeys(_ map: Node.Mapping, allowed: Set<String>, in what: String) {
        let exact = Set(exactly: allowed)
        for key in map.keys {
            guard let k = key.string else { report(at: key.mark, "keys must be strings"); continue }
            if !exact.contains(ExactString(k)) {
                report(at: key.mark, "unknown key '\(k)' in \(what) (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }

    func required(_ map: Node.Mapping, _ key: String, in what: String) -> Node? {
        if let n = map[key], n.tagName != .null { return n }
        report(at: map.mark, "\(what) is missing '\(key)'")
        return nil
    }

    func string(_ node: Node, _ key: String) -> String? {
        if let s = node.scalar?.string { return s }
        report(at: node.mark, "'\(key)' must be a single value, not a list or mapping")
        return nil
    }

    func requiredString(_ map: Node.Mapping, _ key: String, in what: String) -> String? {
        guard let n = required(map, key, in: what) else { return nil }
        return string(n, key)
    }

    func number(_ node: Node, _ key: String) -> Double? {
        if node.scalar != nil, node.tagName == .int || node.tagName == .float, let v = node.float, v.isFinite { return v }
        report(at: node.mark, "'\(key)' must be a number, got '\(node.scalar?.string ?? "a list or mapping")'")
        return nil
    }

    func bool(_ node: Node, _ key: String) -> Bool? {
        if node.tagName == .bool, let b = node.bool { return b }
        report(at: node.mark, "'\(key)' must be true or false, got '\(node.scalar?.string ?? "a list or mapping")'")
        return nil
    }

    func stringList(_ node: Node, _ key: String) -> [String]? {
        guard let list = node.sequence else {
            report(at: node.mark, "'\(key)' must be a list")
            return nil
        }
        var out: [String] = []
        for item in list {
            guard let s = item.scalar?.string, item.tagName != .null else { report(at: item.mark, "each entry of '\(key)' must be a single value"); return nil }
            out.append(s)
        }
        return out
    }

    /// The JSON value a YAML node denotes (scalars resolved by their YAML type).
    func jsonValue(_ node: Node) -> JSONValue {
        switch node {
        case let .scalar(s):
            switch node.tagName {
            case .null: return .null
            case .bool: return node.bool.map(JSONValue.bool) ?? .string(s.string)
            case .int, .float: return node.float.map(JSONValue.number) ?? .string(s.string)
            default: return .string(s.string)
            }
        case let .sequence(seq): return .array(seq.map(jsonValue))
        case let .mapping(map):
            var o: [String: JSONValue] = [:]
            for (k, v) in map { o[k.string ?? ""] = jsonValue(v) }
            return .object(o)
        case .alias: return .null  // anchors/aliases are not part of the policy schema
        }
    }
}

extension Node {
    /// The node's resolved YAML type (`Tag.name` is internal to Yams; its raw value is public).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}
