import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// `modelsec log check-proof`: verify a tlog-proof offline.
struct LogCheckProof: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-proof",
        abstract: "Verify a tlog-proof offline: log signature, witness cosignatures, inclusion of the release's entry.",
        discussion: """
        The entry is rebuilt from the release itself (or read from \
        --entry-file), so a proof made for another release fails. With \
        --witness-key (repeatable) and --witnesses N, at least N of those \
        witnesses must have cosigned the checkpoint.

        Examples:
          modelsec log check-proof bert-1.0.0/release.tlog-proof \\
              --log-key log.vkey --release bert-1.0.0
          modelsec log check-proof p.tlog-proof --log-key log.pub \\
              --origin example.com/models \\
            --entry-file entry.bin --witness-key w1.vkey \\
            --witness-key w2.vkey --witnesses 2
        """
    )

    @Argument(help: ArgumentHelp("The tlog-proof file.", valueName: "PROOF"))
    var proofFile: String

    @OptionGroup var key: LogKeyOptions

    @Option(help: ArgumentHelp("The release the proof must be for.", valueName: "REL"))
    var release: String?

    @Option(name: .customLong("entry-file"), help: ArgumentHelp("The raw entry the proof must be for (instead of --release).", valueName: "FILE"))
    var entryFile: String?

    @Option(name: .customLong("witness-key"), help: ArgumentHelp("A trusted witness's vkey (text or file; repeatable).", valueName: "VKEY"))
    var witnessKeys: [String] = []

    @Option(help: ArgumentHelp("How many of the trusted witnesses must have cosigned (default: all the --witness-key keys given; 0 checks none).", valueName: "N"))
    var witnesses: Int?

    /// The quorum: `--witnesses N`, or every `--witness-key` given (a
    /// witness key given without N is never a check of zero witnesses).
    var requiredWitnesses: Int { witnesses ?? witnessKeys.count }

    @OptionGroup var json: JSONOption

    struct Report: Encodable {
        let index: UInt64
        let treeSize: UInt64
        let origin: String
        let cosigners: Int
        let proofBytes: Int
        let verificationMicroseconds: Double
    }

    func validate() throws {
        guard (release == nil) != (entryFile == nil) else { throw ValidationError("give exactly one of --release and --entry-file") }
        guard requiredWitnesses >= 0, requiredWitnesses <= witnessKeys.count else {
            throw ValidationError("--witnesses must be between 0 and the number of --witness-key keys (\(witnessKeys.count))")
        }
    }

    func run() throws {
        let logKey = try key.verifier()
        let witnessVerifiers = try witnessKeys.map { try LogSupport.verifier($0, name: nil, type: .cosignatureV1, option: "--witness-key") }
        let entry: [UInt8] = try release.map { try LogSupport.entry(releaseDirectory: $0, trustedKeys: nil).canonicalBytes }
            ?? FileIO.readRegularFile(entryFile!, limit: EntryBundle.maxEntryBytes)
        let bytes = try FileIO.readRegularFile(proofFile, limit: TlogProof.maxBytes)
        let started = DispatchTime.now().uptimeNanoseconds
        let proof = try TlogProof(bytes: bytes, what: proofFile)
        let checkpoint = try proof.verify(entry: entry, logKey: logKey, witnesses: witnessVerifiers, requiredWitnesses: requiredWitnesses, what: proofFile)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1000
        let report = Report(index: proof.index, treeSize: checkpoint.checkpoint.size, origin: checkpoint.checkpoint.origin,
                            cosigners: try checkpoint.cosignerCount(witnessVerifiers), proofBytes: bytes.count, verificationMicroseconds: elapsed)
        if json.isOn { return try CLI.printResult(report) }
        CLI.printLine("ok: entry \(report.index) is in \(report.origin) at size \(report.treeSize)\(witnessVerifiers.isEmpty ? "" : ", cosigned by \(report.cosigners) trusted witness(es), \(requiredWitnesses) required")")
    }
}
