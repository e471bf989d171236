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
          modelsec verify bert-base/ --signature model.sig \\
            --public-key release-signing.pem.pub
          modelsec verify bert-base/ --signature model.sig \\
            --trusted-keys /etc/modelsec/trusted --json
          modelsec verify bert-base/ --signature model.sig --public-key release.pub \\
            --file weights/layer0.bin
          modelsec verify bert-base/ --signature model.sig --public-key release.pub \\
            --ignore-unsigned-files
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

    @Flag(help: "Print the result as JSON (on failure too, with the error; the exit code still says 0/1/2).")
    var json = false

    func validate() throws {
        if publicKeys.isEmpty, trustedKeys == nil {
            throw ValidationError("give the trusted keys: --public-key PUB.pem (repeatable) or --trusted-keys DIR")
        }
        if !publicKeys.isEmpty, trustedKeys != nil {
            throw ValidationError("give --public-key or --trusted-keys, not both")
        }
    }

    /// What --json prints (beside `ok`), on success and on failure.
    struct Output: Encodable, Sendable {
        let outcome: String
        let modelName: String?
        let signerKeyId: String?
        let claimedKeyId: String?
        let subjectDigest: String?
        let method: String?
        let verifiedFileCount: Int
        let modified: [String]
        let missing: [String]
        let extra: [String]
        let summary: String

        init(_ r: ModelVerificationResult) {
            outcome = r.outcome.rawValue
            modelName = r.modelName
            signerKeyId = r.signerKeyID
            claimedKeyId = r.claimedKeyID
            subjectDigest = r.subjectDigest
            method = r.method
            verifiedFileCount = r.verifiedFileCount
            modified = r.modified
            missing = r.missing
            extra = r.extra
            summary = r.summary
        }
    }

    /// The error code of a failed outcome.
    static func code(_ outcome: ModelVerificationResult.Outcome) -> CLIError.Code {
        switch outcome {
        case .verified, .contentMismatch: return .contentMismatch
        case .untrustedSigner: return .untrustedSigner
        case .invalidSignature: return .invalidSignature
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
        if let file, result.extra.count == 1, result.modified.isEmpty, result.missing.isEmpty,
           !OutputGuard.exists(URL(fileURLWithPath: model).appendingPathComponent(file).path) {
            // Neither on disk nor signed: a mistyped name, not an extra file.
            throw CLIError(.fileNotInModel, "\(file) is not in the model \(model), and the signature does not cover it", path: file)
        }
        if json {
            if result.isVerified { try CLI.printResult(Output(result)) }
        } else if result.isVerified {
            CLI.printLine(result.summary)
        } else {
            CLI.printLine("verification failed: \(result.summary)")
            for path in result.modified { CLI.printLine("  modified: \(path)") }
            for path in result.missing { CLI.printLine("  missing:  \(path)") }
            for path in result.extra { CLI.printLine("  extra:    \(path)") }
        }
        if !result.isVerified {
            throw ReportedFailure(error: CLIError(Self.code(result.outcome), "\(model): verification failed: \(result.summary)", path: model),
                                  report: Output(result))
        }
    }
}
