import Foundation
import ModelSec

/// The one JSON document a command prints on stdout with `--json`, whatever
/// happens (docs/cli-json.md):
///
///     {"ok": true,  ...the command's result fields...}
///     {"ok": false, "error": {"code", "category", "exitCode", "message", "path"?},
///                   ...the result fields, when the command produced a report...}
///
/// A result that is not a JSON object (a list) goes under `"result"`.
/// Every command's document is described by a JSON Schema in docs/schemas/.
enum JSONEnvelope {
    /// The `error` member: the library's `code`, `category` and `path`, the
    /// exit code the CLI maps the category to, and the message a person reads.
    struct ErrorBody: Encodable, Sendable {
        let code: String
        let category: String
        let exitCode: Int32
        let message: String
        let path: String?

        init(code: String, category: FailureCategory, exitCode: Int32, message: String, path: String?) {
            self.code = code
            self.category = category == .verificationFailed ? "verification-failed" : "invalid-input"
            self.exitCode = exitCode
            self.message = message
            self.path = path
        }
    }

    /// The members the envelope itself owns; a result must not use them.
    static let reservedKeys: Set<String> = ["ok", "error", "result"]

    /// `{"ok": true, ...result}`.
    static func success(_ result: some Encodable) throws -> Data {
        try render(Document(ok: true, error: nil, fields: try Fields(result)))
    }

    /// `{"ok": false, "error": {...}, ...report}`.
    static func failure(_ error: ErrorBody, report: (any Encodable)?) throws -> Data {
        try render(Document(ok: false, error: error, fields: try report.map { try Fields($0) }))
    }

    private static func render(_ document: Document) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return terminalSafeJSON(try encoder.encode(document)) + Data("\n".utf8)
    }

    /// `json` with every character a terminal acts on that JSONEncoder
    /// leaves raw (DEL, C1 controls, bidirectional overrides and isolates;
    /// it already escapes C0) written as a `\uXXXX` escape. Outside strings
    /// JSON is ASCII, so only string contents change, and a JSON reader gets
    /// exactly the same strings back: the document stays exact for programs
    /// and safe to print on a terminal (`token inspect` of a hostile token).
    static func terminalSafeJSON(_ json: Data) -> Data {
        guard let text = String(data: json, encoding: .utf8),
              text.unicodeScalars.contains(where: { CLI.isTerminalControl($0) }) else { return json }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if CLI.isTerminalControl(scalar), scalar.value >= 0x20 {
                let hex = String(scalar.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return Data(String(out).utf8)
    }

    /// A result, and whether it encodes as a JSON object (whose members then
    /// sit beside `ok`) or as something else (which goes under `result`).
    private struct Fields {
        let value: any Encodable
        let isObject: Bool

        init(_ value: any Encodable) throws {
            self.value = value
            let probe = try JSONEncoder().encode(value)
            let object = try JSONSerialization.jsonObject(with: probe, options: [.fragmentsAllowed]) as? [String: Any]
            if let object {
                let clash = Set(object.keys).intersection(JSONEnvelope.reservedKeys)
                precondition(clash.isEmpty, "a --json result uses the envelope's reserved member(s) \(clash.sorted())")
            }
            isObject = object != nil
        }
    }

    private struct Document: Encodable {
        let ok: Bool
        let error: ErrorBody?
        let fields: Fields?

        enum Keys: String, CodingKey { case ok, error, result }

        func encode(to encoder: any Encoder) throws {
            // The result's own members first, then the envelope's members
            // in the same object (JSONEncoder merges keyed containers).
            if let fields, fields.isObject { try fields.value.encode(to: encoder) }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(ok, forKey: .ok)
            try container.encodeIfPresent(error, forKey: .error)
            if let fields, !fields.isObject { try container.encode(fields.value, forKey: .result) }
        }
    }
}

extension CLI {
    /// True when the command line asks for JSON: `--json` before any `--`
    /// terminator, or a command whose output is always JSON (`token
    /// inspect`). Decided from the raw arguments so that usage errors, which
    /// happen before any command exists, are reported as JSON too.
    static let jsonRequested: Bool = jsonRequested(in: Array(CommandLine.arguments.dropFirst()))

    /// The rule behind ``jsonRequested``, for any argument list.
    static func jsonRequested(in arguments: [String]) -> Bool {
        let options = arguments.prefix { $0 != "--" }
        if options.contains("--json") { return true }
        let words = options.filter { !$0.hasPrefix("-") }
        return words.starts(with: ["token", "inspect"])
    }

    /// Prints a command's result: `{"ok": true, ...}` on stdout.
    static func printResult(_ result: some Encodable) throws {
        FileHandle.standardOutput.write(try JSONEnvelope.success(result))
    }
}
