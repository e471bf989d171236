import ArtifactEncryption
import Dispatch
import Foundation
import ModelScanner
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import ModelSigning

/// Makes a release directory: hashes and encrypts every model file in one
/// read, scans the plaintext, writes `release.json`, signs the plaintext
/// digests plus `release.json`, and renames the finished directory into place.
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

    /// Creates the release `request` describes. On any error nothing is left
    /// at the output path.
    public static func create(_ request: ReleaseRequest) throws -> Result {
        if let problem = ReleaseIdentity.problem(name: request.name, version: request.version) {
            throw ReleaseInputError(path: "release", reason: problem)
        }
        guard !request.recipients.isEmpty else {
            throw ReleaseInputError(path: request.output, reason: "a release needs at least one recipient or key file")
        }
        let recipients = try request.recipients.map(recipientEntry)
        let model = try PlaintextModel.walk(request.model)
        let staging = try StagingDirectory(destination: request.output)

        // The scanner reads the plaintext on its own thread while the files are encrypted.
        let scanSlot = ResultSlots<ReleaseManifest.ScanResult>(count: 1)
        let scanning = DispatchGroup()
        if request.scan {
            let modelPath = request.model, files = model.files
            DispatchQueue.global().async(group: scanning) { scanSlot.set(0, scanResult(model: modelPath, files: files)) }
        }
        defer { scanning.wait() }  // never leave the scan running past this call, even on error

        let total = model.files.reduce(Int64(0)) { $0 + Int64($1.size) }
        let progress = ProgressReporter(label: "releasing", totalBytes: total, totalItems: model.files.count, enabled: request.showProgress)
        // Parent directories first (serially), then the files, a few at a time.
        let destinations = try model.files.map { try staging.prepare(ReleaseLayout.encryptedPath(for: $0.path)) }
        let results = ResultSlots<ReleaseManifest.Artifact>(count: model.files.count)
        try FileWorkQueue.run(count: model.files.count) { index in
            let file = model.files[index]
            let writer = try AtomicFileWriter(destination: destinations[index], mode: 0o644, overwrite: false)
            let input = try openUnchanged(file)
            defer { close(input) }
            let source = HashingSource(FileDescriptorSource(fd: input, name: file.fileSystemPath), progress: progress)
            var encryptedSize: UInt64 = 0
            do {
                let encryptor = try Encryptor(recipients: request.recipients, chunkSize: request.chunkSize) { bytes in
                    try writer.write(bytes)
                    encryptedSize += UInt64(bytes.count)
                }
                try encryptor.write(from: source)
                try encryptor.finish()
                // A write during the reads would make the release (and the scan) a mixture of two versions.
                guard FileStamp.of(descriptor: input) == file.stamp else { throw changedError(file.fileSystemPath) }
                try writer.commit()
            } catch let error as EncryptionError {
                throw error.at(file.fileSystemPath)
            }
            progress.advance(items: 1)
            results.set(index, ReleaseManifest.Artifact(path: file.path, size: source.byteCount, sha256: source.finalize().hex,
                                                        encryptedPath: ReleaseLayout.encryptedPath(for: file.path), encryptedSize: encryptedSize))
        }
        let artifacts = results.values
        progress.finish()
        scanning.wait()
        // The scanner read each file on its own: the files must still be the
        // ones that were hashed and encrypted.
        if let changed = model.firstFileChangedSinceWalk() { throw changedError(changed) }
        let scan = request.scan ? scanSlot.values.first : nil

        let manifest = ReleaseManifest(
            name: request.name, version: request.version, createdAt: request.createdAt,
            signer: .init(keyID: request.signingKey.publicKey.keyID, algorithm: signatureAlgorithm(request.signingKey.algorithm)),
            encryption: .init(format: ReleaseManifest.encryptionFormat, cipher: ReleaseManifest.encryptionCipher,
                              chunkSize: request.chunkSize, recipients: recipients),
            artifacts: artifacts, modelCard: request.modelCard, dpReport: request.dpReport, scan: scan)
        let manifestBytes = try manifest.encoded()
        try AtomicFileWriter.write(manifestBytes, to: staging.prepare(ReleaseLayout.manifestFile), mode: 0o644, overwrite: false)

        let resources = artifacts.map { (name: $0.path, sha256: $0.sha256) }
            + [(name: ReleaseLayout.manifestResourceName, sha256: SHA256.hash(data: manifestBytes).hex)]
        let bundle = try ReleaseSignature.sign(subjectName: request.name, resources: resources, key: request.signingKey)
        try AtomicFileWriter.write(bundle.jsonData(), to: staging.prepare(ReleaseLayout.signatureFile), mode: 0o644, overwrite: false)
        let subject = try bundle.manifest().subjectDigest
        try staging.commit()
        return Result(directory: staging.destination, manifest: manifest, subjectDigest: subject)
    }

    /// Opens a model file for reading, refusing it unless it is still exactly
    /// the file the walk listed (same inode, size and timestamps).
    static func openUnchanged(_ file: PlaintextModel.File) throws -> Int32 {
        let fd = open(file.fileSystemPath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { throw ReleaseInputError(path: file.fileSystemPath, reason: "cannot open: \(FileIO.errnoDescription(errno))") }
        guard FileStamp.of(descriptor: fd) == file.stamp else {
            close(fd)
            throw changedError(file.fileSystemPath)
        }
        return fd
    }

    /// The error for a model file that is no longer what the walk listed.
    static func changedError(_ path: String) -> ReleaseInputError {
        ReleaseInputError(path: path, reason: "changed while the release was being created (its size, timestamps or inode differ from when the model was listed); run again once nothing is writing to the model")
    }

    /// The signature algorithm name recorded for a key type.
    static func signatureAlgorithm(_ algorithm: KeyAlgorithm) -> String {
        switch algorithm {
        case .ed25519: return "ed25519"
        case .p256: return "ecdsa-p256-sha256"
        case .x25519: return "x25519"
        }
    }

    static func recipientEntry(_ recipient: ArtifactEncryption.Recipient) throws -> ReleaseManifest.Recipient {
        switch recipient {
        case let .x25519(key): return .init(type: "x25519", keyID: PublicKey.x25519(key).keyID)
        case .symmetricKey: return .init(type: "symmetric-key", keyID: nil)
        case .passphrase:
            throw ReleaseInputError(path: "release", reason: "passphrase recipients are not supported for releases; use --recipient or --key-file")
        }
    }

    /// Runs the model scanner over the plaintext model as `modelsec scan MODEL`
    /// would, keeping findings about files of the release (paths made relative).
    static func scanResult(model: String, files: [PlaintextModel.File]) -> ReleaseManifest.ScanResult {
        let report = ModelScanner.scan(paths: [model])
        var relative: [String: String] = [:]
        for file in files { relative[file.fileSystemPath] = file.path }
        var findings: [ReleaseManifest.Finding] = []
        var scanned = 0
        for fileReport in report.files {
            guard let path = relative[fileReport.path] else { continue }
            scanned += 1
            for finding in fileReport.findings {
                var location = finding.location
                if location.hasPrefix(fileReport.path) { location = path + location.dropFirst(fileReport.path.count) }
                findings.append(.init(path: path, severity: finding.severity.rawValue, kind: finding.kind.rawValue,
                                      location: location, global: finding.global, message: finding.message))
            }
        }
        return .init(tool: "modelsec-scan \(ModelSecVersion.current)", scannedFiles: scanned, findings: findings)
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
    /// The key that signs the release (ed25519 or p256).
    public var signingKey: SigningPrivateKey
    /// Who can decrypt: X25519 public keys and/or a symmetric key.
    public var recipients: [ArtifactEncryption.Recipient]
    /// The release directory to create (must not exist, or be empty).
    public var output: String
    /// Model-card metadata.
    public var modelCard: ModelCard?
    /// A DP report, kept verbatim.
    public var dpReport: MetadataValue?
    /// Run the model scanner over the plaintext files (default true).
    public var scan: Bool = true
    /// Plaintext bytes per encrypted chunk.
    public var chunkSize: Int = ArtifactEncryption.defaultChunkSize
    /// The creation time recorded.
    public var createdAt: Date = Date()
    /// Progress on stderr: nil means when stderr is a terminal.
    public var showProgress: Bool?

    /// A request; optional parts are set as properties.
    public init(model: String, name: String, version: String, signingKey: SigningPrivateKey,
                recipients: [ArtifactEncryption.Recipient], output: String) {
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
