import ArgumentParser
import Foundation
import ModelSec

/// `modelsec policy lint FILE`: report every problem in a policy file with its line.
struct PolicyLint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Check a policy file: unknown keys and checks, missing parameters and bad values, with line numbers.",
        discussion: """
        Prints one line per problem as FILE:LINE:COLUMN: MESSAGE. Exit 0 when the \
        policy is valid, 1 when it has problems, 2 when the file cannot be read. \
        Relative key and list files named in the policy are resolved against the \
        policy's directory and must exist. Lint checks the policy, not the \
        environment: a ${VARIABLE} that is not set is a note \
        (FILE:LINE:COLUMN: note: ...), not a problem.

        Examples:
          modelsec policy lint policies/baseline.yaml
          modelsec policy lint my-policy.yaml --json
        """
    )

    @Argument(help: ArgumentHelp("The policy file (YAML).", valueName: "FILE"))
    var file: String

    @Flag(help: "Print the result as JSON: {file, valid, name, version, rules, waivers, problems:[{path, line, column, message, severity}], notes:[...]}.")
    var json = false

    struct Output: Encodable, Sendable {
        let file: String
        let valid: Bool
        let name: String?
        let version: String?
        let rules: Int?
        let waivers: Int?
        let problems: [PolicyDiagnostic]
        let notes: [PolicyDiagnostic]
    }

    /// Lint found problems in the policy (exit 1): with --json the report
    /// is printed beside the error, never after an `"ok": true`.
    struct Problems: ModelSecError {
        let file: String
        let count: Int
        var category: FailureCategory { .verificationFailed }
        var code: String { "policy.lint-problems" }
        var path: String? { file }
        var description: String { "\(file): \(count) problem(s) in the policy" }
    }

    func run() throws {
        let result = try PolicyLoader.lint(path: file)
        let p = result.policy
        let output = Output(file: file, valid: p != nil, name: p?.name, version: p?.version,
                            rules: p?.rules.count, waivers: p?.waivers.count, problems: result.problems, notes: result.notes)
        if !json {
            for d in result.diagnostics { CLI.printLine(d.description) }
            if let policy = result.policy {
                CLI.printLine("\(file): ok: policy \(policy.name) \(policy.version), \(policy.rules.count) rule(s), \(policy.waivers.count) waiver(s)")
            }
        }
        guard result.policy != nil else {
            throw ReportedFailure(error: Problems(file: file, count: result.problems.count), report: json ? output : nil)
        }
        if json { try CLI.printResult(output) }
    }
}
