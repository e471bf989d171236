import Foundation
import ModelSecCrypto
import ModelSecIO

/// Options for signing a model.
public struct SigningOptions: Sendable {
    /// `files` (default) or `shards`.
    public var method: SerializationMethod
    /// Paths relative to the model root to leave out (a directory leaves out
    /// everything under it). Recorded in the signature.
    public var ignorePaths: [String]
    /// Also ignore `.git`, `.gitattributes`, `.github`, `.gitignore` at the top
    /// (default true, as the reference tool does).
    public var ignoreGitPaths: Bool
    /// Follow symbolic links instead of refusing them.
    public var allowSymlinks: Bool
    /// Where the signature will be written: when inside the model it is
    /// ignored (and recorded as ignored).
    public var signaturePath: URL?
    /// Where progress goes; nil: the handler bound in
    /// `ProgressReporting.handler`, if any (the library never prints).
    public var progress: ProgressHandler?

    /// Options; the defaults sign every file with the `files` method.
    public init(method: SerializationMethod = .files, ignorePaths: [String] = [], ignoreGitPaths: Bool = true,
                allowSymlinks: Bool = false, signaturePath: URL? = nil, progress: ProgressHandler? = nil) {
        self.method = method
        self.ignorePaths = ignorePaths
        self.ignoreGitPaths = ignoreGitPaths
        self.allowSymlinks = allowSymlinks
        self.signaturePath = signaturePath
        self.progress = progress
    }
}

/// A resource to sign whose digest is already computed: its name in the
/// model (a `/`-separated relative path) and the SHA-256 of its content.
public struct DigestedResource: Sendable, Equatable {
    /// The resource name, e.g. `weights/model.safetensors`.
    public var name: String
    /// The 32-byte SHA-256 of the content.
    public var sha256: [UInt8]

    /// A resource `name` with content digest `sha256`.
    public init(name: String, sha256: [UInt8]) {
        self.name = name
        self.sha256 = sha256
    }
}

/// Signs model versions in the OMS v1.0 format.
///
/// ```swift
/// let key = try KeyFile.loadSigningKey("release.pem")
/// let bundle = try ModelSigner.sign(model: URL(fileURLWithPath: "bert"), key: key)
/// try bundle.write(to: "model.sig")
/// ```
public enum ModelSigner {
    /// Hashes every file of `model` (a directory or one file) on all cores,
    /// builds the in-toto statement and signs its DSSE encoding with `key`.
    ///
    /// Every file is opened through the directory descriptors of the walk
    /// (``ModelTree/Opener``): a directory or file swapped for a symbolic
    /// link, or a file replaced, after the walk makes signing fail instead of
    /// hashing a file outside the model or another file than the one listed.
    public static func sign(model: URL, key: any Signer, options: SigningOptions = SigningOptions()) throws -> SignatureBundle {
        try sign(model: model, key: key, options: options, afterWalk: { _ in })
    }

    /// ``sign(model:key:options:)`` with `afterWalk` run between the walk and
    /// the hashing (tests change the model there).
    static func sign(model: URL, key: any Signer, options: SigningOptions, afterWalk: (ModelTree) throws -> Void) throws -> SignatureBundle {
        if case let .shards(size) = options.method, size < 1 {
            throw ModelContentError(path: model.path, problem: .shardSizeTooSmall(size))
        }
        let model = model.standardizedFileURL
        var ignored: [ModelPath] = []
        for text in options.ignorePaths {
            guard let path = ModelPath.normalizedRelative(text) else {
                throw ModelContentError(path: text, problem: .pathOutsideModel)
            }
            ignored.append(path)
        }
        if options.ignoreGitPaths { ignored += defaultIgnoredGitPaths.map { ModelPath($0) } }
        if let signature = options.signaturePath, let inside = relativePath(of: signature, inside: model) {
            ignored.append(inside)
        }
        var unique: [ModelPath] = []
        for path in ignored where !unique.contains(path) { unique.append(path) }

        let inventory = try ModelTree.walk(model.path, options: .init(ignoring: unique, allowSymlinks: options.allowSymlinks))
        try afterWalk(inventory)
        let planned = ModelSerializer.plan(inventory.files, method: options.method)
        let progress = ModelSerializer.progress(for: inventory.files, method: options.method, handler: options.progress)
        let digests = try ParallelHasher.digests(of: planned.map(\.task), files: inventory.files, in: inventory, progress: progress)
        progress?.finish()
        // Each file was checked as it was hashed; a file added, removed or
        // renamed meanwhile shows in its directory's stamp.
        if let changed = inventory.directoriesChangedSinceWalk().first {
            throw ModelContentError(path: changed, problem: .changedWhileSigning)
        }

        let algorithm = ModelSerializer.algorithm(for: options.method)
        var shardSize: Int64?
        if case let .shards(size) = options.method { shardSize = size }
        let serialization = InTotoStatement.Serialization(
            method: options.method.name, hashType: "sha256", allowSymlinks: options.allowSymlinks,
            shardSize: shardSize, ignorePaths: unique.isEmpty ? nil : unique.map(\.string).sorted())
        return try signStatement(subjectName: modelName(model), names: planned.map(\.name), algorithm: algorithm,
                                 digests: digests, serialization: serialization, signer: key)
    }

    /// Signs the statement for resources whose SHA-256 digests are already
    /// known (a release computes them while encrypting, in the same read), by
    /// the `files` method: `resources` in the order given, the subject
    /// `subjectName` with the root digest over them, `ignorePaths` recorded
    /// (sorted; omitted when empty). The result is the bundle
    /// ``sign(model:key:options:)`` makes for a model directory holding
    /// exactly those files, and verifies the same way.
    public static func sign(subjectName: String, resources: [DigestedResource], ignorePaths: [String] = [],
                            signer: any Signer) throws -> SignatureBundle {
        // Names are signed as given: the verifier (SignatureBundle.manifest)
        // is where names are judged, for statements from any signer.
        for resource in resources where resource.sha256.count != SHA2.SHA256.byteCount {
            throw ModelContentError(path: resource.name, problem: .digestLength(resource.sha256.count))
        }
        let serialization = InTotoStatement.Serialization(
            method: SerializationMethod.files.name, hashType: "sha256", allowSymlinks: false,
            shardSize: nil, ignorePaths: ignorePaths.isEmpty ? nil : ignorePaths.sorted())
        return try signStatement(subjectName: subjectName, names: resources.map(\.name),
                                 algorithm: ModelSerializer.algorithm(for: .files), digests: resources.map(\.sha256),
                                 serialization: serialization, signer: signer)
    }

    /// The one place statements are built and signed: the resources
    /// (`names` with their `digests`), the subject digest over them, the DSSE
    /// pre-authentication encoding signed by `signer`, the bundle naming the
    /// signer's key id.
    static func signStatement(subjectName: String, names: [String], algorithm: String, digests: [[UInt8]],
                              serialization: InTotoStatement.Serialization, signer: any Signer) throws -> SignatureBundle {
        let resources = zip(names, digests).map { InTotoStatement.Resource(name: $0, algorithm: algorithm, digest: Hex.encode($1)) }
        let statement = InTotoStatement(
            type: InTotoStatement.statementType,
            subject: [.init(name: subjectName, digest: ["sha256": ModelSerializer.rootDigest(digests).hex])],
            predicateType: InTotoStatement.predicateType,
            predicate: .init(serialization: serialization, resources: resources))
        let envelope = try DSSEEnvelope.sign(payload: try statement.encoded(), payloadType: DSSEEnvelope.inTotoPayloadType, signer: signer)
        return SignatureBundle(verificationMaterial: .init(keyHint: signer.publicKey.keyID), dsseEnvelope: envelope)
    }

    /// Interprets a command-line ignore path the way both a user and the
    /// Python CLI expect: a path (absolute, or relative to the current
    /// directory) that exists inside `model` becomes relative to the model;
    /// anything else is taken as already relative to the model.
    public static func modelRelativeIgnorePath(_ text: String, model: URL,
                                               currentDirectory: String = FileManager.default.currentDirectoryPath) -> String {
        let candidate = text.hasPrefix("/") ? URL(fileURLWithPath: text) : URL(fileURLWithPath: currentDirectory).appendingPathComponent(text)
        if FileManager.default.fileExists(atPath: candidate.path),
           let inside = relativePath(of: candidate, inside: model.standardizedFileURL) {
            return inside.string
        }
        return text
    }

    /// The subject name: the last path component (of the resolved path when
    /// the given one ends in `.` or `..`).
    static func modelName(_ model: URL) -> String {
        let name = model.lastPathComponent
        if name.isEmpty || name == "." || name == ".." || name == "/" {
            return model.resolvingSymlinksInPath().lastPathComponent
        }
        return name
    }

    /// `file`'s path relative to the directory `model` when it lies inside it
    /// (compared after resolving symbolic links), else nil.
    static func relativePath(of file: URL, inside model: URL) -> ModelPath? {
        let root = Array(model.resolvingSymlinksInPath().path.utf8)
        let parent = Array(file.standardizedFileURL.deletingLastPathComponent().resolvingSymlinksInPath().path.utf8)
        let full = parent + [UInt8(ascii: "/")] + Array(file.lastPathComponent.utf8)
        let prefix = root + [UInt8(ascii: "/")]
        guard full.count > prefix.count, full.starts(with: prefix) else { return nil }
        return ModelPath(bytes: Array(full[prefix.count...]))
    }
}

extension SignatureBundle {
    /// The statement's content, decoded and checked for consistency (known
    /// predicate, SHA-256, one subject whose digest matches the resources).
    /// This does NOT check the signature: use `ModelVerifier` for that.
    public func manifest(label: String = "<signature>") throws -> SignedManifest {
        let statement: InTotoStatement
        do {
            // The signed bytes must mean one thing to every verifier: a
            // duplicate key (JSONDecoder keeps one, Python's json the last)
            // could give model_signing and modelsec different subjects.
            try UnambiguousJSON.check(payloadBytes)
            statement = try JSONDecoder().decode(InTotoStatement.self, from: Data(payloadBytes))
        } catch let ambiguity as UnambiguousJSON.Ambiguity {
            throw SignatureFormatError(path: label, problem: .payloadNotStatement(detail: "readers could disagree on it: \(ambiguity)"))
        } catch {
            throw SignatureFormatError(path: label, problem: .payloadNotStatement(detail: Self.describe(error)))
        }
        func bad(_ problem: SignatureFormatError.Problem) -> SignatureFormatError { SignatureFormatError(path: label, problem: problem) }
        guard statement.type == InTotoStatement.statementType else { throw bad(.unsupportedStatementType(statement.type)) }
        guard statement.predicateType == InTotoStatement.predicateType else {
            throw bad(.unsupportedPredicateType(statement.predicateType))
        }
        guard statement.subject.count == 1, let subject = statement.subject.first, let root = subject.digest["sha256"] else {
            throw bad(.subjectNotSingle)
        }
        let serialization = statement.predicate.serialization
        guard serialization.hashType == "sha256" else { throw bad(.unsupportedHashType(serialization.hashType)) }
        let method: SerializationMethod
        switch serialization.method {
        case "files": method = .files
        case "shards":
            guard let size = serialization.shardSize, size >= 1 else { throw bad(.missingShardSize) }
            method = .shards(size: size)
        default: throw bad(.unsupportedMethod(serialization.method))
        }
        var digests: [[UInt8]] = []
        var seen = Set<ModelPath>()
        for resource in statement.predicate.resources {
            guard let digest = Hex.decode(resource.digest), digest.count == SHA2.SHA256.byteCount else {
                throw bad(.malformedResourceDigest(resource: resource.name))
            }
            guard resource.algorithm == "sha256" || resource.algorithm.hasPrefix("sha256-sharded-") else {
                throw bad(.unsupportedResourceAlgorithm(resource: resource.name, algorithm: resource.algorithm))
            }
            guard ResourceName.parse(resource.name, method: method) != nil else { throw bad(.malformedResourceName(resource: resource.name)) }
            guard seen.insert(ModelPath(resource.name)).inserted else { throw bad(.duplicateResource(resource: resource.name)) }
            digests.append(digest)
        }
        guard let rootBytes = Hex.decode(root), ConstantTime.equals(rootBytes, ModelSerializer.rootDigest(digests).bytes) else {
            throw SignatureFormatError(path: label, problem: .subjectDigestMismatch)
        }
        return SignedManifest(
            modelName: subject.name, subjectDigest: root.lowercased(), method: method,
            allowSymlinks: serialization.allowSymlinks, ignorePaths: serialization.ignorePaths ?? [],
            resources: statement.predicate.resources.map { SignedResource(name: $0.name, algorithm: $0.algorithm, digest: $0.digest.lowercased()) })
    }
}
