import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// `modelsec log monitor`: list the releases a key signed.
struct LogMonitor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "List every logged release signed by a key, after verifying the log (and its consistency with --since).",
        discussion: """
        A key owner runs this regularly, keeping the last checkpoint it saw \
        (--save-checkpoint) and passing it as --since next time: any release \
        listed that the owner did not make means the key is misused. One \
        name@version logged by the key with two different signed statements \
        (a release swapped after the fact) is a conflict: it is listed, the \
        command exits 1 and --save-checkpoint is not written, so the next run \
        reports it again. Entries that are not release entries are skipped. KEY_ID is the signing key's \
        whole id, the 64 lowercase hex digits `modelsec key inspect KEY.pub` \
        prints; anything else is refused (exit 2) and nothing is saved.

        Examples:
          modelsec log monitor models-log/ --log-key log.vkey \\
            --key-id KEY_ID --since last.checkpoint \\
            --save-checkpoint last.checkpoint --json
        """
    )

    @Argument(help: ArgumentHelp("The log directory.", valueName: "DIR"))
    var directory: String

    @OptionGroup var key: LogKeyOptions

    @Option(name: .customLong("key-id"), help: ArgumentHelp("The signer key id to look for: 64 lowercase hex digits, the SHA-256 of the SPKI PEM, as keygen and key inspect print it (not a prefix, not a file).", valueName: "KEY_ID"))
    var keyID: String

    @Option(help: ArgumentHelp("An older checkpoint: only entries after it are listed, and the log must extend it. When it is also the --save-checkpoint file and does not exist yet (the first scheduled run), the whole log is listed.", valueName: "OLD_CHECKPOINT"))
    var since: String?

    @Option(name: .customLong("save-checkpoint"), help: ArgumentHelp("Write the verified current checkpoint here (for the next --since).", valueName: "FILE"))
    var saveCheckpoint: String?

    @Flag(help: "Replace an existing --save-checkpoint file (not needed when it is the --since file, which it then updates).")
    var force = false

    @OptionGroup var progressOptions: ProgressOptions

    @OptionGroup var json: JSONOption

    struct Found: Encodable {
        let index: UInt64
        let name: String
        let version: String
        let time: String
        let statementSha256: String
    }

    /// One name@version the key logged with more than one statement.
    struct Conflict: Encodable {
        let release: String
        let indices: [UInt64]
        let statementSha256: [String]
    }

    struct Report: Encodable {
        let treeSize: UInt64
        let fromIndex: UInt64
        let keyId: String
        let releases: [Found]
        /// Releases of the key with two or more statements, where at least one entry is new since --since.
        let conflicts: [Conflict]
    }

    /// A key id is exactly 64 lowercase hex digits: anything else (a
    /// prefix, a key file's name, a placeholder) would match no entry, and
    /// the monitor would report "0 releases" and save its checkpoint, so
    /// the releases before it would never be listed.
    static func checkKeyID(_ value: String) throws {
        let lowerHex: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        if value.utf8.count == 64, value.utf8.allSatisfy(lowerHex) { return }
        var message = "--key-id \(CLI.shellQuoted(CLI.terminalSafe(value))) is not a key id: give the 64 lowercase hex digits of the signing key's id"
        if OutputGuard.exists(value) {
            message += " (for a key file: modelsec key inspect \(CLI.shellQuoted(value)) prints its key id)"
        } else if value.utf8.count < 64, value.utf8.allSatisfy({ lowerHex($0) || (0x41...0x46).contains($0) }), !value.isEmpty {
            message += " (a prefix of \(value.utf8.count) digits matches nothing; modelsec key inspect KEY.pub prints the whole id)"
        } else {
            message += " (modelsec key inspect KEY.pub prints it)"
        }
        throw CLIError(.invalidValue, message)
    }

    func validate() throws { try Self.checkKeyID(keyID) }

    func run() throws {
        let wanted = keyID
        // Paths compared as bytes.
        let sinceIsSaved = since != nil && since.map { Array($0.utf8) } == saveCheckpoint.map { Array($0.utf8) }
        let overwrite = force || sinceIsSaved
        if let saveCheckpoint { try OutputGuard.checkOutputFile(saveCheckpoint, force: overwrite) }
        let log = DirectoryLog(directory: directory, logKey: try key.verifier())
        // `--since F --save-checkpoint F` with F missing is the first run of
        // the scheduled recipe: there is no previous checkpoint yet.
        let firstRun = sinceIsSaved && !OutputGuard.exists(since ?? "")
        let old = try since.flatMap { firstRun ? nil : $0 }.map {
            try SignedCheckpoint(bytes: try FileIO.readRegularFile($0, limit: SignedNote.maxBytes), logKey: log.logKey, what: $0)
        }
        let current = try log.checkpoint()
        let reader = log.reader
        let verifier = LogVerifier(reader: reader, label: { reader.path(of: $0) })
        if let old { try verifier.verifyConsistency(from: old.checkpoint, to: current.checkpoint) }
        let from = old?.checkpoint.size ?? 0
        var found: [Found] = []
        // Every entry of the key, old ones too: a new statement for an old name@version is a conflict.
        var byRelease: [ExactString: [Found]] = [:]
        try verifier.verify(current.checkpoint, progress: ProgressReporter(label: "reading entries", totalItems: Int(clamping: current.checkpoint.size))) { index, bytes in
            guard let entry = try? ReleaseLogEntry(bytes: bytes), entry.signerKeyID == wanted else { return }
            let item = Found(index: index, name: entry.name, version: entry.version, time: entry.time, statementSha256: entry.statementSHA256)
            byRelease[ExactString(entry.name + "@" + entry.version), default: []].append(item)
            if index >= from { found.append(item) }
        }
        let conflicts = byRelease.values.filter { items in
            Set(items.map { Array($0.statementSha256.utf8) }).count > 1 && items.contains { $0.index >= from }
        }.map { items in
            Conflict(release: items[0].name + "@" + items[0].version, indices: items.map(\.index), statementSha256: items.map(\.statementSha256))
        }.sorted { $0.indices[0] < $1.indices[0] }
        if let saveCheckpoint, conflicts.isEmpty {
            try AtomicFileWriter.write(current.note.bytes, to: saveCheckpoint, overwrite: overwrite)
        }
        let report = Report(treeSize: current.checkpoint.size, fromIndex: from, keyId: wanted, releases: found, conflicts: conflicts)
        let conflictError = conflicts.isEmpty ? nil : CLIError(
            .logReleaseConflict,
            "\(conflicts.map(\.release).joined(separator: ", ")) logged with different statements by key \(wanted)"
                + (saveCheckpoint == nil ? "" : "; --save-checkpoint not written, so the next run reports it again"),
            path: directory)
        if json.isOn {
            if let conflictError { throw ReportedFailure(error: conflictError, report: report) }
            return try CLI.printResult(report)
        }
        for item in found { CLI.printLine("\(item.index)  \(item.name)@\(item.version)  \(item.time)  statement \(item.statementSha256)") }
        for conflict in conflicts {
            CLI.printLine("CONFLICT  \(conflict.release): " + zip(conflict.indices, conflict.statementSha256)
                .map { "index \($0) statement \($1)" }.joined(separator: "; "))
        }
        CLI.info("\(found.count) release(s) signed by \(wanted) in entries \(from)..<\(current.checkpoint.size)")
        if let conflictError { throw conflictError }
    }
}
