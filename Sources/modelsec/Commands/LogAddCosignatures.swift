import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// `modelsec log add-cosignatures`: merge the cosignatures that witnesses
/// wrote elsewhere (`log cosign --output FILE`) into DIR's checkpoint.
struct LogAddCosignatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-cosignatures",
        abstract: "Merge witnesses' cosigned checkpoints (log cosign --output) into the log's checkpoint.",
        discussion: """
        A witness that cannot write the log's directory cosigns a copy of \
        it and hands back the cosigned checkpoint (log cosign ... --output \
        FILE). This command, run by the log's operator, checks each FILE: \
        its checkpoint must be DIR's current one (same text, signed by the \
        log key), and only the cosignature lines of the --witness-key keys \
        that verify are merged (a bad one is refused, exit 1; lines of \
        other keys are ignored). The checkpoint is rewritten under the \
        log's lock, durably. A FILE for an older checkpoint (the log grew \
        since) is refused (exit 2): the witness cosigns again. Then \
        `log prove ... --force` gives releases proofs that carry the \
        cosignatures.

        Examples:
          modelsec log add-cosignatures models-log/ --log-key log.vkey \\
              --witness-key w1.vkey --witness-key w2.vkey \\
              w1.cosigned w2.cosigned
        """
    )

    @Argument(help: ArgumentHelp("The log directory.", valueName: "DIR"))
    var directory: String

    @Argument(help: ArgumentHelp("Cosigned checkpoints written by log cosign --output.", valueName: "FILE"))
    var files: [String] = []

    @OptionGroup var key: LogKeyOptions

    @Option(name: .customLong("witness-key"), help: ArgumentHelp("A witness whose cosignatures to merge: its vkey, text or file (repeatable).", valueName: "VKEY"))
    var witnessKeys: [String] = []

    @OptionGroup var json: JSONOption

    struct Report: Encodable {
        let directory: String
        let treeSize: UInt64
        /// The witnesses (key names) whose cosignatures were merged.
        let added: [String]
    }

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one cosigned checkpoint FILE") }
        guard !witnessKeys.isEmpty else { throw ValidationError("give the --witness-key of each witness whose cosignatures to merge") }
    }

    func run() throws {
        let logKey = try key.verifier()
        let witnesses = try witnessKeys.map { try LogSupport.verifier($0, name: nil, type: .cosignatureV1, option: "--witness-key") }
        guard !witnesses.contains(where: { $0.publicKey.rawRepresentation == logKey.publicKey.rawRepresentation }) else {
            throw CLIError(.invalidValue, "a --witness-key is the log's own key (--log-key): a log cannot witness its own checkpoints")
        }
        let log = DirectoryLog(directory: directory, logKey: logKey)
        let current = try log.checkpoint()
        var merged = current.note
        var added: [String] = []
        for file in files {
            let cosigned = try SignedCheckpoint(bytes: try FileIO.readRegularFile(file, limit: SignedNote.maxBytes), logKey: logKey, what: file)
            guard Array(cosigned.note.text.utf8) == Array(current.note.text.utf8) else {
                throw CLIError(.invalidValue, "\(file) cosigns the checkpoint of size \(cosigned.checkpoint.size), but \(directory) is at size \(current.checkpoint.size) now: the witness cosigns the current checkpoint again", path: file)
            }
            for witness in witnesses {
                let lines = cosigned.note.signatures.filter { Array($0.name.utf8) == Array(witness.name.utf8) && $0.keyID == witness.keyID }
                guard !lines.isEmpty else { continue }
                try witness.verify(cosigned.note, what: file)   // a line of this witness that does not verify is refused
                for line in lines { merged.add(line) }
                if !added.contains(where: { Array($0.utf8) == Array(witness.name.utf8) }) { added.append(witness.name) }
            }
        }
        guard try log.storeCosigned(merged) else {
            throw CLIError(.invalidValue, "\(directory) grew while the cosignatures were merged: the witnesses cosign the current checkpoint again", path: directory)
        }
        let report = Report(directory: directory, treeSize: current.checkpoint.size, added: added)
        if json.isOn { return try CLI.printResult(report) }
        CLI.printLine(added.isEmpty ? "no cosignature of the given witnesses in \(files.joined(separator: ", ")); \(directory)/checkpoint unchanged"
                      : "added the cosignatures of \(added.joined(separator: ", ")) to \(directory)/checkpoint (size \(current.checkpoint.size))")
    }

}
