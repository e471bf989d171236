import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// `modelsec log prove`: write a tlog-proof for a logged release.
struct LogProve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Write a c2sp.org/tlog-proof@v1 file showing that a release (or entry) is in the log.",
        discussion: """
        Finds the release's entry through the log's leaf index (DIR/.leaf-index, \
        kept by log append), trusting a hit only once its inclusion proof leads \
        to the verified checkpoint; without a usable index (or when it has no \
        proven hit) it says so and reads and verifies the whole log instead. \
        It writes the proof: name@version as extra data, the entry's index, the \
        inclusion proof and the current checkpoint with its cosignatures. By \
        default it is written into the release as release.tlog-proof.

        Examples:
          modelsec log prove models-log/ --log-key log.vkey --release bert-1.0.0
          modelsec log prove models-log/ --log-key log.vkey \\
              --release bert-1.0.0 --force   # a newer checkpoint
          modelsec log prove models-log/ --log-key log.vkey --index 41 \\
              --output entry-41.tlog-proof
        """
    )

    /// The proof's file name inside a release directory.
    static let releaseProofFile = "release.tlog-proof"

    @Argument(help: ArgumentHelp("The log directory.", valueName: "DIR"))
    var directory: String

    @OptionGroup var key: LogKeyOptions

    @Option(help: ArgumentHelp("The release directory whose entry to prove.", valueName: "REL"))
    var release: String?

    @Option(help: "The index of the entry to prove (instead of --release).")
    var index: UInt64?

    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the proof (default with --release: REL/release.tlog-proof).", valueName: "FILE"))
    var output: String?

    @Flag(help: "Replace an existing proof file.")
    var force = false

    @OptionGroup var json: JSONOption

    struct Report: Encodable {
        let index: UInt64
        let treeSize: UInt64
        let proofHashes: Int
        let proofBytes: Int
        let output: String
    }

    func validate() throws {
        guard (release == nil) != (index == nil) else { throw ValidationError("give exactly one of --release and --index") }
        if index != nil, output == nil { throw ValidationError("--index needs --output") }
    }

    func run() throws {
        let destination = output ?? (release! as NSString).appendingPathComponent(Self.releaseProofFile)
        try OutputGuard.checkOutputFile(destination, force: force)
        let log = DirectoryLog(directory: directory, logKey: try key.verifier())
        let current = try log.checkpoint()
        let size = current.checkpoint.size
        let reader = log.reader
        let (position, entry) = try locate(log: log, size: size, checkpoint: current.checkpoint, reader: reader)
        let hashes = try InclusionProof.generate(index: position, size: size, source: log.tree(size: size))
        let proof = TlogProof(extra: TlogProof.label(for: entry), index: position, hashes: hashes, checkpoint: current.note)
        // The proof must check before it is handed out.
        try proof.verify(entry: entry, logKey: log.logKey, what: "the new proof")
        try AtomicFileWriter.write(proof.bytes, to: destination, overwrite: force)
        let report = Report(index: position, treeSize: size, proofHashes: hashes.count, proofBytes: proof.bytes.count, output: destination)
        if json.isOn { return try CLI.printResult(report) }
        CLI.printLine("wrote \(destination): entry \(position) of \(size), \(hashes.count) proof hashes")
    }

    /// The index and bytes of the entry to prove: the release's entry, found
    /// through the leaf index (a hit proven against the checkpoint) or else
    /// by reading (and verifying) the whole log, or the entry at --index.
    private func locate(log: DirectoryLog, size: UInt64, checkpoint: Checkpoint, reader: DirectoryTileReader) throws -> (UInt64, [UInt8]) {
        if let release {
            let wanted = try LogSupport.entry(releaseDirectory: release, trustedKeys: nil)
            let bytes = wanted.canonicalBytes
            switch log.findIndexed(bytes, in: checkpoint) {
            case let .found(position):
                return (position, bytes)
            case let .unknown(reason):
                CLI.info("\(reason): reading and verifying the whole log to find \(wanted.release)")
            }
            var found: UInt64?
            try LogVerifier(reader: reader, label: { reader.path(of: $0) }).verify(checkpoint) { i, e in
                if found == nil, e == bytes { found = i }
            }
            guard let found else { throw TransparencyLogError.entryNotFound(release: wanted.release, log: directory) }
            return (found, bytes)
        }
        let index = index!
        guard index < size else { throw TransparencyLogError.indexOutOfRange(index: index, size: size) }
        let tileIndex = index / UInt64(TileID.fullWidth)
        let width = tileIndex < size / UInt64(TileID.fullWidth) ? TileID.fullWidth : Int(size % UInt64(TileID.fullWidth))
        let bundle = TileID(level: 0, index: tileIndex, width: width, isEntryBundle: true)
        let entries = try EntryBundle.decode(try reader.read(bundle), expected: width, allowLonger: !bundle.isFull, what: reader.path(of: bundle))
        return (index, entries[Int(index % UInt64(TileID.fullWidth))])
    }
}

