import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// `modelsec log cosign`: act as a witness for a log.
struct LogCosign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cosign",
        abstract: "Witness a log: cosign its checkpoint if it is consistent with the last one this witness cosigned.",
        discussion: """
        The witness keeps the last checkpoint it cosigned for each log origin \
        in --state. It verifies the log's signature, refuses a smaller tree \
        (rollback) and checks a consistency proof (computed from the log's \
        tiles) from its last cosigned tree: a forked or rewritten log is \
        refused with exit 1. The cosignature (C2SP tlog-cosignature, \
        cosignature/v1, timestamped) is added to DIR/checkpoint, or written \
        with the checkpoint to --output. The witness's vkey is printed.

        Examples:
          modelsec log cosign models-log/ --key witness.pem \\
              --name witness.example.com/w1 \\
            --log-key log.vkey --state /var/lib/modelsec-witness
        """
    )

    @Argument(help: ArgumentHelp("The log directory.", valueName: "DIR"))
    var directory: String

    @Option(help: ArgumentHelp("The witness's Ed25519 private key.", valueName: "KEY"))
    var key: String

    @Option(help: "The witness's name (its note key name), e.g. witness.example.com/w1.")
    var name: String

    @OptionGroup var logKey: LogKeyOptions

    @Option(help: ArgumentHelp("The witness's state directory.", valueName: "DIR"))
    var state: String

    @Option(name: [.short, .long], help: ArgumentHelp("Write the cosigned checkpoint here instead of into DIR/checkpoint.", valueName: "FILE"))
    var output: String?

    @Flag(help: "Replace an existing --output file.")
    var force = false

    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var permissions: KeyPermissionOptions

    @OptionGroup var json: JSONOption

    struct Report: Encodable {
        let origin: String
        let treeSize: UInt64
        let witness: String
        let witnessVkey: String
        let timestamp: UInt64
        let storedIn: String?
        /// True when the state held no earlier checkpoint of this log (the
        /// checkpoint was trusted as the first, not checked for consistency).
        let firstUse: Bool
    }

    func run() throws {
        if let output { try OutputGuard.checkOutputFile(output, force: force) }
        let signer = try LogSupport.signer(keyPath: key, name: name, type: .cosignatureV1, permissions: permissions, passphrase: passphrase.source)
        let log = DirectoryLog(directory: directory, logKey: try logKey.verifier())
        let current = try log.checkpoint()
        let tree = log.tree(size: current.checkpoint.size)
        let now = LogSupport.now
        let witness = try Witness(stateDirectory: state, signer: signer)
        // No checkpoint of this log in the state: this one is trusted as the
        // first, which is only right on the witness's real first run.
        let firstUse = try witness.lastCosigned(logKey: log.logKey) == nil
        let cosigned: SignedNote
        do {
            cosigned = try witness.cosign(checkpointBytes: current.note.bytes, logKey: log.logKey, now: now) { oldSize in
                try ConsistencyProof.generate(oldSize: oldSize, newSize: current.checkpoint.size, source: tree)
            }
        } catch let TransparencyLogError.inconsistent(oldSize, newSize) where oldSize == newSize {
            throw SameSizeFork(size: newSize, path: log.path(DirectoryLog.checkpointFile))
        } catch let TransparencyLogError.inconsistent(oldSize, newSize) {
            // Before blaming history: the proof came from DIR's tiles, so
            // tiles that do not even hash to DIR's own checkpoint mean a
            // damaged copy, not a fork.
            if let root = try? tree.rootHash(size: newSize), root != current.checkpoint.root {
                throw TilesDisagree(size: newSize, path: log.path(DirectoryLog.checkpointFile))
            }
            throw TransparencyLogError.inconsistent(oldSize: oldSize, newSize: newSize)
        }
        if firstUse {
            CLI.warn("\(state) held no checkpoint of \(current.checkpoint.origin): this one (size \(current.checkpoint.size)) is trusted as the first. A witness's state must persist between runs; a witness that starts afresh cosigns whatever it is shown.")
        }
        var storedIn: String?
        if let output {
            try AtomicFileWriter.write(cosigned.bytes, to: output, overwrite: force)
            storedIn = output
        } else if try log.storeCosigned(cosigned) {
            storedIn = log.path(DirectoryLog.checkpointFile)
        } else {
            CLI.warn("the log appended meanwhile; the cosignature is in the witness state but not in \(directory)/checkpoint")
        }
        let report = Report(origin: current.checkpoint.origin, treeSize: current.checkpoint.size, witness: name,
                            witnessVkey: signer.verifier.vkey, timestamp: now, storedIn: storedIn, firstUse: firstUse)
        if json.isOn { return try CLI.printResult(report) }
        print(signer.verifier.vkey)
        CLI.info("cosigned \(report.origin) at size \(report.treeSize)")
    }
}

/// The checkpoint has the size of the one the witness cosigned last but
/// another root: two trees of one size, a fork (the library reports it as
/// `tlog.inconsistent`, the same code; only the wording says which case).
struct SameSizeFork: ModelSecError {
    /// The tree size of both checkpoints.
    let size: UInt64
    /// The log's checkpoint file.
    let path: String?
    var category: FailureCategory { .verificationFailed }
    var code: String { TransparencyLogError.inconsistent(oldSize: size, newSize: size).code }
    var description: String {
        "the checkpoint of size \(size) has another root hash than the checkpoint of the same size this witness cosigned: the log forked (two different trees of one size)"
    }
}

/// The consistency proof from the witness's last checkpoint failed, but the
/// log's own tiles do not hash to its checkpoint's root either: a tile of
/// this copy of the log is damaged or altered, which says nothing of a fork.
struct TilesDisagree: ModelSecError {
    /// The checkpoint's tree size.
    let size: UInt64
    /// The log's checkpoint file.
    let path: String?
    var category: FailureCategory { .verificationFailed }
    var code: String { TransparencyLogError.rootMismatch(size: size).code }
    var description: String {
        "the log's tiles do not hash to its own checkpoint's root at size \(size): a tile of this copy is damaged or was altered (log verify names it); not cosigned, and this alone is not evidence of a fork"
    }
}
