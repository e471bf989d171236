import ArgumentParser
import Foundation
import ModelSec

/// `modelsec release inspect`: show what a release directory says it contains.
struct ReleaseInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a release's release.json: name, version, signer, files, model card, evidence, findings.",
        discussion: """
        Reads release.json without checking the signature (use release verify \
        for that) and never decrypts anything. With --json prints release.json \
        itself (pretty, sorted keys).

        Examples:
          modelsec release inspect bert-1.0.0
          modelsec release inspect bert-1.0.0 --json | jq .artifacts
        """
    )

    @Argument(help: ArgumentHelp("The release directory.", valueName: "RELEASE_DIR"))
    var release: String

    @Flag(help: "Print release.json as JSON.")
    var json = false

    func run() throws {
        let manifest = try ReleaseManifest.read(directory: release)
        if json { return try CLI.printResult(manifest) }
        CLI.printLine("release: \(manifest.name)@\(manifest.version)  (not verified: use modelsec release verify)")
        CLI.printLine("created: \(manifest.createdAt) by \(manifest.tool.name) \(manifest.tool.version)")
        CLI.printLine("signer: \(manifest.signer.algorithm) key \(manifest.signer.keyID)")
        let recipients = manifest.encryption.recipients.map { recipient in recipient.keyID.map { "\(recipient.type) \($0)" } ?? recipient.type }
        CLI.printLine("encryption: \(manifest.encryption.format), \(manifest.encryption.cipher), \(manifest.encryption.chunkSize)-byte chunks; recipients: \(recipients.joined(separator: ", "))")
        CLI.printLine("files: \(manifest.artifacts.count) (\(ByteCountFormatting.string(Int64(clamping: manifest.totalSize))))")
        for artifact in manifest.artifacts {
            CLI.printLine("  \(artifact.sha256)  \(artifact.size)  \(artifact.path)")
        }
        if let card = manifest.modelCard {
            CLI.printLine("model card:")
            for key in card.fields.keys.sorted() { CLI.printLine("  \(key): \(card.fields[key]!.displayText)") }
        }
        if let dp = manifest.dpReport { CLI.printLine("dp report: \(dp)") }
        if let evidence = manifest.evidence, !evidence.isEmpty {
            CLI.printLine("evidence:")
            for file in evidence { CLI.printLine("  \(file.sha256)  \(file.size)  \(file.path) (\(file.kind))") }
        }
        if let scan = manifest.scan {
            CLI.printLine("scanner: \(scan.tool), \(scan.scannedFiles) file\(scan.scannedFiles == 1 ? "" : "s") scanned, \(scan.findings.count) finding\(scan.findings.count == 1 ? "" : "s")")
            for finding in scan.findings { CLI.printLine("  \(finding.severity) \(finding.kind) \(finding.location): \(finding.message)") }
        } else {
            CLI.printLine("scanner: not run")
        }
    }
}

extension MetadataValue {
    /// Strings as they are, everything else as compact JSON.
    var displayText: String { stringValue ?? description }
}
