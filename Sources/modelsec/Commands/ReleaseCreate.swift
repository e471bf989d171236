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
        nothing in the release can be edited afterwards. The output directory \
        appears only when complete.

        Examples:
          modelsec release create bert/ --name bert --version 1.0.0 \\
            --signing-key release.pem --recipient deploy.pub --output bert-1.0.0
          modelsec release create model.safetensors --name clf --version 2.1.0 \\
            --signing-key release.pem --key-file kms-export.key \\
            --metadata card.yaml --dp-report dp.json --output clf-2.1.0 --json
        """
    )

    @Argument(help: ArgumentHelp("The model: a directory or a single file.", valueName: "MODEL"))
    var model: String

    @Option(help: ArgumentHelp("The release name (letters, digits, . _ - /), as in model:deploy:NAME@VERSION.", valueName: "NAME"))
    var name: String

    @Option(help: ArgumentHelp("The release version (letters, digits, . _ - +).", valueName: "VERSION"))
    var version: String

    @Option(name: .customLong("signing-key"), help: ArgumentHelp("The private signing key (ed25519 or p256, PKCS#8 PEM).", valueName: "KEY"))
    var signingKey: String

    @Option(help: ArgumentHelp("An X25519 public key to encrypt to (repeatable).", valueName: "PUB.pem"))
    var recipient: [String] = []

    @Option(name: .customLong("key-file"), help: ArgumentHelp("A symmetric aes256 key file to encrypt to.", valueName: "KEY"))
    var keyFile: String?

    @Option(help: ArgumentHelp("Model-card metadata (YAML mapping: license, owner, intended_use, training_data, anything else).", valueName: "FILE.yaml"))
    var metadata: String?

    @Option(name: .customLong("dp-report"), help: ArgumentHelp("A differential-privacy report (JSON), recorded verbatim.", valueName: "FILE"))
    var dpReport: String?

    @Option(name: [.short, .long], help: ArgumentHelp("The release directory to create (must not exist, or be empty).", valueName: "RELEASE_DIR"))
    var output: String

    @Flag(name: .customLong("no-scan"), help: "Do not run the model scanner (release.json then records no scan).")
    var noScan = false

    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var keyPermissions: KeyPermissionOptions

    @OptionGroup var progressOptions: ProgressOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if recipient.isEmpty, keyFile == nil {
            throw ValidationError("Give at least one --recipient PUB.pem or a --key-file KEY to encrypt to.")
        }
        if let problem = ReleaseIdentity.problem(name: name, version: version) { throw ValidationError(problem) }
    }

    /// What --json prints.
    struct Output: Encodable {
        let releaseDirectory: String
        let name: String
        let version: String
        let signerKeyID: String
        let subjectDigest: String
        let files: Int
        let bytes: UInt64
        let findings: [ReleaseManifest.Finding]
    }

    func run() throws {
        let key = try CLI.loadSigningKey(signingKey, passphrase: passphrase.source, permissions: keyPermissions)
        var recipients: [any Recipient] = try recipient.map { try X25519Recipient(publicKeyFile: $0) }
        if let keyFile {
            try keyPermissions.check(keyFile)
            recipients.append(try SymmetricKeyRecipient(keyFile: keyFile))
        }
        var request = ReleaseRequest(model: model, name: name, version: version, signingKey: key, recipients: recipients, output: output)
        request.modelCard = try metadata.map { try ModelCard.load(path: $0) }
        if let dpReport {
            let bytes = try FileIO.readFile(dpReport, limit: 16 << 20)
            do { request.dpReport = try MetadataValue(jsonData: Data(bytes)) } catch {
                throw ReleaseInputError(path: dpReport, reason: "the DP report is not valid JSON")
            }
        }
        request.scan = !noScan
        let created = try ReleaseCreator.create(request)
        let manifest = created.manifest
        let findings = manifest.scan?.findings ?? []
        for finding in findings {
            CLI.warn("scanner: \(finding.severity) \(finding.kind) in \(finding.location): \(finding.message)")
        }
        if json {
            try CLI.printJSON(Output(releaseDirectory: created.directory, name: manifest.name, version: manifest.version,
                                     signerKeyID: manifest.signer.keyID, subjectDigest: created.subjectDigest,
                                     files: manifest.artifacts.count, bytes: manifest.totalSize, findings: findings))
            return
        }
        print("release: \(manifest.name)@\(manifest.version)")
        print("directory: \(created.directory)")
        print("subject: sha256:\(created.subjectDigest)")
        print("key-id: \(manifest.signer.keyID)")
        print("files: \(manifest.artifacts.count) (\(ByteCountFormatting.string(Int64(clamping: manifest.totalSize))))")
        if manifest.scan != nil { print("scanner findings: \(findings.count)") }
    }
}
