import ArgumentParser
import Foundation
import ModelSec

/// `modelsec audit`: evaluate releases against policies and write a report.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit release directories against policies (text, JSON, SARIF 2.1.0 or JUnit XML report).",
        discussion: """
        Every release is checked against every rule of every policy; waivers in \
        the policy turn matching failures into 'waived' results until they expire. \
        The report records each policy file's SHA-256, the modelsec version and \
        the time. Exit 0 when no deny rule fails; 1 when one does (or a warn rule \
        with --fail-on-warn); 2 when a policy or a release cannot be read.

        Examples:
          modelsec audit releases/resnet-1.2.0 --policy policies/baseline.yaml
          modelsec audit releases/* --policy policies/baseline.yaml --policy policies/strict.yaml --format sarif --output audit.sarif
          modelsec audit releases/* --policy policies/strict.yaml --format junit --output audit.xml --fail-on-warn
        """
    )

    @Argument(help: ArgumentHelp("Release directories (made by 'modelsec release create').", valueName: "RELEASE_DIR"))
    var releases: [String]

    @Option(name: .customLong("policy"), help: ArgumentHelp("A policy file (YAML); repeatable.", valueName: "FILE"))
    var policies: [String] = []

    @Option(help: ArgumentHelp("Report format: text, json, sarif or junit.", valueName: "FORMAT"))
    var format: String = "text"

    @Option(help: ArgumentHelp("Write the report to FILE (atomically) instead of stdout.", valueName: "FILE"))
    var output: String?

    @Flag(help: "Exit 1 when a warn rule fails, too.")
    var failOnWarn = false

    @Flag(help: "Same as --format json.")
    var json = false

    func validate() throws {
        if releases.isEmpty { throw ValidationError("Give at least one RELEASE_DIR.") }
        if policies.isEmpty { throw ValidationError("Give at least one --policy FILE.") }
        if ReportFormat(rawValue: format) == nil {
            throw ValidationError("Unknown --format '\(format)' (expected text, json, sarif or junit).")
        }
        if json, format != "text", format != "json" { throw ValidationError("--json conflicts with --format \(format).") }
    }

    func run() throws {
        let reportFormat = json ? .json : ReportFormat(rawValue: format)!
        let progress = ProgressReporter(label: "auditing", totalItems: releases.count)
        let report = try Auditor.run(releaseDirectories: releases, policyPaths: policies, progress: progress)
        let data = try report.rendered(as: reportFormat, failOnWarn: failOnWarn)
        if let output {
            try AtomicFileWriter.write(data, to: output)
            CLI.info("\(reportFormat.rawValue) report written to \(output)")
        } else {
            FileHandle.standardOutput.write(data)
        }
        let code = report.exitCode(failOnWarn: failOnWarn)
        if output != nil || reportFormat != .text {
            CLI.info(report.totals.line)
        }
        if code != 0 {
            let why = report.totals.failures > 0 ? "\(report.totals.failures) deny rule result(s) failed" : "\(report.totals.warnings) warning(s) with --fail-on-warn"
            FileHandle.standardError.write(Data("modelsec: error: audit failed: \(why)\n".utf8))
            throw CLI.Exit(code: code)
        }
    }
}
