import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import ModelSigning
import TransparencyLog

/// Releases and the transparency log: the entry a release is logged under,
/// appending it (as `release create --log` does) with its inclusion proof
/// written into the release, and checking that proof (the deploy gate's
/// `log` step). The formats are in docs/transparency-log.md.
public enum ReleaseTransparency {
    /// The proof file inside a release directory (not covered by the release
    /// signature: it is made after signing and authenticated by the log key).
    public static let proofFile = "release.tlog-proof"

    /// The log entry of the release in `directory`: name, version, signer
    /// and time from release.json, and the SHA-256 of the statement that
    /// release.sig signs. release.json must be the bytes that statement
    /// names (else a release.json edited after signing would log a name,
    /// version or time the key never signed). With `trustedKeys`, the release
    /// must also pass the gate's authentication (``ReleaseAuthentication``):
    /// the signature verifies with one of them, by the signer release.json
    /// names, and release.json agrees with the signed list.
    public static func entry(releaseDirectory directory: String, trustedKeys: TrustedKeys?) throws -> ReleaseLogEntry {
        let signaturePath = (directory as NSString).appendingPathComponent(ReleaseLayout.signatureFile)
        if let trustedKeys {
            switch ReleaseAuthentication.check(directory: directory, trustedKeys: trustedKeys) {
            case let .rejected(_, reason):
                throw TransparencyLogError.releaseSignatureRejected(path: signaturePath, reason: reason)
            case let .authentic(release):
                let bundle = try SignatureBundle(jsonData: Data(release.signatureBytes), label: signaturePath)
                return try entry(manifest: release.manifest, bundle: bundle, label: signaturePath)
            }
        }
        let manifestPath = (directory as NSString).appendingPathComponent(ReleaseLayout.manifestFile)
        let manifestBytes = try FileIO.readRegularFile(manifestPath, limit: ReleaseAuthentication.maximumFileSize)
        let manifest = try ReleaseManifest(jsonData: Data(manifestBytes), label: manifestPath)
        let bundle = try SignatureBundle.read(from: signaturePath)
        let signed: SignedManifest
        do { signed = try bundle.manifest(label: signaturePath) } catch let error as SignatureFormatError {
            throw TransparencyLogError.releaseSignatureRejected(path: signaturePath, reason: "the signed statement is unusable: \(error.reason)")
        }
        let named = signed.resources.filter { Array($0.name.utf8) == Array(ReleaseLayout.manifestResourceName.utf8) }
        guard named.count == 1, let expected = Hex.decode(named[0].digest),
              ConstantTime.equals(SHA2.SHA256.hash(data: manifestBytes).bytes, expected) else {
            throw TransparencyLogError.releaseSignatureRejected(
                path: manifestPath, reason: "release.json is not the one release.sig signs (its SHA-256 does not match the signed digest): it was modified after signing")
        }
        guard Array(signed.modelName.utf8) == Array(manifest.name.utf8) else {
            throw TransparencyLogError.releaseSignatureRejected(
                path: manifestPath, reason: "names the release \"\(manifest.name)\" but the signature's subject is \"\(signed.modelName)\"")
        }
        return try entry(manifest: manifest, bundle: bundle, label: signaturePath)
    }

    /// The log entry of a release whose release.json is `manifest` and whose
    /// release.sig is `bundle` (the gate passes the authenticated ones, so
    /// nothing is read twice).
    public static func entry(manifest: ReleaseManifest, bundle: SignatureBundle, label: String) throws -> ReleaseLogEntry {
        guard let payload = Data(base64Encoded: bundle.dsseEnvelope.payload) else {
            throw TransparencyLogError.malformedEntry(what: label, reason: "the DSSE payload is not base64")
        }
        return try ReleaseLogEntry(name: manifest.name, version: manifest.version, signerKeyID: manifest.signer.keyID,
                                   statement: Array(payload), time: manifest.createdAt)
    }

    /// What ``append(releaseDirectory:to:signer:overwrite:)`` did.
    public struct Logged: Sendable {
        /// The release's entry.
        public let entry: ReleaseLogEntry
        /// Its index in the log.
        public let index: UInt64
        /// The tree size of the checkpoint the proof is against.
        public let treeSize: UInt64
        /// Where the proof was written.
        public let proofPath: String
    }

    /// Appends the release in `directory` to `log` (one entry, under the
    /// log's file lock, with a new checkpoint signed by `signer`), then
    /// writes its inclusion proof against that checkpoint into the release
    /// as ``proofFile``. The proof is checked before it is written.
    public static func append(releaseDirectory directory: String, to log: DirectoryLog, signer: NoteSigner,
                              overwrite: Bool = false, waitingForLock: (() -> Void)? = nil) throws -> Logged {
        let proofPath = (directory as NSString).appendingPathComponent(proofFile)
        try AtomicFileWriter.checkDestination(proofPath, overwrite: overwrite)
        let entry = try entry(releaseDirectory: directory, trustedKeys: nil)
        let bytes = entry.canonicalBytes
        let result = try log.append([bytes], signer: signer, waitingForLock: waitingForLock)
        let size = result.checkpoint.checkpoint.size
        do {
            let hashes = try InclusionProof.generate(index: result.firstIndex, size: size, source: log.tree(size: size))
            let proof = TlogProof(extra: TlogProof.label(for: bytes), index: result.firstIndex, hashes: hashes,
                                  checkpoint: result.checkpoint.note)
            try proof.verify(entry: bytes, logKey: log.logKey, what: "the new proof")
            try AtomicFileWriter.write(proof.bytes, to: proofPath, mode: 0o644, overwrite: overwrite)
        } catch {
            throw LoggedWithoutProof(release: directory, index: result.firstIndex, underlying: error)
        }
        return Logged(entry: entry, index: result.firstIndex, treeSize: size, proofPath: proofPath)
    }

    /// Writes the inclusion proof of the release in `directory`, logged at
    /// `index` by a store-sequenced append, against the current checkpoint
    /// of the published log directory `log` (which covers the index), into
    /// the release as ``proofFile``. The proof is checked before it is written.
    public static func writeProof(releaseDirectory directory: String, entry: ReleaseLogEntry, index: UInt64, log: DirectoryLog,
                                  overwrite: Bool = false) throws -> Logged {
        let proofPath = (directory as NSString).appendingPathComponent(proofFile)
        try AtomicFileWriter.checkDestination(proofPath, overwrite: overwrite)
        let bytes = entry.canonicalBytes
        let checkpoint = try log.checkpoint()
        let size = checkpoint.checkpoint.size
        guard index < size else { throw TransparencyLogError.indexOutOfRange(index: index, size: size) }
        let hashes = try InclusionProof.generate(index: index, size: size, source: log.tree(size: size))
        let proof = TlogProof(extra: TlogProof.label(for: bytes), index: index, hashes: hashes, checkpoint: checkpoint.note)
        try proof.verify(entry: bytes, logKey: log.logKey, what: "the new proof")
        try AtomicFileWriter.write(proof.bytes, to: proofPath, mode: 0o644, overwrite: overwrite)
        return Logged(entry: entry, index: index, treeSize: size, proofPath: proofPath)
    }

    /// Checks that an authenticated release is in the log: its
    /// ``proofFile`` is a tlog-proof whose checkpoint the check's log key
    /// signed (and at least `requiredWitnesses` of its witnesses cosigned),
    /// proving the inclusion of exactly this release's entry, computed from
    /// the authenticated release.json and release.sig bytes.
    @discardableResult
    public static func verify(_ release: AuthenticRelease, against check: TransparencyLogCheck) throws -> (ReleaseLogEntry, UInt64, SignedCheckpoint) {
        let signaturePath = (release.directory as NSString).appendingPathComponent(ReleaseLayout.signatureFile)
        let bundle = try SignatureBundle(jsonData: Data(release.signatureBytes), label: signaturePath)
        let entry = try entry(manifest: release.manifest, bundle: bundle, label: signaturePath)
        let proofPath = (release.directory as NSString).appendingPathComponent(proofFile)
        guard FileIO.exists(proofPath) else {
            throw TransparencyLogError.logUnusable(path: proofPath, reason: "the release carries no transparency-log proof (log it with release create --log, or log prove)")
        }
        let proof = try TlogProof(bytes: try FileIO.readRegularFile(proofPath, limit: TlogProof.maxBytes), what: proofPath)
        let witnesses = try check.witnesses + check.witnessPublicKeys.compactMap { try Self.witness($0, in: proof.checkpoint) }
        let checkpoint = try proof.verify(entry: entry.canonicalBytes, logKey: check.logKey, witnesses: witnesses,
                                          requiredWitnesses: check.requiredWitnesses, what: proofPath)
        return (entry, proof.index, checkpoint)
    }

    /// The cosignature verifier for a witness known only by its Ed25519 key:
    /// under the name of the first cosignature line whose key id is that
    /// key's under that name and whose signature verifies (else the first
    /// such line, whose failure is then reported; nil when no line matches).
    /// One verifier, so the key counts at most once; a junk line put before
    /// the witness's own cannot hide it.
    static func witness(_ key: Ed25519.PublicKey, in note: SignedNote) throws -> NoteVerifier? {
        var first: NoteVerifier?
        for signature in note.signatures
        where noteKeyID(name: signature.name, type: .cosignatureV1, publicKey: key.rawRepresentation) == signature.keyID {
            let candidate = try NoteVerifier(name: signature.name, type: .cosignatureV1, publicKey: key)
            if (try? candidate.verify(note, what: "checkpoint")) != nil { return candidate }
            if first == nil { first = candidate }
        }
        return first
    }
}

/// The deploy gate's `log` step: the release must be in the log whose
/// checkpoints `logKey` signs, cosigned by `requiredWitnesses` of `witnesses`.
public struct TransparencyLogCheck: Sendable {
    /// The log's checkpoint key (its name is the log's origin).
    public var logKey: NoteVerifier
    /// Witness cosigning keys, each with its name (vkeys).
    public var witnesses: [NoteVerifier]
    /// Witness Ed25519 keys given without a name (PEM files): each matches the
    /// cosignature line whose name and key give its key id.
    public var witnessPublicKeys: [Ed25519.PublicKey] = []
    /// How many of `witnesses` must have cosigned the proof's checkpoint.
    public var requiredWitnesses: Int

    /// A check against `logKey`, with `requiredWitnesses` of `witnesses`.
    public init(logKey: NoteVerifier, witnesses: [NoteVerifier] = [], requiredWitnesses: Int = 0) {
        self.logKey = logKey
        self.witnesses = witnesses
        self.requiredWitnesses = requiredWitnesses
    }
}

/// The release was appended to the log, but its proof could not be made or
/// written: the release must not be discarded (its entry is in the log, and
/// making it again would log a second statement for its name and version).
/// Code and category are the underlying failure's.
public struct LoggedWithoutProof: ModelSecError {
    /// The release directory (still in place).
    public let release: String
    /// Its index in the log.
    public let index: UInt64
    /// Why the proof failed.
    public let underlying: any Error

    /// The failure, for a release logged at `index`.
    public init(release: String, index: UInt64, underlying: any Error) {
        self.release = release
        self.index = index
        self.underlying = underlying
    }

    public var category: FailureCategory { (underlying as? ModelSecError)?.category ?? .invalidInput }
    public var code: String { (underlying as? ModelSecError)?.code ?? "tlog.log-unusable" }
    public var path: String? { release }
    public var description: String {
        "\(release) is logged as entry \(index), but its proof could not be written: \(underlying)"
    }
}
