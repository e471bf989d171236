import ArgumentParser
import Foundation
import ModelSec

/// `modelsec audit`: evaluate releases against policies and write a report.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit release directories against policies (text, JSON, SARIF, JUnit, HTML or Markdown report).",
        discussion: """
        Every release is checked against every rule of every policy; waivers in \
        the policy turn matching failures into 'waived' results until they expire. \
        The report records each policy file's SHA-256, the modelsec version and \
        the time. Exit 0 when no deny rule fails; 1 when one does (or a warn rule \
        with --fail-on-warn); 2 when a policy cannot be used. A directory that is \
        not a readable release is one failed result (release-readable); the \
        others are still audited. A path that does not exist at all is one too, \
        and then the exit code is 2.

        Signature rules (signed-by-trusted-key) verify with the keys given by \
        --trusted-keys / --public-key when there are any, in place of the keys the \
        policy names (the shipped policies name ${MODELSEC_TRUSTED_KEYS}). Every \
        report says which keys were used.

        --format html writes one self-contained page for people (no network, \
        filters by outcome and rule, printable); --format markdown a short report \
        for a merge-request comment. --json prints the result in the JSON \
        envelope on stdout; with --output, the report in --format goes to the file.

        Examples:
          modelsec audit releases/resnet-1.2.0 \\
              --policy policies/baseline.yaml --trusted-keys trusted/
          modelsec audit releases/* --policy policies/baseline.yaml \\
              --trusted-keys trusted/ --format sarif --output audit.sarif
          modelsec audit releases/* --policy policies/strict.yaml \\
              --format junit --output audit.xml --fail-on-warn
          modelsec audit releases/* --policy policies/baseline.yaml \\
              --trusted-keys trusted/ --format html --output report.html
          modelsec audit releases/* --policy policies/baseline.yaml \\
              --trusted-keys trusted/ --format markdown > comment.md
          modelsec audit releases/bert-1.0 --policy policies/baseline.yaml \\
              --key-file deploy.key --trusted-keys trusted/

        With --identity or --key-file, each release is verified (with --trusted-keys \
        or --public-key), decrypted into a temporary directory, and its plaintext \
        scanned again; the fresh findings replace those recorded in release.json.
        """
    )

    @Argument(help: ArgumentHelp("Release directories (made by 'modelsec release create').", valueName: "RELEASE_DIR"))
    var releases: [String]

    @Option(name: .customLong("policy"), help: ArgumentHelp("A policy file (YAML); repeatable.", valueName: "FILE"))
    var policies: [String] = []

    @Option(help: ArgumentHelp("Report format: text, json, sarif, junit, html or markdown.", valueName: "FORMAT"))
    var format: String = "text"

    @Option(name: [.short, .long], help: ArgumentHelp("Write the report to FILE (atomically) instead of stdout ('-': stdout).", valueName: "FILE"))
    var output: String?

    @Flag(help: "Overwrite the --output file if it exists.")
    var force = false

    @Flag(help: "Exit 1 when a warn rule fails, too.")
    var failOnWarn = false

    @Flag(help: "Print the result as JSON in the envelope of docs/cli-json.md (with --output, the report in --format goes to the file).")
    var json = false

    @Option(help: ArgumentHelp("Rescan the plaintext: an X25519 private key the releases are encrypted to (repeatable).", valueName: "KEY"))
    var identity: [String] = []

    @Option(name: .customLong("key-file"), help: ArgumentHelp("Rescan the plaintext: a symmetric aes256 key file the releases are encrypted to.", valueName: "KEY"))
    var keyFile: String?

    @Option(name: .customLong("trusted-keys"), help: ArgumentHelp("Trusted signing keys (a directory of *.pub / *.pem) for signature rules, in place of the policy's keys; with --identity/--key-file, a release must verify with them before it is decrypted.", valueName: "DIR"))
    var trustedKeys: String?

    @Option(name: .customLong("public-key"), help: ArgumentHelp("A trusted signing public key, as --trusted-keys (repeatable).", valueName: "PUB.pem"))
    var publicKeys: [String] = []

    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var keyPermissions: KeyPermissionOptions
    @OptionGroup var progressOptions: ProgressOptions

    func validate() throws {
        if releases.isEmpty { throw ValidationError("Give at least one RELEASE_DIR.") }
        if policies.isEmpty { throw ValidationError("Give at least one --policy FILE.") }
        if AuditFormat(rawValue: format) == nil {
            throw ValidationError("Unknown --format '\(format)' (expected \(AuditFormat.allCases.map(\.rawValue).joined(separator: ", "))).")
        }
        try OutputGuard.refuseJSONWithStandardOutput(json: json, output: output)
        if json, output == nil, format != "text", format != "json" {
            throw ValidationError("--json prints the result on stdout; give --output FILE for the --format \(format) report.")
        }
        let rescan = !identity.isEmpty || keyFile != nil
        if rescan, trustedKeys == nil, publicKeys.isEmpty {
            throw ValidationError("Rescanning (--identity/--key-file) needs --trusted-keys DIR or --public-key PUB.pem: releases are verified before they are decrypted.")
        }
    }

    /// The trusted keys given to the audit (--trusted-keys and --public-key
    /// together), or nil when neither was given.
    func auditTrust() throws -> AuditTrust? {
        try CLI.signatureTrust(trustedKeys: trustedKeys, publicKeys: publicKeys)
    }

    func run() throws {
        // `--output -` is standard output, as without --output.
        let output = self.output == "-" ? nil : self.output
        let reportFormat = AuditFormat(rawValue: format)!
        // Fail now, not after auditing every release, when the report cannot be written.
        if let output { try OutputGuard.refuseExisting(output, force: force) }
        let progress = ProgressReporter(label: "auditing", totalItems: releases.count)
        var loader: any ReleaseEvidenceLoader = DefaultReleaseLoading.loader
        let trust = try auditTrust()
        if !identity.isEmpty || keyFile != nil, let trust {
            let identities = try CLI.loadIdentities(privateKeyFiles: identity, symmetricKeyFiles: keyFile.map { [$0] } ?? [],
                                                     passphrase: passphrase.source, permissions: keyPermissions)
            let template = DeployRequest(releaseDirectory: "", trustedKeys: TrustedKeys(trust.keys), identities: identities, output: "")
            loader = RescanningEvidenceLoader(base: loader, template: template)
        }
        let report: AuditReport
        do {
            report = try Auditor.run(releaseDirectories: releases, policyPaths: policies, loader: loader, trust: trust, progress: progress)
        } catch let error as PolicyError {
            throw HintedError(underlying: error, hint: "run 'modelsec policy lint \(error.file)'")
        }
        for release in report.releases where !release.readable {
            CLI.warn("\(release.error?.message ?? release.directory): reported as a failed release-readable result")
        }
        if report.signatureTrust.source == .none, report.results.contains(where: { $0.check == CheckKind.signedByTrustedKey.rawValue }) {
            CLI.warn("no trusted signing keys (\(report.signatureTrust.detail)): every signature rule fails; give --trusted-keys DIR or --public-key PUB.pem, or set the variable the policy names")
        }
        if let output {
            try AtomicFileWriter.write(try reportFormat.render(report, failOnWarn: failOnWarn), to: output, overwrite: force)
            CLI.info("\(reportFormat.rawValue) report written to \(output)")
        } else if !json {
            FileHandle.standardOutput.write(try reportFormat.render(report, failOnWarn: failOnWarn))
        }
        let code = report.exitCode(failOnWarn: failOnWarn)
        if output != nil || json || reportFormat != .text {
            CLI.info(report.signatureTrust.line)
            CLI.info(report.totals.line)
        }
        let result = json ? AuditResult(report, format: output == nil ? nil : reportFormat.rawValue, output: output) : nil
        // A RELEASE_DIR that does not exist at all (a glob that matched
        // nothing, a typo) is one failed result in a report that covers the
        // others, and unusable input: exit 2, not the exit 1 of a failed check.
        if let missing = releases.first(where: { !OutputGuard.exists($0) }) {
            throw ReportedFailure(error: FileError(path: missing, reason: "no such file or directory (a release directory to audit; reported as a failed release-readable result)"),
                                  report: result)
        }
        if code != 0 {
            let failure = AuditFailed(failures: report.totals.failures, warnings: report.totals.warnings)
            throw ReportedFailure(error: failure, report: result)
        }
        if let result { try CLI.printResult(result) }
    }
}
