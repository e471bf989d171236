import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys

/// Options for verifying a model.
public struct VerificationOptions: Sendable {
    /// Do not report files that the signature does not list (and do not hash them).
    public var ignoreUnsignedFiles: Bool
    /// Extra paths, relative to the model, to leave out.
    public var ignorePaths: [String]
    /// The signature file: when it lies inside the model it is not an extra file.
    public var signaturePath: URL?
    /// Where progress goes; nil: the handler bound in
    /// `ProgressReporting.handler`, if any (the library never prints).
    public var progress: ProgressHandler?

    /// Options; by default every file must be signed.
    public init(ignoreUnsignedFiles: Bool = false, ignorePaths: [String] = [], signaturePath: URL? = nil, progress: ProgressHandler? = nil) {
        self.ignoreUnsignedFiles = ignoreUnsignedFiles
        self.ignorePaths = ignorePaths
        self.signaturePath = signaturePath
        self.progress = progress
    }
}

/// Verifies models against OMS v1.0 signatures (from modelsec or from the
/// OpenSSF `model-signing` tool).
///
/// Malformed or unreadable signatures throw `SignatureFormatError` (exit 2);
/// an unreadable model throws `ModelContentError`. Everything that is a failed check
/// (bad or untrusted signature, modified, missing or extra files) is returned
/// as a `ModelVerificationResult` whose `outcome` is not `.verified`.
public enum ModelVerifier {
    /// Checks the signature with `trustedKeys`, then hashes the model on all
    /// cores and compares it with the signed resources as a set.
    ///
    /// Every file is opened through the directory descriptors of the walk
    /// (``ModelTree/Opener``): a directory or file swapped for a symbolic
    /// link, or a file replaced, after the walk makes verification throw
    /// (``ModelTreeError``) instead of hashing a file outside the model or
    /// another file than the one listed.
    public static func verify(model: URL, bundle: SignatureBundle, trustedKeys: TrustedKeys,
                              options: VerificationOptions = VerificationOptions()) throws -> ModelVerificationResult {
        try verify(model: model, bundle: bundle, trustedKeys: trustedKeys, options: options, afterWalk: { _ in })
    }

    /// ``verify(model:bundle:trustedKeys:options:)`` with `afterWalk` run
    /// between the walk and the hashing (tests change the model there).
    static func verify(model: URL, bundle: SignatureBundle, trustedKeys: TrustedKeys, options: VerificationOptions,
                       afterWalk: (ModelTree) throws -> Void) throws -> ModelVerificationResult {
        let model = model.standardizedFileURL
        return try whenAuthentic(bundle, trustedKeys: trustedKeys) { signed, expected in
            let manifest = signed.manifest
            let ignored = try ignoreList(manifest: manifest, options: options, model: model)

            let inventory: ModelTree
            do {
                inventory = try ModelTree.walk(model.path, options: .init(ignoring: ignored, allowSymlinks: manifest.allowSymlinks))
            } catch let error as ModelTreeError where error.problem == .symbolicLink {
                // A link where the signature allows none: the model is not what was signed.
                return signed.result(.contentMismatch, modified: [error.file], summary: "\(error.description) (the signature does not allow symbolic links)")
            }
            try afterWalk(inventory)
            var onDisk: [ModelPath: ModelTree.File] = [:]
            for file in inventory.files { onDisk[file.path] = file }
            var toCheck: [ModelTree.File] = []
            var extra: [ModelPath] = []
            for file in inventory.files {
                if expected[file.path] != nil {
                    toCheck.append(file)
                } else if !options.ignoreUnsignedFiles, !(isShards(manifest.method) && file.size == 0) {
                    // With shards an empty file has no resource, signed or not.
                    extra.append(file.path)
                }
            }
            let missing = expected.keys.filter { onDisk[$0] == nil }.sorted()
            let modified = try compare(toCheck, in: inventory, expected: expected, method: manifest.method, progress: options.progress)
            return signed.contentResult(modified: modified, missing: missing, extra: extra.sorted(), checked: toCheck.count)
        }
    }

    /// Verifies a single file of a directory model against the directory's
    /// signature, hashing only that file. Other files are not looked at.
    /// The file is opened through the descriptors of the directories on its
    /// path, as they were when the path was looked at (see ``verify(model:bundle:trustedKeys:options:)``).
    public static func verifyFile(relativePath: String, model: URL, bundle: SignatureBundle, trustedKeys: TrustedKeys,
                                  options: VerificationOptions = VerificationOptions()) throws -> ModelVerificationResult {
        try verifyFile(relativePath: relativePath, model: model, bundle: bundle, trustedKeys: trustedKeys, options: options, afterLocate: { _ in })
    }

    /// ``verifyFile(relativePath:model:bundle:trustedKeys:options:)`` with
    /// `afterLocate` run between finding the file and hashing it (tests change the model there).
    static func verifyFile(relativePath: String, model: URL, bundle: SignatureBundle, trustedKeys: TrustedKeys,
                           options: VerificationOptions, afterLocate: (ModelTree) throws -> Void) throws -> ModelVerificationResult {
        let model = model.standardizedFileURL
        return try whenAuthentic(bundle, trustedKeys: trustedKeys) { signed, expected in
            let manifest = signed.manifest
            let path: ModelPath
            if relativePath == "." {
                path = .singleFileRoot
            } else {
                guard let normalized = ModelPath.normalizedRelative(relativePath) else {
                    throw ModelContentError(path: relativePath, problem: .pathOutsideModel)
                }
                path = normalized
            }
            guard expected[path] != nil else {
                return signed.result(.contentMismatch, extra: [path.string], summary: "\(path.string) is not covered by the signature")
            }
            // The same rules as a whole walk, applied to every component of the
            // path: a symbolic link to a directory on the way is refused too.
            let located: ModelTree
            do {
                located = try ModelTree.locateTree(path, in: model.path, options: .init(allowSymlinks: manifest.allowSymlinks))
            } catch let error as ModelTreeError {
                switch error.problem {
                case .missing:
                    return signed.contentResult(modified: [], missing: [path], extra: [], checked: 0)
                case .symbolicLink:
                    return signed.result(.contentMismatch, modified: [path.string], summary: "\(error.description) (the signature does not allow symbolic links)")
                case .notRegularFile, .specialFile:
                    return signed.result(.contentMismatch, modified: [path.string], summary: "\(path.string) is not a regular file")
                default:
                    throw error
                }
            }
            try afterLocate(located)
            let modified = try compare(located.files, in: located, expected: expected, method: manifest.method, progress: options.progress)
            return signed.contentResult(modified: modified, missing: [], extra: [], checked: 1, only: path)
        }
    }

    // MARK: - Signature

    /// A statement whose signature verified with a trusted key.
    struct Signed {
        let manifest: SignedManifest
        let signerKeyID: String
        let claimedKeyID: String?

        func result(_ outcome: ModelVerificationResult.Outcome, modified: [String] = [], missing: [String] = [], extra: [String] = [],
                    checked: Int = 0, summary: String) -> ModelVerificationResult {
            ModelVerificationResult(outcome: outcome, modelName: manifest.modelName, signerKeyID: signerKeyID, claimedKeyID: claimedKeyID,
                               subjectDigest: manifest.subjectDigest, method: manifest.method.name, verifiedFileCount: checked,
                               modified: modified, missing: missing, extra: extra, summary: summary)
        }

        func contentResult(modified: [ModelPath], missing: [ModelPath], extra: [ModelPath], checked: Int,
                           only file: ModelPath? = nil) -> ModelVerificationResult {
            if modified.isEmpty, missing.isEmpty, extra.isEmpty {
                if let file {
                    return result(.verified, checked: checked,
                                  summary: "verified \(file.string) of \(manifest.modelName), signed by key \(signerKeyID) (only this file was checked)")
                }
                let files = checked == 1 ? "1 file" : "\(checked) files"
                return result(.verified, checked: checked,
                              summary: "verified \(manifest.modelName): \(files), subject sha256:\(manifest.subjectDigest), signed by key \(signerKeyID)")
            }
            var parts: [String] = []
            if !modified.isEmpty { parts.append("\(modified.count) modified") }
            if !missing.isEmpty { parts.append("\(missing.count) missing") }
            if !extra.isEmpty { parts.append("\(extra.count) extra") }
            return result(.contentMismatch, modified: modified.map(\.string), missing: missing.map(\.string), extra: extra.map(\.string),
                          checked: checked - modified.count,
                          summary: "\(manifest.modelName) does not match its signature: \(parts.joined(separator: ", ")) file\(modified.count + missing.count + extra.count == 1 ? "" : "s")")
        }
    }

    enum Authentication {
        case trusted(Signed)
        case failed(ModelVerificationResult)
    }

    /// Finds the trusted key whose signature verifies over the DSSE PAE of the
    /// payload. The hint only picks which key to try first: trust comes from
    /// the signature verifying with a key in `trustedKeys`, never from the hint.
    static func authenticate(_ bundle: SignatureBundle, trustedKeys: TrustedKeys) throws -> Authentication {
        let hint = bundle.keyHint?.lowercased()
        let message = DSSEEnvelope.preAuthenticationEncoding(payloadType: bundle.dsseEnvelope.payloadType, payload: bundle.payloadBytes)
        let signature = bundle.signatureBytes
        var candidates = trustedKeys.keys
        if let hint, let index = candidates.firstIndex(where: { $0.keyID == hint }) {
            candidates.insert(candidates.remove(at: index), at: 0)
        }
        guard let signer = candidates.first(where: { $0.algorithm.canSign && $0.isValidSignature(signature, for: message) }) else {
            if let hint, trustedKeys.key(withID: hint) == nil {
                return .failed(ModelVerificationResult(outcome: .untrustedSigner, modelName: nil, signerKeyID: nil, claimedKeyID: hint,
                                                  subjectDigest: nil, method: nil, verifiedFileCount: 0,
                                                  summary: "signed by key \(hint), which is not a trusted key"))
            }
            return .failed(ModelVerificationResult(outcome: .invalidSignature, modelName: nil, signerKeyID: nil, claimedKeyID: hint,
                                              subjectDigest: nil, method: nil, verifiedFileCount: 0,
                                              summary: "the signature does not verify with \(hint.map { "the trusted key \($0)" } ?? "any trusted key")"))
        }
        let manifest = try bundle.manifest()
        return .trusted(Signed(manifest: manifest, signerKeyID: signer.keyID, claimedKeyID: hint))
    }

    /// Authenticates `bundle` with `trustedKeys` and, when a trusted key
    /// signed it, runs `check` on the signed statement and the files it
    /// lists; a signature that fails is the result, and nothing is hashed.
    static func whenAuthentic(_ bundle: SignatureBundle, trustedKeys: TrustedKeys,
                              check: (Signed, [ModelPath: ExpectedFile]) throws -> ModelVerificationResult) throws -> ModelVerificationResult {
        switch try authenticate(bundle, trustedKeys: trustedKeys) {
        case let .failed(result): return result
        case let .trusted(signed): return try check(signed, try expectedFiles(signed.manifest))
        }
    }

    // MARK: - Content

    /// What the signature lists for one file: digest by byte range (nil range
    /// for the `files` method).
    typealias ExpectedFile = [Range<Int64>?: [UInt8]]

    static func expectedFiles(_ manifest: SignedManifest) throws -> [ModelPath: ExpectedFile] {
        var expected: [ModelPath: ExpectedFile] = [:]
        for resource in manifest.resources {
            guard let (path, range) = ResourceName.parse(resource.name, method: manifest.method),
                  let digest = Hex.decode(resource.digest) else {
                throw SignatureFormatError(path: "<signature>", problem: .malformedResourceName(resource: resource.name))
            }
            expected[path, default: [:]][range] = digest
        }
        return expected
    }

    static func ignoreList(manifest: SignedManifest, options: VerificationOptions, model: URL) throws -> [ModelPath] {
        var ignored = (manifest.ignorePaths + options.ignorePaths).compactMap(ModelPath.normalizedRelative)
        if let signature = options.signaturePath, let inside = ModelSigner.relativePath(of: signature, inside: model) {
            ignored.append(inside)
        }
        return ignored
    }

    static func isShards(_ method: SerializationMethod) -> Bool {
        if case .shards = method { return true }
        return false
    }

    /// Hashes `files` (files of `tree`, opened through its directories'
    /// descriptors; all on all cores) and returns those whose digests
    /// differ from `expected`. With shards, a file whose size no longer
    /// yields the signed ranges is modified without being hashed.
    static func compare(_ files: [ModelTree.File], in tree: ModelTree, expected: [ModelPath: ExpectedFile], method: SerializationMethod,
                        progress handler: ProgressHandler?) throws -> [ModelPath] {
        var modified = Set<ModelPath>()
        var toHash: [ModelTree.File] = []
        for file in files {
            if case let .shards(size) = method {
                let ranges = ResourceName.shardRanges(size: file.size, shardSize: size)
                let signedRanges = Set((expected[file.path] ?? [:]).keys)
                guard Set(ranges.map { Optional($0) }) == signedRanges else {
                    modified.insert(file.path)
                    continue
                }
            }
            toHash.append(file)
        }
        let planned = ModelSerializer.plan(toHash, method: method)
        let progress = ModelSerializer.progress(for: toHash, method: method, handler: handler)
        let digests = try ParallelHasher.digests(of: planned.map(\.task), files: toHash, in: tree, progress: progress)
        progress?.finish()
        for (resource, digest) in zip(planned, digests) {
            let want = expected[resource.path]?[resource.range]
            if want == nil || !ConstantTime.equals(want!, digest) { modified.insert(resource.path) }
        }
        return modified.sorted()
    }
}
