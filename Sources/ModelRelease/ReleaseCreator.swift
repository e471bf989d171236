import ArtifactEncryption
import Dispatch
import Foundation
import ModelScanner
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import ModelSigning

/// Makes a release directory: hashes and encrypts every model file in one
/// read, scans the plaintext, writes the evidence files (BOM, provenance)
/// and `release.json`, signs the plaintext digests plus `release.json` and
/// the evidence files, and renames the finished directory into place.
///
/// ```swift
/// let request = ReleaseRequest(model: "bert/", name: "bert", version: "1.0.0",
///                              signingKey: try KeyFile.loadSigningKey("release.pem"),
///                              recipients: [try .load(publicKeyFile: "deploy.pub")],
///                              output: "bert-1.0.0.release")
/// let created = try ReleaseCreator.create(request)
/// ```
public enum ReleaseCreator {
    /// What `create` did.
    public struct Result: Sendable {
        /// The release directory.
        public let directory: String
        /// The manifest written as release.json.
        public let manifest: ReleaseManifest
        /// The signed statement's subject digest (hex).
        public let subjectDigest: String
    }

    /// Refuses an output the release could not be put at: a name that is
    /// `.`, `..` or empty, or a path that exists and is not an empty
    /// directory (the checks ``create(_:)`` makes on its destination).
    public static func checkOutput(_ output: String) throws {
        var bytes = Array(output.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        let name = bytes.lastIndex(of: UInt8(ascii: "/")).map { Array(bytes[($0 + 1)...]) } ?? bytes
        guard !name.isEmpty, name != Array(".".utf8), name != Array("..".utf8) else {
            throw ReleaseInputError(path: output, reason: "is not a usable output directory name")
        }
        try StagingDirectory.checkDestination(output)
    }

    /// Creates the release `request` describes. On any error nothing is left
    /// at the output path.
    ///
    /// Every model file is opened through the directory descriptors of the
    /// walk (``ModelTree/Opener``), by the encryption and by the scan: a
    /// directory or file swapped for a symbolic link, or a file replaced,
    /// after the walk makes the release fail instead of reading a file
    /// outside the model or another file than the one listed.
    public static func create(_ request: ReleaseRequest) throws -> Result {
        try create(request, afterWalk: { _ in })
    }

    /// ``create(_:)`` with `afterWalk` run between the walk and the reads
    /// (tests change the model there).
    static func create(_ request: ReleaseRequest, afterWalk: (ModelTree) throws -> Void) throws -> Result {
        if let problem = ReleaseIdentity.problem(name: request.name, version: request.version) {
            throw ReleaseInputError(path: "release", reason: problem)
        }
        guard !request.recipients.isEmpty else {
            throw ReleaseInputError(path: request.output, reason: "a release needs at least one recipient or key file")
        }
        let recipients = try request.recipients.map(recipientEntry)
        if let chain = request.certificateChain {
            try SignatureBundle.checkSigningChain(chain, publicKey: request.signingKey.publicKey)
        }
        try refuseOutputInside(model: request.model, output: request.output)
        let model = try walk(request.model)
        let paths = try model.files.map { try releasePath(of: $0, model: request.model) }
        let staging = try StagingDirectory(destination: request.output)
        try afterWalk(model)

        // The scanner reads the plaintext on its own thread while the files are encrypted.
        let scanSlot = ResultSlots<ReleaseManifest.ScanResult>(count: 1)
        let scanning = DispatchGroup()
        if request.scan {
            DispatchQueue.global().async(group: scanning) { scanSlot.set(0, scanResult(model: model, paths: paths)) }
        }
        defer { scanning.wait() }  // never leave the scan running past this call, even on error

        let total = model.files.reduce(Int64(0)) { $0 + $1.size }
        let progress = ProgressReporter(label: "releasing", totalBytes: total, totalItems: model.files.count, handler: request.progress)
        // One job per file on a few threads at once, so that the serial part
        // of each file's work (SHA-256 on the reading thread) overlaps with
        // other files'; each file's chunks are encrypted on every core.
        // Files are opened through the walked directories' descriptors: one opener per lane.
        let openers = (0..<ParallelWork.defaultLanes).map { _ in ModelTree.Opener(model) }
        let slots = ResultSlots<ReleaseManifest.Artifact>(count: model.files.count)
        try ParallelWork.forEach(count: model.files.count, lanes: openers.count) { index, lane in
            let file = model.files[index]
            let path = paths[index]
            let input = try openers[lane.index].openUnchanged(file)
            defer { close(input) }
            let output = try staging.create(ReleaseLayout.encryptedPath(for: path))
            let source = HashingSource(FileDescriptorSource(fd: input, name: file.displayPath), progress: progress)
            var encryptedSize: UInt64 = 0
            do {
                let encryptor = try Encryptor(recipients: request.recipients, chunkSize: request.chunkSize) { bytes in
                    try output.write(bytes)
                    encryptedSize += UInt64(bytes.count)
                }
                try encryptor.write(from: source)
                try encryptor.finish()
                // A write during the reads would make the release (and the scan) a mixture of two versions.
                guard FileStamp.of(descriptor: input) == file.stamp else { throw ModelTreeError(path: file.displayPath, problem: .changed) }
                try output.finish()
            } catch let error as EncryptionError {
                throw error.at(file.displayPath)
            }
            progress.advance(items: 1)
            slots.set(index, ReleaseManifest.Artifact(path: path.string, size: source.byteCount, sha256: source.finalize().hex,
                                                      encryptedPath: ReleaseLayout.encryptedPath(for: path).string, encryptedSize: encryptedSize))
        }
        let artifacts = slots.values
        progress.finish()
        scanning.wait()
        // The scanner read each file on its own: the files must still be the
        // ones that were hashed and encrypted, and no file may have been
        // added, removed or renamed since the walk.
        if let changed = model.firstFileChangedSinceWalk() { throw ModelTreeError(path: changed, problem: .changed) }
        if let changed = model.directoriesChangedSinceWalk().first {
            throw ReleaseInputError(path: changed, reason: "files were added, removed or renamed while the release was being created; run again once the model is complete")
        }
        let scan = request.scan ? scanSlot.values.first : nil

        let evidenceSubject = EvidenceSubject(name: request.name, version: request.version, createdAt: ReleaseManifest.timestamp(request.createdAt),
                                      artifacts: artifacts, card: request.modelCard)
        let evidence = try EvidenceFiles.make(evidenceSubject, request: request)
        for file in evidence { try staging.write(file.bytes, to: ModelPath(file.entry.path)) }

        let manifest = ReleaseManifest(
            name: request.name, version: request.version, createdAt: request.createdAt,
            signer: .init(keyID: request.signingKey.publicKey.keyID, algorithm: signatureAlgorithm(request.signingKey.algorithm)),
            encryption: .init(format: ReleaseManifest.encryptionFormat, cipher: ReleaseManifest.encryptionCipher,
                              chunkSize: request.chunkSize, recipients: recipients),
            artifacts: artifacts, modelCard: request.modelCard, dpReport: request.dpReport, scan: scan,
            evidence: evidence.map(\.entry))
        let manifestBytes = try manifest.encoded()
        // Never sign a release.json the gate would refuse as ambiguous (the
        // model card's keys are checked as they are read; this holds for
        // every field).
        do { try UnambiguousJSON.check(manifestBytes) } catch let ambiguity as UnambiguousJSON.Ambiguity {
            throw ReleaseInputError(path: ReleaseLayout.manifestFile, reason: "the release.json to be signed would be refused by readers: \(ambiguity)")
        }
        try staging.write(manifestBytes, to: ModelPath(ReleaseLayout.manifestFile))

        let resources = artifacts.map { (name: $0.path, sha256: $0.sha256) }
            + [(name: ReleaseLayout.manifestResourceName, sha256: SHA2.SHA256.hash(data: manifestBytes).hex)]
            + evidence.map { (name: ReleaseLayout.evidenceResourceName($0.entry.path), sha256: $0.entry.sha256) }
        var bundle = try ReleaseSignature.sign(subjectName: request.name, resources: resources, signer: request.signingKey)
        if let chain = request.certificateChain {
            bundle = try bundle.attachingCertificateChain(chain, publicKey: request.signingKey.publicKey)
        }
        try staging.write(bundle.jsonData(), to: ModelPath(ReleaseLayout.signatureFile))
        let subject = try bundle.manifest().subjectDigest
        try staging.commit()
        return Result(directory: staging.destination, manifest: manifest, subjectDigest: subject)
    }

    /// Walks the model with the shared walker and the release rules: the
    /// top-level git files are left out (as OMS signing leaves them out),
    /// symbolic links and special files are refused, and the model must not
    /// hold the provenance directory the deploy gate writes.
    static func walk(_ model: String) throws -> ModelTree {
        let tree: ModelTree
        do {
            tree = try ModelTree.walk(model, options: .init(ignoring: ReleaseLayout.ignoredTopLevelNames.map { ModelPath($0) }))
        } catch let error as ModelTreeError where error.problem == .symbolicLink {
            throw ReleaseInputError(path: error.file, reason: "is a symbolic link; releases contain regular files only (give the real path)")
        }
        let provenance = ModelPath(ReleaseLayout.provenanceDirectory)
        if !tree.isSingleFile, let inside = tree.directories.first(where: { $0.path.isWithin(provenance) })?.displayPath
            ?? tree.files.first(where: { $0.path.isWithin(provenance) })?.displayPath {
            throw ReleaseInputError(path: inside, reason: "the model must not contain \(ReleaseLayout.provenanceDirectory)/ (the deploy gate writes release provenance there)")
        }
        guard !tree.files.isEmpty else { throw ReleaseInputError(path: model, reason: "the model directory has no files") }
        return tree
    }

    /// Refuses an output directory inside the model: the release would be
    /// written into what it is releasing. Compared on real paths (symbolic
    /// links and `..` resolved by the kernel), as bytes.
    static func refuseOutputInside(model: String, output: String) throws {
        guard let modelReal = realpath(model, nil) else { return }   // the walk reports an unreadable model
        defer { free(modelReal) }
        var outputBytes = Array(output.utf8)
        while outputBytes.count > 1, outputBytes.last == UInt8(ascii: "/") { outputBytes.removeLast() }
        let parentBytes = outputBytes.lastIndex(of: UInt8(ascii: "/")).map { $0 == 0 ? [UInt8(ascii: "/")] : Array(outputBytes[..<$0]) } ?? [UInt8(ascii: ".")]
        guard let parentReal = realpath(String(decoding: parentBytes, as: UTF8.self), nil) else { return }
        defer { free(parentReal) }
        let root = Array(String(cString: modelReal).utf8), parent = Array(String(cString: parentReal).utf8)
        if parent == root || parent.starts(with: root + [UInt8(ascii: "/")]) {
            throw ReleaseInputError(path: output, reason: "is inside the model \(model); write the release somewhere else")
        }
    }

    /// A file's path in the release: its path in the model, or for a
    /// single-file model its own name (the last component of `model`).
    static func releasePath(of file: ModelTree.File, model: String) throws -> ModelPath {
        guard file.path == .singleFileRoot else { return file.path }
        let name = Array(model.utf8).split(separator: UInt8(ascii: "/")).last.map(Array.init) ?? []
        guard let path = ModelPath.safeRelative(String(decoding: name, as: UTF8.self)) else {
            throw ReleaseInputError(path: model, reason: "the file's name cannot be used as a release path")
        }
        return path
    }

    /// The signature algorithm name recorded for a key type.
    static func signatureAlgorithm(_ algorithm: KeyAlgorithm) -> String {
        switch algorithm {
        case .ed25519: return "ed25519"
        case .p256: return "ecdsa-p256-sha256"
        case .p384: return "ecdsa-p384-sha384"
        case .p521: return "ecdsa-p521-sha512"
        case .x25519: return "x25519"
        }
    }

    static func recipientEntry(_ recipient: any ArtifactEncryption.Recipient) throws -> ReleaseManifest.Recipient {
        switch recipient.stanzaKind {
        case .x25519:
            return .init(type: "x25519", keyID: (recipient as? X25519Recipient).map { PublicKey.x25519($0.publicKey).keyID })
        case .symmetricKey: return .init(type: "symmetric-key", keyID: nil)
        case .passphrase:
            throw ReleaseInputError(path: "release", reason: "passphrase recipients are not supported for releases",
                                    kind: .passphraseRecipient)
        }
    }

    /// Runs the model scanner over the walked model's files as `modelsec
    /// scan MODEL` would. Each report comes attached to its file (no path
    /// matching), and every finding is recorded under that file's release path.
    static func scanResult(model: ModelTree, paths: [ModelPath]) -> ReleaseManifest.ScanResult {
        var releasePaths: [ModelPath: ModelPath] = [:]
        for (file, path) in zip(model.files, paths) { releasePaths[file.path] = path }
        return ReleaseManifest.ScanResult(scan: ModelScanner.scan(tree: model)) { releasePaths[$0.path] ?? $0.path }
    }
}

/// Everything `release create` needs.
public struct ReleaseRequest {
    /// The model: a directory, or a single file (released under its file name).
    public var model: String
    /// The release name (e.g. `bert-base`).
    public var name: String
    /// The release version (e.g. `1.2.0`).
    public var version: String
    /// What signs the release (an ed25519 or p256 key, in memory or not).
    public var signingKey: any Signer
    /// The certificate method: the signing key's certificate, then any
    /// intermediates, carried in release.sig (OMS `certificate` method), so
    /// verifiers and policies can trust the release by CA roots and
    /// identity. Checked to hold the signing key before the model is read.
    public var certificateChain: [X509Certificate]?
    /// Who can decrypt: X25519 public keys and/or a symmetric key.
    public var recipients: [any ArtifactEncryption.Recipient]
    /// The release directory to create (must not exist, or be empty).
    public var output: String
    /// Model-card metadata.
    public var modelCard: ModelCard?
    /// A DP report, kept verbatim.
    public var dpReport: MetadataValue?
    /// Run the model scanner over the plaintext files (default true).
    public var scan: Bool = true
    /// Which BOM documents to write (default: CycloneDX only).
    public var bomFormat: BOMFormat = .cyclonedx
    /// Who built the model and how, for the signed SLSA provenance (default: ``ProvenanceBuild/local``).
    public var provenance: ProvenanceBuild = .local
    /// Plaintext bytes per encrypted chunk.
    public var chunkSize: Int = ArtifactEncryption.defaultChunkSize
    /// The creation time recorded.
    public var createdAt: Date = Date()
    /// Where progress goes; nil: the handler bound in
    /// `ProgressReporting.handler`, if any (the library never prints).
    public var progress: ProgressHandler?

    /// A request; optional parts are set as properties.
    public init(model: String, name: String, version: String, signingKey: any Signer,
                recipients: [any ArtifactEncryption.Recipient], output: String) {
        self.model = model
        self.name = name
        self.version = version
        self.signingKey = signingKey
        self.recipients = recipients
        self.output = output
    }
}

extension ReleaseManifest {
    /// `encryption.format` for artifacts in the format of docs/encryption-format.md.
    public static let encryptionFormat = "modelsec-encrypted/v1"
    /// `encryption.cipher`.
    public static let encryptionCipher = "aes-256-gcm"
}
