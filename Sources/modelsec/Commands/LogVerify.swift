import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// `modelsec log verify`: check a whole log, and its consistency with an older checkpoint.
struct LogVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a log: checkpoint signature, every entry against its tile, every tile, the root.",
        discussion: """
        With --since, also checks that the current tree extends the tree of \
        an older checkpoint you kept (signed by the same log key): a log that \
        rewrote or forked its history fails. Exit 1 names what failed: a \
        changed entry, an altered or reordered tile, a truncated log, a \
        checkpoint not signed by the log key, an inconsistent history.

        Examples:
          modelsec log verify models-log/ --log-key "$(cat log.vkey)"
          modelsec log verify https-mirror/ --log-key log.vkey \\
              --since checkpoint.2026-11-01 --json
        """
    )

    @Argument(help: ArgumentHelp("The log directory.", valueName: "DIR"))
    var directory: String

    @OptionGroup var key: LogKeyOptions

    @Option(help: ArgumentHelp("An older checkpoint of the same log that the current one must extend.", valueName: "OLD_CHECKPOINT"))
    var since: String?

    @OptionGroup var progressOptions: ProgressOptions

    @OptionGroup var json: JSONOption

    struct Report: Encodable {
        let origin: String
        let treeSize: UInt64
        let rootHash: String
        let consistentWith: UInt64?
        let seconds: Double
    }

    func run() throws {
        let started = Date()
        let log = DirectoryLog(directory: directory, logKey: try key.verifier())
        let old = try since.map { try SignedCheckpoint(bytes: try FileIO.readRegularFile($0, limit: SignedNote.maxBytes), logKey: log.logKey, what: $0) }
        let current = try log.checkpoint()
        let reader = log.reader
        let verifier = LogVerifier(reader: reader, label: { reader.path(of: $0) })
        if let old { try verifier.verifyConsistency(from: old.checkpoint, to: current.checkpoint) }
        try verifier.verify(current.checkpoint, progress: ProgressReporter(label: "verifying entries", totalItems: Int(clamping: current.checkpoint.size)))
        let report = Report(origin: current.checkpoint.origin, treeSize: current.checkpoint.size, rootHash: current.checkpoint.root.base64,
                            consistentWith: old?.checkpoint.size, seconds: Date().timeIntervalSince(started))
        if json.isOn { return try CLI.printResult(report) }
        CLI.printLine("ok: \(report.origin), \(report.treeSize) entries, root \(report.rootHash)"
                      + (old.map { ", extends the checkpoint of size \($0.checkpoint.size)" } ?? ""))
    }
}
