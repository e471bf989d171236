import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// `modelsec log append`: add releases or raw entries in one batch.
struct LogAppend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append releases (or raw entries) to a log in one batch and publish a new checkpoint.",
        discussion: """
        Appends are serialised by a lock on DIR/.lock, so several pipelines \
        may append at once. Tiles are written and flushed before the new \
        checkpoint is renamed into place: a crash leaves the previous \
        checkpoint and a log that verifies. All entries given in one call \
        share one checkpoint.

        A release's entry is modelsec-release-entry/v1 (name, version, \
        signer key id, SHA-256 of the signed statement, time): see \
        docs/transparency-log.md. With --trusted-keys or --public-key the \
        release signature must verify before it is logged.

        With --store URL (or MODELSEC_STORE), the entries are sequenced by \
        the shared store instead (one transaction assigns the next indices \
        and stores the new signed checkpoint; a release already logged \
        keeps its index), then DIR is rewritten from the store's records \
        (tiles flushed before the checkpoint), as `log publish` does. A \
        store without this log starts it (or takes over DIR's entries when \
        DIR already holds some). The origin is DIR's checkpoint's, or \
        --origin. See docs/store.md.

        Examples:
          modelsec log append models-log/ --key log.pem --release bert-1.0.0
          modelsec log append models-log/ --key log.pem --release a-1.0 \\
              --release b-2.0 --public-key release.pub
          modelsec log append models-log/ --key log.pem --entry-bundle entries.bin
          modelsec log append models-log/ --key log.pem --release bert-1.0.0 \\
              --store postgres://ci@db/modelsec
        """
    )

    @Argument(help: ArgumentHelp("The log directory.", valueName: "DIR"))
    var directory: String

    @Option(name: .customLong("key"), help: ArgumentHelp("The log's Ed25519 private key (default: the file $MODELSEC_LOG_SIGNING_KEY names).", valueName: "KEY"))
    var keyOption: String?

    /// `--key`, else the path in `MODELSEC_LOG_SIGNING_KEY` (checked in `validate`).
    var key: String { keyOption ?? LogSupport.signingKeyFromEnvironment ?? "" }

    @Option(name: .customLong("release"), help: ArgumentHelp("A release directory to log (repeatable).", valueName: "REL"))
    var releases: [String] = []

    @Option(name: .customLong("entry-file"), help: ArgumentHelp("A file whose bytes are one raw entry (repeatable).", valueName: "FILE"))
    var entryFiles: [String] = []

    @Option(name: .customLong("entry-bundle"), help: ArgumentHelp("A file of raw entries, each prefixed by its length as a big-endian uint16.", valueName: "FILE"))
    var entryBundles: [String] = []

    @Option(name: .customLong("trusted-keys"), help: ArgumentHelp("Only log releases signed by a key in this directory.", valueName: "DIR"))
    var trustedKeysDirectory: String?

    @Option(name: .customLong("public-key"), help: ArgumentHelp("Only log releases signed by this key (repeatable).", valueName: "PUB.pem"))
    var publicKeys: [String] = []

    @Option(help: ArgumentHelp("With a store: the log's origin (default: the origin of DIR's checkpoint).", valueName: "ORIGIN"))
    var origin: String?

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var permissions: KeyPermissionOptions

    @OptionGroup var json: JSONOption

    struct Report: Encodable {
        let firstIndex: UInt64
        let count: Int
        let treeSize: UInt64
        let rootHash: String
        let releases: [String]
        /// The index of each entry given, in order.
        let indices: [UInt64]
        /// How many entries were new (the others were already logged).
        var added: Int? = nil
        /// With a store: the redacted store URL.
        var store: String? = nil
    }

    func validate() throws {
        if releases.isEmpty && entryFiles.isEmpty && entryBundles.isEmpty {
            throw ValidationError("give at least one --release, --entry-file or --entry-bundle")
        }
        if origin != nil && storeOptions.urlText == nil { throw ValidationError("--origin goes with --store URL") }
        if key.isEmpty { throw ValidationError("give the log's Ed25519 private key with --key KEY (or set MODELSEC_LOG_SIGNING_KEY to its path)") }
        try storeOptions.refusePasswordFileWithoutURL()
    }

    func run() throws {
        let trusted: TrustedKeys?
        if let trustedKeysDirectory {
            trusted = try TrustedKeys(directory: trustedKeysDirectory)
        } else if !publicKeys.isEmpty {
            trusted = try TrustedKeys(publicKeyFiles: publicKeys)
        } else {
            trusted = nil
        }
        if trusted == nil, !releases.isEmpty {
            CLI.warn("the releases' signatures are not checked (give --trusted-keys DIR or --public-key PUB.pem): an unchecked release may name any signing key")
        }
        var entries: [[UInt8]] = []
        var names: [String] = []
        for release in releases {
            let entry = try LogSupport.entry(releaseDirectory: release, trustedKeys: trusted)
            entries.append(entry.canonicalBytes)
            names.append(entry.release)
        }
        for file in entryFiles {
            let bytes = try FileIO.readRegularFile(file, limit: EntryBundle.maxEntryBytes)
            entries.append(bytes)
        }
        for file in entryBundles {
            let bytes = try FileIO.readRegularFile(file, limit: 1 << 30)
            entries += try EntryBundle.decode(bytes, expected: Self.countEntries(bytes, file: file), what: file)
        }
        if storeOptions.urlText != nil { return try runWithStore(entries: entries, names: names) }
        // The key name is the origin; append verifies the checkpoint's signature with this key.
        let origin = try Self.origin(ofCheckpointIn: directory)
        let signer = try LogSupport.signer(keyPath: key, name: origin, type: .ed25519, permissions: permissions, passphrase: passphrase.source)
        try LogSupport.requireKeyOfLog(signer, directory: directory, keyPath: key)
        let result = try DirectoryLog(directory: directory, logKey: signer.verifier).append(entries, signer: signer) {
            CLI.info("waiting for \(directory)/.lock: another append holds the log")
        }
        try finish(Report(firstIndex: result.firstIndex, count: entries.count, treeSize: result.checkpoint.checkpoint.size,
                          rootHash: result.checkpoint.checkpoint.root.base64, releases: names, indices: result.indices,
                          added: result.added))
    }

    /// The append sequenced by the store, then DIR published from it.
    func runWithStore(entries: [[UInt8]], names: [String]) throws {
        let origin = try LogStoreSupport.origin(explicit: self.origin, directory: directory)
        let signer = try LogSupport.signer(keyPath: key, name: origin, type: .ed25519, permissions: permissions, passphrase: passphrase.source)
        guard let store = try LogStoreSupport.open(storeOptions) else { return }
        let (appended, _) = try LogStoreSupport.append(entries, directory: directory, signer: signer, store: store)
        try finish(Report(firstIndex: appended.indices.min() ?? 0, count: entries.count, treeSize: appended.checkpoint.checkpoint.size,
                          rootHash: appended.checkpoint.checkpoint.root.base64, releases: names, indices: appended.indices,
                          added: appended.added, store: store.storeName),
                   where: " (sequenced by \(store.storeName), published to \(directory))")
    }

    /// Prints the report as JSON, or each release as logged or already
    /// logged (an index below the entries this call added) and the new tree.
    private func finish(_ report: Report, where suffix: String = "") throws {
        if json.isOn { return try CLI.printResult(report) }
        let firstAdded = report.treeSize - UInt64(report.added ?? 0)
        for (offset, name) in report.releases.enumerated() {
            let index = report.indices[offset]
            CLI.printLine("\(index < firstAdded ? "already logged" : "logged") \(name) at index \(index)")
        }
        print("tree size \(report.treeSize), root \(report.rootHash)\(suffix)")
    }

    /// The origin line of DIR/checkpoint (not yet verified: the signature is
    /// checked against the key right after).
    static func origin(ofCheckpointIn directory: String) throws -> String {
        let path = (directory as NSString).appendingPathComponent(DirectoryLog.checkpointFile)
        guard FileIO.exists(path) else { throw TransparencyLogError.logUnusable(path: directory, reason: "is not a transparency log (no checkpoint)") }
        let note = try SignedNote(bytes: try FileIO.readRegularFile(path, limit: SignedNote.maxBytes), what: path)
        return try Checkpoint(text: note.text, what: path).origin
    }

    /// Number of length-prefixed entries in a bundle file.
    static func countEntries(_ bytes: [UInt8], file: String) throws -> Int {
        var offset = 0, count = 0
        while offset < bytes.count {
            guard offset + 2 <= bytes.count else { throw TransparencyLogError.malformedEntry(what: file, reason: "ends inside a length prefix") }
            offset += 2 + (Int(bytes[offset]) << 8 | Int(bytes[offset + 1]))
            count += 1
        }
        guard offset == bytes.count else { throw TransparencyLogError.malformedEntry(what: file, reason: "ends inside an entry") }
        return count
    }
}
