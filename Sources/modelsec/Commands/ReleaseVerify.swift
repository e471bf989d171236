import ArgumentParser
import Foundation
import ModelSec
import TokenService

/// `modelsec release verify`: the deploy gate.
struct ReleaseVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "The deploy gate: verify a release, check the deploy token, decrypt, and only then put MODEL_DIR in place.",
        discussion: """
        Steps, in order: signature (release.sig verifies with a trusted key: \
        one of --trusted-keys or --public-key, or with --ca-roots the key of \
        release.sig's signing certificate once its chain leads to one of the \
        roots and it holds --certificate-identity (required with --ca-roots) \
        and --certificate-oidc-issuer if given, checked as modelsec verify \
        --ca-roots checks it; the report names the certificate); \
        manifest (release.json is exactly what was signed); log (if --log-key: \
        REL/release.tlog-proof proves this release is in that transparency log, \
        cosigned by --witnesses N of the --witness-key keys, all of them when N \
        is not given); token (if --token, \
        --token-file or --token-env: valid, and grants model:deploy:NAME@VERSION); decrypt (every \
        artifact authenticates and its plaintext size and SHA-256 match the signed \
        ones); scan (the decrypted files are scanned afresh; a finding that \
        release.json does not record fails the gate); policy (if --policy: no deny \
        rule fails, judged on the fresh scan, as with modelsec audit; signature \
        rules trust the gate's --trusted-keys / --public-key in place of the \
        keys the policy names, as audit --trusted-keys does); \
        install (MODEL_DIR appears with one rename). Decryption happens in \
        a temporary directory beside MODEL_DIR, so on any failure nothing is \
        written there. MODEL_DIR also receives .modelsec/release.json and \
        .modelsec/release.sig, so `modelsec verify MODEL_DIR --signature \
        MODEL_DIR/.modelsec/release.sig` re-checks it later.

        Exit codes: 0 deployed; 1 a step failed (the report names it); 2 unusable \
        arguments (unreadable keys, MODEL_DIR exists and is not empty).

        Examples:
          modelsec release verify bert-1.0.0 --trusted-keys trusted/ \\
            --identity deploy.pem --output /models/bert
          modelsec release verify bert-1.0.0 --trusted-keys trusted/ \\
            --identity deploy.pem --log-key log.vkey \\
            --witness-key witness.vkey --witnesses 1 --output /models/bert
          modelsec release verify bert-1.0.0 --ca-roots ca.pem \\
            --certificate-identity https://ci.example.com/pipelines/release \\
            --identity deploy.pem --output /models/bert
          modelsec release verify bert-1.0.0 --public-key release.pub \\
            --key-file kms-export.key --token-file /var/run/deploy-token \\
            --token-jwks jwks.json --token-issuer https://reg.example \\
            --audience deploy-gate --policy policies/baseline.yaml \\
            --output /models/bert --json
        """
    )

    @Argument(help: ArgumentHelp("The release directory.", valueName: "RELEASE_DIR"))
    var release: String

    @Option(name: .customLong("trusted-keys"), help: ArgumentHelp("A directory of trusted signing public keys (*.pub, *.pem).", valueName: "DIR"))
    var trustedKeys: String?

    @Option(name: .customLong("public-key"), help: ArgumentHelp("A trusted signing public key (repeatable).", valueName: "PUB.pem"))
    var publicKeys: [String] = []

    @OptionGroup var certificateTrust: CertificateTrustOptions

    @Option(help: ArgumentHelp("The X25519 private key the release is encrypted to (repeatable).", valueName: "KEY"))
    var identity: [String] = []

    @Option(name: .customLong("key-file"), help: ArgumentHelp("The symmetric aes256 key file the release is encrypted to.", valueName: "KEY"))
    var keyFile: String?

    @Option(help: ArgumentHelp("A deploy token (JWT), or - for standard input. Prefer --token-file: arguments are visible to other users.", valueName: "TOKEN"))
    var token: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("Read the deploy token from FILE.", valueName: "FILE"))
    var tokenFile: String?

    @Option(name: .customLong("token-env"), help: ArgumentHelp("Read the deploy token from the environment variable NAME.", valueName: "NAME"))
    var tokenEnv: String?

    @Option(name: .customLong("token-jwks"), help: ArgumentHelp("The token issuer's keys (JWK Set).", valueName: "FILE"))
    var tokenJWKS: String?

    @Option(name: .customLong("token-public-key"), help: ArgumentHelp("A token issuer's public key (repeatable; instead of --token-jwks).", valueName: "PUB.pem"))
    var tokenPublicKeys: [String] = []

    @Option(name: .customLong("token-jwks-url"), help: ArgumentHelp("The token issuer's keys from the JWK Set at URL (https, or http to a loopback address; fetched once, bounded, no redirect).", valueName: "URL"))
    var tokenJWKSURL: String?

    @Option(name: .customLong("token-introspect"), help: ArgumentHelp("After the token's local checks, ask this token service (base URL; POST URL/introspect, RFC 7662) whether it is still active: a revoked token fails the token step. Needs --introspect-client-id and --introspect-secret-file.", valueName: "URL"))
    var tokenIntrospect: String?

    @Option(name: .customLong("token-ca-file"), help: ArgumentHelp("Trust only the CA certificates in FILE (PEM), not the system's, for an https --token-jwks-url or --token-introspect.", valueName: "FILE"))
    var tokenCAFile: String?

    @Option(name: .customLong("introspect-client-id"), help: ArgumentHelp("The client id the introspection request authenticates as.", valueName: "ID"))
    var introspectClientID: String?

    @Option(name: .customLong("introspect-secret-file"), help: ArgumentHelp("The file holding that client's secret.", valueName: "FILE"))
    var introspectSecretFile: String?

    @Option(name: .customLong("token-issuer"), help: ArgumentHelp("The exact iss the token must carry.", valueName: "ISS"))
    var tokenIssuer: String?

    @Option(help: ArgumentHelp("The audience the token's aud must contain.", valueName: "AUD"))
    var audience: String?

    @Option(name: .customLong("token-leeway"), help: ArgumentHelp("Clock skew tolerated for exp, nbf and iat.", valueName: "DURATION"))
    var tokenLeeway: String = "30s"

    @Option(name: .customLong("token-revoked"), help: ArgumentHelp("Revoked token ids (one jti per line).", valueName: "FILE"))
    var tokenRevoked: String?

    @Option(help: ArgumentHelp("A policy (YAML, docs/policy.md) the release must pass: no deny rule may fail (repeatable).", valueName: "FILE"))
    var policy: [String] = []

    @Option(name: .customLong("log-key"), help: ArgumentHelp("Require the release to be in the transparency log with this checkpoint key (vkey text, a file holding it, or an Ed25519 PEM with --log-origin; default: $MODELSEC_LOG_KEY).", valueName: "VKEY"))
    var logKeyOption: String?

    /// `--log-key`, else `MODELSEC_LOG_KEY`: a pipeline that names the log's
    /// key once gets the gate's log step too (it can only make the gate stricter).
    var logKey: String? {
        logKeyOption ?? ProcessInfo.processInfo.environment["MODELSEC_LOG_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    }

    @Option(name: .customLong("log-origin"), help: ArgumentHelp("The log's origin (needed when --log-key is a PEM file).", valueName: "ORIGIN"))
    var logOrigin: String?

    @Option(name: .customLong("witness-key"), help: ArgumentHelp("A witness's cosigning key: vkey text, a file holding it, or its Ed25519 public key PEM (repeatable).", valueName: "VKEY"))
    var witnessKeys: [String] = []

    @Option(help: ArgumentHelp("How many of the --witness-key keys must have cosigned the proof's checkpoint (default: all of them; 0 checks none).", valueName: "N"))
    var witnesses: Int?

    /// The quorum: `--witnesses N`, or every `--witness-key` given (a
    /// witness key given without N is never a check of zero witnesses).
    var requiredWitnesses: Int { witnesses ?? witnessKeys.count }

    @Option(name: [.short, .long], help: ArgumentHelp("Where to put the model (must not exist, or be an empty directory).", valueName: "MODEL_DIR"))
    var output: String

    @Flag(help: "Accepted as by every command that writes, but MODEL_DIR is never replaced: an existing non-empty MODEL_DIR is refused (output.exists) with or without it.")
    var force = false

    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var keyPermissions: KeyPermissionOptions

    @Flag(name: .customLong("require-token"), help: "Refuse to run without a deploy token (--token, --token-file or --token-env), so a deploy step cannot pass by forgetting the token flags. Also set by MODELSEC_REQUIRE_TOKEN=1 (or true, yes, on).")
    var requireToken = false

    @OptionGroup var progressOptions: ProgressOptions

    @Flag(help: "Print the step report as JSON on stdout.")
    var json = false

    var wantsToken: Bool { token != nil || tokenFile != nil || tokenEnv != nil }

    /// What --json prints (beside `ok`), on success and on failure: the
    /// gate's step report.
    struct Output: Encodable, Sendable {
        let releaseDirectory: String
        let output: String
        let release: String?
        let signerKeyId: String?
        let steps: [DeployStep]
        let deployed: Bool
        let scan: ReleaseManifest.ScanResult?
        /// With --ca-roots: the validated signing certificate.
        let certificate: Verify.CertificateInfo?

        init(_ r: DeployReport, certificate: Verify.CertificateInfo? = nil) {
            self.certificate = certificate
            releaseDirectory = r.releaseDirectory
            output = r.output
            release = r.release
            signerKeyId = r.signerKeyID
            steps = r.steps
            deployed = r.deployed
            scan = r.scan
        }
    }

    func validate() throws {
        if requiredWitnesses < 0 || requiredWitnesses > witnessKeys.count {
            throw ValidationError("--witnesses must be between 0 and the number of --witness-key keys (\(witnessKeys.count))")
        }
        if logKey == nil, logOrigin != nil || !witnessKeys.isEmpty {
            throw ValidationError("--log-origin and --witness-key need --log-key")
        }
        let trustSources = (trustedKeys == nil ? 0 : 1) + (publicKeys.isEmpty ? 0 : 1) + (certificateTrust.isGiven ? 1 : 0)
        if trustSources == 0 {
            throw ValidationError("give the trusted signing keys: --trusted-keys DIR or --public-key PUB.pem (repeatable), or for a certificate-signed release --ca-roots ROOTS.pem")
        }
        if trustSources > 1 {
            throw ValidationError("give one of --trusted-keys, --public-key and --ca-roots")
        }
        try certificateTrust.validateNeedsRoots()
        // Without an identity, any certificate the roots issued (an organisation-wide CA) would deploy.
        if certificateTrust.isGiven, certificateTrust.identity == nil {
            throw ValidationError("--ca-roots needs --certificate-identity SAN, the name the release pipeline's certificate holds: without it the gate would deploy a release signed by any certificate these roots issued")
        }
        if identity.isEmpty, keyFile == nil {
            throw ValidationError("Give --identity KEY (repeatable) or --key-file KEY to decrypt the release.")
        }
        if [token, tokenFile, tokenEnv].compactMap({ $0 }).count > 1 { throw ValidationError("give one of --token, --token-file or --token-env") }
        let requiredByEnvironment = try EnvironmentFlag.isOn("MODELSEC_REQUIRE_TOKEN")
        if requireToken || requiredByEnvironment, !wantsToken {
            throw ValidationError("A deploy token is required (--require-token or MODELSEC_REQUIRE_TOKEN=1): give --token-file FILE (or --token-env NAME) with the issuer's keys (--token-jwks FILE, --token-public-key PUB.pem or --token-jwks-url URL), --token-issuer and --audience.")
        }
        if wantsToken {
            let keySources = (tokenJWKS == nil ? 0 : 1) + (tokenPublicKeys.isEmpty ? 0 : 1) + (tokenJWKSURL == nil ? 0 : 1)
            if keySources == 0 {
                throw ValidationError("a token needs the issuer's keys: --token-jwks FILE, --token-public-key PUB.pem or --token-jwks-url URL")
            }
            if keySources > 1 {
                throw ValidationError("give one of --token-jwks, --token-public-key and --token-jwks-url")
            }
            if tokenIntrospect != nil, introspectClientID == nil || introspectSecretFile == nil {
                throw ValidationError("--token-introspect needs --introspect-client-id and --introspect-secret-file")
            }
            if tokenCAFile != nil, tokenJWKSURL == nil, tokenIntrospect == nil {
                throw ValidationError("--token-ca-file goes with --token-jwks-url or --token-introspect")
            }
            guard tokenIssuer != nil, audience != nil else {
                throw ValidationError("A token needs --token-issuer ISS and --audience AUD.")
            }
            _ = try TokenCLI.duration(tokenLeeway, option: "--token-leeway")
        } else if tokenJWKS != nil || !tokenPublicKeys.isEmpty || tokenJWKSURL != nil || tokenIssuer != nil || audience != nil
                    || tokenIntrospect != nil || tokenCAFile != nil {
            throw ValidationError("--token-jwks, --token-public-key, --token-jwks-url, --token-introspect, --token-ca-file, --token-issuer and --audience need --token, --token-file or --token-env.")
        }
    }

    func run() throws {
        // Before any key is read or byte decrypted: the one existing-output rule.
        try OutputGuard.refuseExistingDirectoryAlways(output, command: "release verify", why: "a running model may be reading it")
        let trusted: TrustedKeys
        var policyTrust: AuditTrust?
        var certificate: Verify.CertificateInfo?
        if !certificateTrust.isGiven {
            trusted = try CLI.loadTrustedKeys(directory: trustedKeys, publicKeyFiles: publicKeys)
            policyTrust = try CLI.signatureTrust(trustedKeys: trustedKeys, publicKeys: publicKeys)
        } else {
            // The one certificate check `verify --ca-roots` makes: the signing
            // certificate's key, once validated, is the one trusted key.
            let signaturePath = (release as NSString).appendingPathComponent(ReleaseLayout.signatureFile)
            let signer = try certificateTrust.signer(of: try SignatureBundle.read(from: signaturePath), label: signaturePath)
            trusted = TrustedKeys([signer.publicKey])
            certificate = Verify.CertificateInfo(signer)
            policyTrust = AuditTrust(keys: [signer.publicKey], origin: "--ca-roots " + certificateTrust.caRoots.joined(separator: ", ") + " (the validated signing certificate's key)")
        }
        let identities = try CLI.loadIdentities(privateKeyFiles: identity, symmetricKeyFiles: keyFile.map { [$0] } ?? [],
                                                 passphrase: passphrase.source, permissions: keyPermissions)
        var request = DeployRequest(releaseDirectory: release, trustedKeys: trusted, identities: identities, output: output)
        if wantsToken, let tokenIssuer, let audience {
            let text = try TokenCLI.token(argument: token, file: tokenFile, env: tokenEnv)
            let transport = try TokenCLI.transport(caFile: tokenCAFile)
            let keys = try TokenCLI.verificationKeys(jwks: tokenJWKS, jwksURL: tokenJWKSURL, publicKeys: tokenPublicKeys,
                                                     transport: transport)
            request.token = DeployTokenCheck(
                token: text, keys: keys, issuer: tokenIssuer, audience: audience,
                leeway: try TokenCLI.duration(tokenLeeway, option: "--token-leeway"),
                revocations: try tokenRevoked.map { try RevocationList(contentsOf: $0) } ?? RevocationList())
            if let service = tokenIntrospect, let clientID = introspectClientID, let secretFile = introspectSecretFile {
                request.token?.online = { token, claims in
                    try TokenVerify.requireActive(token, jti: claims.tokenID, service: service, clientID: clientID, secretFile: secretFile,
                                                  transport: transport, permissions: keyPermissions)
                }
            }
        }
        if let logKey {
            let verifier = try LogSupport.logVerifier(logKey, origin: logOrigin, originOption: "--log-origin")
            // A witness is a vkey (name+id+key) or an Ed25519 public key PEM, matched to its cosignature by key id.
            var named: [NoteVerifier] = [], unnamed: [Ed25519.PublicKey] = []
            for spec in witnessKeys {
                // vkey text is never read as a path (see LogSupport.verifier).
                if !LogSupport.isVkeyText(spec), FileIO.exists(spec), try FileIO.readText(spec, limit: 64 * 1024).hasPrefix("-----BEGIN") {
                    let key = try KeyFile.loadPublicKey(spec)
                    guard case let .ed25519(ed) = key else {
                        throw KeyFileError(path: spec, problem: .wrongAlgorithm(expected: .ed25519, actual: key.algorithm))
                    }
                    unnamed.append(ed)
                } else {
                    named.append(try LogSupport.verifier(spec, name: nil, type: .cosignatureV1, option: "--witness-key"))
                }
            }
            // The log's own key is never a witness (its signature line would count as a cosignature).
            let logPublicKey = verifier.publicKey.rawRepresentation
            if named.contains(where: { $0.publicKey.rawRepresentation == logPublicKey }) || unnamed.contains(where: { $0.rawRepresentation == logPublicKey }) {
                throw CLIError(.invalidValue, "a --witness-key is the log's own key (--log-key): a log cannot witness its own checkpoints; give the witnesses' keys")
            }
            var check = TransparencyLogCheck(logKey: verifier, witnesses: named, requiredWitnesses: requiredWitnesses)
            check.witnessPublicKeys = unnamed
            request.transparencyLog = check
        }
        if !policy.isEmpty {
            // Signature rules trust the gate's own keys, as `modelsec audit --trusted-keys` does.
            request.policy = ReleasePolicyStep.make(policies: try policy.map { try PolicyLoader.load(path: $0) },
                                                    trust: policyTrust)
        }
        let report = try DeployGate.run(request)
        if json {
            if report.deployed { try CLI.printResult(Output(report, certificate: certificate)) }
        } else {
            if let certificate {
                let names = certificate.subjectAlternativeNames.map(CLI.terminalSafe).joined(separator: ", ")
                FileHandle.standardError.write(Data("  certificate: \(CLI.terminalSafe(certificate.subject)) (\(names)), issued by \(CLI.terminalSafe(certificate.issuer)), root \(CLI.terminalSafe(certificate.root))\n".utf8))
            }
            for step in report.steps {
                FileHandle.standardError.write(Data("  \(step.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(step.name.rawValue): \(CLI.terminalSafe(step.detail))\n".utf8))
            }
        }
        guard report.deployed else {
            throw ReportedFailure(error: CLIError(.deployStepFailed, report.summary, path: release), report: Output(report, certificate: certificate))
        }
        if !json { CLI.printLine(report.summary) }
    }
}
