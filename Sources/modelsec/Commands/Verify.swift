import ArgumentParser
import Foundation
import ModelSec

/// `modelsec verify`: check a model against its signature.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a model against an OMS v1.0 signature (from modelsec or the OpenSSF model_signing tool).",
        discussion: """
        Exit 0 with a one-line summary when the model is exactly what a trusted \
        key signed. Exit 1 with a report listing every modified, missing and \
        extra file, or naming the key id that signed when it is not trusted. \
        Exit 2 when the signature (or a key) is malformed or unreadable.

        With --file, only that one file of a directory model is hashed and \
        checked against the directory's signature.

        Examples:
          modelsec verify bert-base/ --signature model.sig --public-key release-signing.pem.pub
          modelsec verify bert-base/ --signature model.sig --trusted-keys /etc/modelsec/trusted --json
          modelsec verify bert-base/ --signature model.sig --public-key release.pub --file weights/layer0.bin
          modelsec verify bert-base/ --signature model.sig --public-key release.pub --ignore-unsigned-files
        """
    )

    @Argument(help: ArgumentHelp("The model: a directory or a single file.", valueName: "MODEL"))
    var model: String

    @Option(help: ArgumentHelp("The signature (Sigstore bundle) to check.", valueName: "SIG"))
    var signature: String

    @Option(name: .customLong("public-key"), help: ArgumentHelp("A trusted public key (SPKI PEM); repeatable.", valueName: "PUB.pem"))
    var publicKeys: [String] = []

    @Option(help: ArgumentHelp("A directory of trusted public keys (*.pub, *.pem).", valueName: "DIR"))
    var trustedKeys: String?

    @Flag(help: "Do not report files the signature does not cover.")
    var ignoreUnsignedFiles = false

    @Option(help: ArgumentHelp("Verify only this file (relative to MODEL) without hashing the rest.", valueName: "RELATIVE_PATH"))
    var file: String?

    @OptionGroup var progressOptions: ProgressOptions

    @Flag(help: "Print the result as JSON (on failure too; the exit code still says 0/1).")
    var json = false

    func validate() throws {
        if publicKeys.isEmpty == (trustedKeys == nil) {
            throw ValidationError("Give the trusted keys with --public-key (repeatable) or --trusted-keys DIR, not both.")
        }
    }

    func run() throws {
        let trusted = try trustedKeys.map { try TrustedKeys(directory: $0) } ?? TrustedKeys(publicKeyFiles: publicKeys)
        let bundle = try SignatureBundle.read(from: signature)
        let modelURL = URL(fileURLWithPath: model)
        let options = VerificationOptions(ignoreUnsignedFiles: ignoreUnsignedFiles, signaturePath: URL(fileURLWithPath: signature))
        let result: ModelVerificationResult
        if let file {
            result = try ModelVerifier.verifyFile(relativePath: file, model: modelURL, bundle: bundle, trustedKeys: trusted, options: options)
        } else {
            result = try ModelVerifier.verify(model: modelURL, bundle: bundle, trustedKeys: trusted, options: options)
        }
        if json {
            try CLI.printJSON(result)
        } else if result.isVerified {
            CLI.printLine(result.summary)
        } else {
            CLI.printLine("verification failed: \(result.summary)")
            for path in result.modified { CLI.printLine("  modified: \(path)") }
            for path in result.missing { CLI.printLine("  missing:  \(path)") }
            for path in result.extra { CLI.printLine("  extra:    \(path)") }
        }
        if !result.isVerified {
            FileHandle.standardError.write(Data("modelsec: error: \(model): verification failed: \(result.summary)\n".utf8))
            throw CLI.Exit(code: 1)
        }
    }
}
