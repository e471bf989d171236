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
    }

    func run() throws {
        if let output { try OutputGuard.checkOutputFile(output, force: force) }
        let signer = try LogSupport.signer(keyPath: key, name: name, type: .cosignatureV1, permissions: permissions, passphrase: passphrase.source)
        let log = DirectoryLog(directory: directory, logKey: try logKey.verifier())
        let current = try log.checkpoint()
        let tree = log.tree(size: current.checkpoint.size)
        let now = LogSupport.now
        let cosigned: SignedNote
        do {
            cosigned = try Witness(stateDirectory: state, signer: signer).cosign(checkpointBytes: current.note.bytes, logKey: log.logKey, now: now) { oldSize in
                try ConsistencyProof.generate(oldSize: oldSize, newSize: current.checkpoint.size, source: tree)
            }
        } catch let TransparencyLogError.inconsistent(oldSize, newSize) where oldSize == newSize {
            throw SameSizeFork(size: newSize, path: log.path(DirectoryLog.checkpointFile))
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
                            witnessVkey: signer.verifier.vkey, timestamp: now, storedIn: storedIn)
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
