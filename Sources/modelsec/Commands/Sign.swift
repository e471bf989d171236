import ArgumentParser
import Foundation
import ModelSec

/// `modelsec sign`: sign a model version in the OpenSSF Model Signing format.
struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a model (a directory or a single file) in the OpenSSF Model Signing (OMS v1.0) format.",
        discussion: """
        Every file is hashed with SHA-256 on all cores and listed in an in-toto \
        statement, signed in a DSSE envelope inside a Sigstore bundle. Dotfiles \
        are included; .git, .gitattributes, .github and .gitignore at the top of \
        the model and the signature file itself are left out. Symbolic links are \
        refused unless --allow-symlinks is given. Prints the subject digest, the \
        key id and the number of files.

        Ed25519 keys are the default; use a p256 key for signatures that the \
        OpenSSF `model_signing` tool can verify.

        Examples:
          modelsec sign bert-base/ --key release-signing.pem
          modelsec sign bert-base/ --key signer-p256.pem --output bert-base.sig \\
            --ignore README.md
          modelsec sign model.safetensors --key release-signing.pem --json
          modelsec sign llama/ --key release-signing.pem --shard-size 1000000000
          modelsec sign bert-base/ --key signer.pem --certificate signer.crt \\
            --certificate-chain intermediates.pem
          modelsec sign bert-base/ --key "pkcs11:token=release;object=signing?\\
        module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:HSM_PIN"
        """
    )

    @Argument(help: ArgumentHelp("The model: a directory or a single file.", valueName: "MODEL"))
    var model: String

    @Option(help: ArgumentHelp("The private signing key: a PKCS#8 PEM file (ed25519, p256, p384, p521) or a pkcs11: URI.", valueName: "PRIVATE_KEY"))
    var key: String

    @Option(help: ArgumentHelp("Sign by the certificate method: the signing key's X.509 certificate (PEM).", valueName: "CERT.pem"))
    var certificate: String?

    @Option(name: .customLong("certificate-chain"), help: ArgumentHelp("Intermediate certificates (PEM) to include after --certificate; repeatable.", valueName: "CHAIN.pem"))
    var certificateChain: [String] = []

    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the signature ('-': standard output).", valueName: "SIG"))
    var output: String = "model.sig"

    @Option(name: .customLong("ignore"), help: ArgumentHelp("A path to leave out, relative to MODEL (or a path inside MODEL from here); repeatable; a directory leaves out all it contains.", valueName: "PATH"))
    var ignore: [String] = []

    @Flag(help: "Follow symbolic links (hash what they point to) instead of refusing them.")
    var allowSymlinks = false

    @Option(help: ArgumentHelp("Use the `shards` method with shards of N bytes (parallel hashing within large files; not verifiable by the model_signing CLI).", valueName: "N"))
    var shardSize: Int64?

    @Flag(help: "Overwrite SIG if it exists (without it an existing SIG is refused).")
    var force = false

    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var keyPermissions: KeyPermissionOptions

    @OptionGroup var progressOptions: ProgressOptions

    @OptionGroup var json: JSONOption

    func validate() throws {
        if let shardSize, shardSize < 1 { throw ValidationError("--shard-size must be at least 1.") }
        if certificate == nil, !certificateChain.isEmpty { throw ValidationError("--certificate-chain needs --certificate") }
        try OutputGuard.refuseJSONWithStandardOutput(json: json.isOn, output: output)
    }

    /// True when the bundle goes to standard output (`--output -`).
    var toStandardOutput: Bool { output == "-" }

    /// What `--json` prints.
    struct Output: Encodable {
        let signature: String
        let modelName: String
        let subjectDigest: String
        let keyId: String
        let algorithm: String
        let method: String
        let fileCount: Int
        let resourceCount: Int
    }

    func run() throws {
        let signingKey = try CLI.loadSigner(key, option: "--key", passphrase: passphrase.source, permissions: keyPermissions)
        // Fail now, not after hashing the whole model, when OUTPUT cannot be written.
        if !toStandardOutput { try OutputGuard.checkOutputFile(output, force: force) }
        let options = SigningOptions(
            method: shardSize.map { .shards(size: $0) } ?? .files,
            ignorePaths: ignore.map { ModelSigner.modelRelativeIgnorePath($0, model: URL(fileURLWithPath: model)) },
            allowSymlinks: allowSymlinks,
            signaturePath: toStandardOutput ? nil : URL(fileURLWithPath: output))
        // The certificates are read (and checked to hold the key) before the model is hashed.
        let chain = try certificate.map { try CLI.loadCertificates($0) + certificateChain.flatMap(CLI.loadCertificates) }
        if let chain { try SignatureBundle.checkSigningChain(chain, publicKey: signingKey.publicKey) }
        var bundle: SignatureBundle
        do { bundle = try ModelSigner.sign(model: URL(fileURLWithPath: model), key: signingKey, options: options) } catch let error as any ModelSecError
            where Array(error.code.utf8) == Array("model.symbolic-link".utf8) {
            throw HintedError(underlying: error, hint: "give --allow-symlinks to follow symbolic links and sign what they point to")
        }
        if let chain { bundle = try bundle.attachingCertificateChain(chain, publicKey: signingKey.publicKey) }
        if toStandardOutput {
            FileHandle.standardOutput.write(try bundle.jsonData())
        } else {
            try bundle.write(to: output, overwrite: force)
        }
        let manifest = try bundle.manifest(label: toStandardOutput ? "standard output" : output)
        let keyID = signingKey.publicKey.keyID
        if json.isOn {
            try CLI.printResult(Output(signature: output, modelName: manifest.modelName, subjectDigest: manifest.subjectDigest,
                                       keyId: keyID, algorithm: signingKey.algorithm.rawValue, method: manifest.method.name,
                                       fileCount: manifest.fileCount, resourceCount: manifest.resources.count))
            return
        }
        let destination = toStandardOutput ? "the signature to standard output" : output
        if !toStandardOutput {
            // With --output - stdout holds the bundle alone.
            print("subject: sha256:\(manifest.subjectDigest)")
            print("key-id: \(keyID)")
            print("files: \(manifest.fileCount)")
        }
        CLI.info("signed \(manifest.modelName) (\(manifest.fileCount) file\(manifest.fileCount == 1 ? "" : "s")) with \(signingKey.algorithm.rawValue) key \(keyID); wrote \(destination)")
    }
}
