import ArgumentParser
import Foundation
import ModelSec

/// `modelsec verify`: check a model against its signature.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a model against an OMS v1.0 signature (from modelsec or the OpenSSF model_signing tool).",
        discussion: """
        Exit 0 with a one-line summary when the model is exactly what a trusted \
        key signed. Exit 1 with a report listing every modified, missing and \
        extra file, or naming the key id that signed when it is not trusted. \
        Exit 2 when the signature (or a key) is malformed or unreadable.

        With --ca-roots the signature must be a certificate signature (the OMS \
        certificate method): the chain in the bundle must lead from the signing \
        certificate to one of the roots, valid now (OpenSSL path validation; key \
        usage digitalSignature and extended key usage codeSigning required; \
        --crl checks the signing certificate's revocation), and hold --certificate-identity and \
        --certificate-oidc-issuer when given. The report names the signing \
        certificate's subject, names, issuer and validity.

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
          modelsec verify bert-base/ --signature model.sig --ca-roots ca.pem \\
            --certificate-identity https://ci.example.com/pipelines/release
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

    @OptionGroup var certificateTrust: CertificateTrustOptions

    @Flag(help: "Do not report files the signature does not cover.")
    var ignoreUnsignedFiles = false

    @Option(help: ArgumentHelp("Verify only this file (relative to MODEL) without hashing the rest.", valueName: "RELATIVE_PATH"))
    var file: String?

    @OptionGroup var progressOptions: ProgressOptions

    @Flag(help: "Print the result as JSON (on failure too, with the error; the exit code still says 0/1/2).")
    var json = false

    func validate() throws {
        let sources = (publicKeys.isEmpty ? 0 : 1) + (trustedKeys == nil ? 0 : 1) + (certificateTrust.isGiven ? 1 : 0)
        if sources == 0 {
            throw ValidationError("give the trust: --public-key PUB.pem (repeatable), --trusted-keys DIR, or --ca-roots ROOTS.pem")
        }
        if sources > 1 {
            throw ValidationError("give one of --public-key, --trusted-keys and --ca-roots")
        }
        try certificateTrust.validateNeedsRoots()
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
        /// For a certificate signature: who the validated certificate names.
        var certificate: CertificateInfo? = nil

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

    /// The signing certificate of a certificate signature.
    struct CertificateInfo: Encodable, Sendable {
        let subject: String
        let subjectAlternativeNames: [String]
        let issuer: String
        let notBefore: String
        let notAfter: String
        let root: String

        init(_ signer: CertifiedSigner) {
            let c = signer.certificate
            let format = ISO8601DateFormatter()
            subject = c.subject
            subjectAlternativeNames = signer.subjectAlternativeNames
            issuer = c.issuer
            notBefore = format.string(from: c.notBefore)
            notAfter = format.string(from: c.notAfter)
            root = signer.path.last?.subject ?? c.issuer
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

    /// When `file` names a path through the model (`model/x.bin`, or an
    /// absolute path inside it) instead of one relative to it, the command
    /// with the relative path; nil otherwise.
    static func relativeHint(file: String, model: String) -> String? {
        let root = URL(fileURLWithPath: model).standardizedFileURL.path
        let named = URL(fileURLWithPath: file).standardizedFileURL.path
        let prefix = root.hasSuffix("/") ? root : root + "/"
        guard named.utf8.starts(with: prefix.utf8), named.utf8.count > prefix.utf8.count else { return nil }
        let relative = String(named.dropFirst(prefix.count))
        return "--file takes a path relative to the model: --file \(CLI.shellQuoted(relative))"
    }

    func run() throws {
        let bundle = try SignatureBundle.read(from: signature)
        let trusted: TrustedKeys
        var certified: CertifiedSigner?
        if certificateTrust.isGiven {
            let signer = try certificateTrust.signer(of: bundle, label: signature)
            certified = signer
            trusted = TrustedKeys([signer.publicKey])
        } else {
            trusted = try CLI.loadTrustedKeys(directory: trustedKeys, publicKeyFiles: publicKeys)
        }
        let modelURL = URL(fileURLWithPath: model)
        let options = VerificationOptions(ignoreUnsignedFiles: ignoreUnsignedFiles, signaturePath: URL(fileURLWithPath: signature))
        let result: ModelVerificationResult
        if let file {
            do {
                result = try ModelVerifier.verifyFile(relativePath: file, model: modelURL, bundle: bundle, trustedKeys: trusted, options: options)
            } catch let error as ModelContentError where error.problem == .pathOutsideModel {
                throw HintedError(underlying: error, hint: Self.relativeHint(file: file, model: model))
            }
        } else {
            result = try ModelVerifier.verify(model: modelURL, bundle: bundle, trustedKeys: trusted, options: options)
        }
        if let file, result.extra.count == 1, result.modified.isEmpty, result.missing.isEmpty,
           !OutputGuard.exists(URL(fileURLWithPath: model).appendingPathComponent(file).path) {
            // Neither on disk nor signed: a mistyped name, not an extra file.
            var message = "\(file) is not in the model \(model), and the signature does not cover it"
            if let hint = Self.relativeHint(file: file, model: model) { message += " (\(hint))" }
            throw CLIError(.fileNotInModel, message, path: file)
        }
        var output = Output(result)
        output.certificate = certified.map(CertificateInfo.init)
        if json {
            if result.isVerified { try CLI.printResult(output) }
        } else if result.isVerified {
            CLI.printLine(result.summary)
            if let info = output.certificate {
                CLI.printLine("  certificate: \(info.subject) (\(info.subjectAlternativeNames.joined(separator: ", ")))")
                CLI.printLine("  issued by:   \(info.issuer), root \(info.root)")
                CLI.printLine("  valid:       \(info.notBefore) to \(info.notAfter)")
            }
        } else {
            CLI.printLine("verification failed: \(result.summary)")
            for path in result.modified { CLI.printLine("  modified: \(path)") }
            for path in result.missing { CLI.printLine("  missing:  \(path)") }
            for path in result.extra { CLI.printLine("  extra:    \(path)") }
        }
        if !result.isVerified {
            throw ReportedFailure(error: CLIError(Self.code(result.outcome), "\(model): verification failed: \(result.summary)", path: model),
                                  report: output)
        }
    }
}
