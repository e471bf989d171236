import ArgumentParser
import Foundation
import ModelSec

/// `modelsec release create`: sign and encrypt a model version into a release directory.
struct ReleaseCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Hash, sign and encrypt a model into a release directory with a signed release.json.",
        discussion: """
        Every file of MODEL is read once: hashed (SHA-256) and encrypted \
        (AES-256-GCM, modelsec encryption format) for the recipients. The model \
        scanner runs over the plaintext; its findings are recorded in \
        release.json and printed as warnings, never a reason to refuse (a policy \
        decides). release.sig signs the plaintext digests and release.json, so \
        nothing in the release can be edited afterwards. Every release also \
        holds bom.cdx.json (CycloneDX 1.6 ML-BOM from the model card) and \
        provenance.dsse.json (SLSA provenance v1, signed by the release key; \
        the builder comes from --provenance, else from GitLab CI, GitHub \
        Actions or Jenkins variables), both signed. The output directory \
        appears only when complete. An existing non-empty RELEASE_DIR is refused \
        unless --force is given and it is a release directory, which is then \
        replaced once the new release is complete.

        With --log DIR the release is appended to that transparency log \
        (modelsec log init; serialised by the log's lock) and its inclusion \
        proof is written into the release as release.tlog-proof, which \
        `release verify --log-key` requires. --log-signing-key is the log's \
        private key (the PEM given to log init --key), not its public vkey; \
        an encrypted one opens with --log-signing-key-passphrase-file/-env, \
        or else with the --key-passphrase-file/-env passphrase. If logging \
        fails, the new release is removed and the command fails. With \
        --store URL (or MODELSEC_STORE) the append is sequenced by the \
        shared store and DIR is published from it, as `log append --store` \
        does; the proof is against DIR's checkpoint after publishing.

        Examples:
          modelsec release create bert/ --name bert --version 1.0.0 \\
            --signing-key release.pem --recipient deploy.pub --output bert-1.0.0
          modelsec release create model.safetensors --name clf --version 2.1.0 \\
            --signing-key release.pem --key-file kms-export.key \\
            --metadata card.yaml --provenance build.yaml --dp-report dp.json \\
            --output clf-2.1.0 --json
          modelsec release create bert/ --name bert --version 1.0.1 \\
            --signing-key release.pem --recipient deploy.pub \\
            --log models-log/ --log-signing-key log.pem --output bert-1.0.1
        """
    )

    @Argument(help: ArgumentHelp("The model: a directory or a single file.", valueName: "MODEL"))
    var model: String

    @Option(help: ArgumentHelp("The release name (letters, digits, . _ - /), as in model:deploy:NAME@VERSION.", valueName: "NAME"))
    var name: String

    @Option(help: ArgumentHelp("The release version (letters, digits, . _ - +).", valueName: "VERSION"))
    var version: String

    @Option(name: .customLong("signing-key"), help: ArgumentHelp("The private signing key: a PKCS#8 PEM file (ed25519, p256, p384, p521) or a pkcs11: URI.", valueName: "KEY"))
    var signingKey: String

    @Option(help: ArgumentHelp("Sign by the certificate method: the signing key's X.509 certificate (PEM), carried in release.sig.", valueName: "CERT.pem"))
    var certificate: String?

    @Option(name: .customLong("certificate-chain"), help: ArgumentHelp("Intermediate certificates (PEM) to include after --certificate; repeatable.", valueName: "CHAIN.pem"))
    var certificateChain: [String] = []

    @Option(help: ArgumentHelp("An X25519 public key to encrypt to (repeatable).", valueName: "PUB.pem"))
    var recipient: [String] = []

    @Option(name: .customLong("key-file"), help: ArgumentHelp("A symmetric aes256 key file to encrypt to.", valueName: "KEY"))
    var keyFile: String?

    @Option(help: ArgumentHelp("The model card (YAML or JSON; fields in docs/evidence.md).", valueName: "FILE.yaml"))
    var metadata: String?

    @Option(help: ArgumentHelp("Who built the model and how, for the signed SLSA provenance (YAML or JSON; default: the CI environment).", valueName: "FILE"))
    var provenance: String?

    @Option(name: .customLong("bom-format"), help: ArgumentHelp("Which bill of materials to write: cyclonedx (bom.cdx.json), spdx (bom.spdx.json, SPDX 3.0.1) or both.", valueName: "FORMAT"))
    var bomFormat: String = BOMFormat.cyclonedx.rawValue

    @Option(name: .customLong("dp-report"), help: ArgumentHelp("A differential-privacy report (JSON), recorded verbatim.", valueName: "FILE"))
    var dpReport: String?

    @Option(name: [.short, .long], help: ArgumentHelp("The release directory to create (must not exist, or be empty, unless --force).", valueName: "RELEASE_DIR"))
    var output: String

    @Flag(help: "Replace an existing release at RELEASE_DIR once the new one is complete.")
    var force = false

    @Flag(name: .customLong("no-scan"), help: "Do not run the model scanner (release.json then records no scan).")
    var noScan = false

    @Option(help: ArgumentHelp("Append the release to this transparency log and write REL/release.tlog-proof.", valueName: "DIR"))
    var log: String?

    @Option(name: .customLong("log-signing-key"), help: ArgumentHelp("The log's Ed25519 private key, as given to log init --key (signs the new checkpoint; needed with --log; default: the file $MODELSEC_LOG_SIGNING_KEY names). Not the log's vkey.", valueName: "KEY"))
    var logSigningKey: String?

    /// The spelling of earlier versions, which means the log's *public* key
    /// everywhere else: kept hidden, with a warning.
    @Option(name: .customLong("log-key"), help: .hidden)
    var deprecatedLogKey: String?

    /// The log signing key's passphrase, when it differs from --key-passphrase-*.
    @OptionGroup var logKeyPassphrase: LogSigningKeyPassphraseOptions

    /// The log's private key, by either spelling, else (with --log) the
    /// path in `MODELSEC_LOG_SIGNING_KEY`.
    var logKey: String? { logSigningKey ?? deprecatedLogKey ?? (log == nil ? nil : LogSupport.signingKeyFromEnvironment) }

    /// Where ``logKey`` came from, as messages name it.
    var logKeySource: String {
        if logSigningKey != nil { return "--log-signing-key" }
        if deprecatedLogKey != nil { return "--log-key" }
        return LogSupport.signingKeyFromEnvironment == nil ? "--log-signing-key" : "MODELSEC_LOG_SIGNING_KEY"
    }

    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var keyPermissions: KeyPermissionOptions

    /// With --log: the store that sequences the append (--store or MODELSEC_STORE).
    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var progressOptions: ProgressOptions

    @OptionGroup var json: JSONOption

    func validate() throws {
        if recipient.isEmpty, keyFile == nil {
            throw ValidationError("Give at least one --recipient PUB.pem or a --key-file KEY to encrypt to.")
        }
        if let problem = ReleaseIdentity.problem(name: name, version: version) { throw ValidationError(problem) }
        guard BOMFormat.allCases.contains(where: { $0.rawValue == bomFormat }) else {
            throw ValidationError("--bom-format must be cyclonedx, spdx or both.")
        }
        if deprecatedLogKey != nil {
            CLI.warn("release create --log-key is deprecated: use --log-signing-key (the log's private key; --log-key of release verify and the log commands is its public vkey)")
        }
        if logSigningKey != nil, deprecatedLogKey != nil { throw ValidationError("give --log-signing-key once (--log-key is its old spelling)") }
        if (log == nil) != (logKey == nil) { throw ValidationError("--log DIR and --log-signing-key KEY (or MODELSEC_LOG_SIGNING_KEY) go together") }
        if log == nil, storeOptions.store != nil { throw ValidationError("--store URL goes with --log DIR (the store sequences the log's appends)") }
        if certificate == nil, !certificateChain.isEmpty { throw ValidationError("--certificate-chain needs --certificate") }
    }

    /// What --json prints.
    struct Output: Encodable {
        let releaseDirectory: String
        let name: String
        let version: String
        let signerKeyId: String
        let subjectDigest: String
        let files: Int
        let bytes: UInt64
        let findings: [ReleaseManifest.Finding]
        /// With --log: where the release is in the log.
        var logIndex: UInt64? = nil
        /// With --log: the tree size of the checkpoint the proof is against.
        var logTreeSize: UInt64? = nil
    }

    func run() throws {
        try OutputGuard.refuseExistingDirectory(output, force: force) {
            FileManager.default.fileExists(atPath: $0 + "/" + ReleaseLayout.manifestFile)
        }
        let replacing = OutputGuard.exists(output) && !OutputGuard.isEmptyDirectory(output)
        let key = try CLI.loadSigner(signingKey, option: "--signing-key", passphrase: passphrase.source, permissions: keyPermissions)
        var recipients: [any Recipient] = try recipient.map { try X25519Recipient(publicKeyFile: $0) }
        if let keyFile {
            try CLI.refusePublicKey(keyFile, option: "--key-file", symmetric: true)
            try keyPermissions.check(keyFile)
            recipients.append(try SymmetricKeyRecipient(keyFile: keyFile))
        }
        // With --log the release is built, logged and given its proof under a
        // sibling name, and only then renamed into place: a crash before the
        // append leaves no signed release at OUTPUT that the log lacks.
        let destination = replacing || log != nil ? ReleaseReplacement.siblingName(of: output) : output
        var request = ReleaseRequest(model: model, name: name, version: version, signingKey: key, recipients: recipients, output: destination)
        request.certificateChain = try certificate.map { try CLI.loadCertificates($0) + certificateChain.flatMap(CLI.loadCertificates) }
        request.modelCard = try metadata.map { try ModelCard.load(path: $0) }
        if let dpReport {
            let bytes = try FileIO.readFile(dpReport, limit: 16 << 20)
            do { request.dpReport = try MetadataValue(jsonData: Data(bytes)) } catch let ambiguity as UnambiguousJSON.Ambiguity {
                throw ReleaseInputError(path: dpReport, reason: "the DP report is not valid JSON, or reads two ways: \(ambiguity.reason)")
            } catch {
                throw ReleaseInputError(path: dpReport, reason: "the DP report is not valid JSON")
            }
        }
        request.scan = !noScan
        request.bomFormat = BOMFormat.allCases.first { $0.rawValue == bomFormat } ?? .cyclonedx
        request.provenance = try provenance.map { try ProvenanceBuild.load(path: $0) }
            ?? ProvenanceBuild.fromEnvironment(ProcessInfo.processInfo.environment) ?? .local
        // The log's key and checkpoint are checked before the model is read.
        let logStore = try log == nil ? nil : LogStoreSupport.open(storeOptions)
        let logTarget = try log.map { directory in
            let origin = try logStore == nil ? LogAppend.origin(ofCheckpointIn: directory)
                : LogStoreSupport.origin(explicit: nil, directory: directory,
                                         remedy: "publish the store's log there first (modelsec log publish DIR --store URL --origin ORIGIN), or create it with log init")
            let signer = try LogSupport.signer(keyPath: logKey!, name: origin, type: .ed25519, permissions: keyPermissions,
                                               passphrase: logKeyPassphrase.source ?? passphrase.source,
                                               option: logKeySource,
                                               passphraseHint: "give the log signing key's passphrase with --log-signing-key-passphrase-file or --log-signing-key-passphrase-env"
                                                   + (passphrase.source == nil ? " (or --key-passphrase-file/-env when both keys share it)" : "; the --key-passphrase-file/-env passphrase was tried and is not this key's"))
            try LogSupport.requireKeyOfLog(signer, directory: directory, keyPath: logKey!, option: logKeySource)
            let transparencyLog = DirectoryLog(directory: directory, logKey: signer.verifier)
            _ = try transparencyLog.checkpoint()   // signed by this key, or refused now
            if let logStore, let stored = try logStore.log(origin: origin), Array(stored.vkey.utf8) != Array(signer.verifier.vkey.utf8) {
                throw TransparencyLogError.malformedKey(reason: "the signing key is not the key of the log \(origin) in \(logStore.storeName)")
            }
            return (transparencyLog, signer)
        }
        // Built under a sibling name (with --log): OUTPUT must still be usable
        // (absent or an empty directory, a usable name) before the release
        // is logged, or a logged release could not be put in place.
        if logTarget != nil, !replacing { try ReleaseCreator.checkOutput(output) }
        let created = try ReleaseCreator.create(request)
        var logged: ReleaseTransparency.Logged?
        if let target = logTarget {
            if !replacing {
                do { try ReleaseCreator.checkOutput(output) } catch {
                    try? FileManager.default.removeItem(atPath: destination)   // not logged yet
                    throw error
                }
            }
            do {
                if let logStore {
                    let entry = try ReleaseTransparency.entry(releaseDirectory: destination, trustedKeys: nil)
                    let (appended, _) = try LogStoreSupport.append([entry.canonicalBytes], directory: target.0.directory, signer: target.1, store: logStore)
                    do {
                        logged = try ReleaseTransparency.writeProof(releaseDirectory: destination, entry: entry, index: appended.indices[0], log: target.0)
                    } catch {
                        throw LoggedWithoutProof(release: destination, index: appended.indices[0], underlying: error)
                    }
                } else {
                    logged = try ReleaseTransparency.append(releaseDirectory: destination, to: target.0, signer: target.1) {
                        CLI.info("waiting for \(target.0.directory)/.lock: another append holds the log")
                    }
                }
            } catch let error as LoggedWithoutProof {
                // Logged: kept (discarding it and making it again would log a
                // second statement for this name and version).
                throw HintedError(underlying: error, hint: "the release is kept at \(destination): run log prove \(target.0.directory) --release \(destination) --force, then move it to \(output)")
            } catch {
                // Not logged: a release the gate's log step would refuse is not left behind.
                try? FileManager.default.removeItem(atPath: destination)
                throw error
            }
        }
        if replacing {
            try ReleaseReplacement.replace(output, with: destination)
        } else if destination != output {
            guard rename(destination, output) == 0 else {   // OUTPUT is absent or an empty directory
                let reason = FileIO.errnoDescription(errno)
                throw FileError(path: output, reason: "cannot move the new release into place: \(reason); it is at \(destination)"
                                    + (logged.map { ", logged as entry \($0.index) with its proof: move it to \(output) (do not create it again: that would log a second statement for \(created.manifest.name)@\(created.manifest.version))" } ?? ""))
            }
        }
        let manifest = created.manifest
        let findings = manifest.scan?.findings ?? []
        for finding in findings {
            CLI.warn("scanner: \(finding.severity) \(finding.kind) in \(finding.location): \(finding.message)")
        }
        if json.isOn {
            try CLI.printResult(Output(releaseDirectory: output, name: manifest.name, version: manifest.version,
                                       signerKeyId: manifest.signer.keyID, subjectDigest: created.subjectDigest,
                                       files: manifest.artifacts.count, bytes: manifest.totalSize, findings: findings,
                                       logIndex: logged?.index, logTreeSize: logged?.treeSize))
            return
        }
        print("release: \(manifest.name)@\(manifest.version)")
        print("directory: \(output)")
        print("subject: sha256:\(created.subjectDigest)")
        print("key-id: \(manifest.signer.keyID)")
        print("files: \(manifest.artifacts.count) (\(ByteCountFormatting.string(Int64(clamping: manifest.totalSize))))")
        if manifest.scan != nil { print("scanner findings: \(findings.count)") }
        if let logged { print("log: entry \(logged.index) of \(logged.treeSize) in \(log!) (proof: release.tlog-proof)") }
    }
}

/// `release create --force` over an existing release: the new release is
/// built beside it, and only when complete does it take the old one's
/// place (old renamed aside, new renamed in, old removed).
enum ReleaseReplacement {
    /// A fresh name in the same directory as `output` for the new release.
    static func siblingName(of output: String) -> String {
        var base = output
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        return base + ".modelsec-new-" + SecureRandom.bytes(count: 6).map { String(format: "%02x", $0) }.joined()
    }

    /// Puts the complete release at `new` in place of the one at `output`.
    static func replace(_ output: String, with new: String) throws {
        let old = siblingName(of: output).replacingOccurrences(of: ".modelsec-new-", with: ".modelsec-old-")
        guard rename(output, old) == 0 else {
            throw FileError(path: output, reason: "cannot move the old release aside: \(FileIO.errnoDescription(errno)); the new one is at \(new)")
        }
        guard rename(new, output) == 0 else {
            let reason = FileIO.errnoDescription(errno)
            _ = rename(old, output)
            throw FileError(path: output, reason: "cannot move the new release into place: \(reason); it is at \(new)")
        }
        try? FileManager.default.removeItem(atPath: old)
    }
}

/// `--log-signing-key-passphrase-file` / `-env` of `release create`: the
/// passphrase of an encrypted log signing key, when it is not the signing
/// key's (`--key-passphrase-*`, which is tried for both keys otherwise).
struct LogSigningKeyPassphraseOptions: ParsableArguments {
    @Option(name: .customLong("log-signing-key-passphrase-file"), help: ArgumentHelp("Read the log signing key's passphrase from the first line of FILE (default: the --key-passphrase-file/-env passphrase).", valueName: "FILE"))
    var file: String?

    @Option(name: .customLong("log-signing-key-passphrase-env"), help: ArgumentHelp("Read the log signing key's passphrase from the environment variable NAME.", valueName: "NAME"))
    var env: String?

    func validate() throws {
        try PassphraseChoice.validate(file: file, env: env, deprecatedFile: nil, deprecatedEnv: nil,
                                      names: ("--log-signing-key-passphrase-file", "--log-signing-key-passphrase-env"), deprecatedNames: ("", ""))
    }

    /// The passphrase source, if one was given.
    var source: PassphraseSource? { CLI.passphraseSource(file: file, env: env) }
}
