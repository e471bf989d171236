import ArgumentParser
import Foundation
import ModelSec
import TokenService

/// `modelsec token verify`: accept or reject one access token.
struct TokenVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an access token; print its claims (exit 0) or the reason it is rejected (exit 1).",
        discussion: """
        Checks, in order: size (8 KiB), compact form, alg (fixed by the key: \
        Ed25519 → EdDSA, P-256 → ES256; none and HMAC refused), typ at+jwt, no crit, \
        key by exact kid, signature, claim types, iss, aud, exp/nbf/iat with \
        --leeway, jti against --revoked, then every --require-scope. jku, x5u, jwk \
        and x5c headers are never used. Exit codes: 0 accepted; 1 rejected; 2 \
        unusable arguments, key, JWKS or revocation files. Without --json the \
        claims are printed as JSON; with --json the envelope of docs/cli-json.md: \
        {"ok": true, "claims": …, "keyId": …} or {"ok": false, "error": …}.

        The token comes from --token-file FILE, --token-env NAME, standard input \
        (TOKEN -) or, least safely (other users can see arguments), TOKEN itself.

        Examples:
          modelsec token verify --token-file tok --public-key issuer.pem.pub \\
            --issuer https://reg.example --audience deploy-gateway \\
            --require-scope model:deploy:resnet@2.1.0
          echo "$TOKEN" | modelsec token verify - --jwks jwks.json \\
            --issuer https://reg.example --audience registry \\
            --revoked revoked.txt --json
        """
    )

    @Argument(help: ArgumentHelp("The token, or - to read it from standard input (arguments are visible to other users: prefer - or --token-file).", valueName: "TOKEN|-"))
    var token: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("Read the token from FILE.", valueName: "FILE"))
    var tokenFile: String?

    @Option(name: .customLong("token-env"), help: ArgumentHelp("Read the token from the environment variable NAME.", valueName: "NAME"))
    var tokenEnv: String?

    @Option(name: .customLong("public-key"), help: ArgumentHelp("A trusted public key (SPKI PEM; its kid is its key id); repeat for more.", valueName: "PUB.pem"))
    var publicKeys: [String] = []

    @Option(name: [.customLong("jwks"), .customLong("token-jwks")], help: ArgumentHelp("Trust the Ed25519/P-256 keys of this JWK Set (kid from the set).", valueName: "FILE"))
    var jwks: String?

    @Option(name: [.customLong("token-jwks-url"), .customLong("jwks-url")], help: ArgumentHelp("Trust the keys of the JWK Set at URL (https, or http to a loopback address), fetched once per run with size and time limits, redirects refused.", valueName: "URL"))
    var jwksURL: String?

    @Option(name: [.customLong("token-introspect"), .customLong("introspect")], help: ArgumentHelp("After the local checks pass, ask this token service (its base URL; POST URL/introspect, RFC 7662) whether the token is still active: a revoked token is refused. Needs --introspect-client-id and --introspect-secret-file.", valueName: "URL"))
    var introspect: String?

    @Option(name: [.customLong("ca-file"), .customLong("token-ca-file")], help: ArgumentHelp("Trust only the CA certificates in FILE (PEM), not the system's, for an https --token-jwks-url or --token-introspect (as token fetch --ca-file).", valueName: "FILE"))
    var caFile: String?

    @Option(name: .customLong("introspect-client-id"), help: ArgumentHelp("The client id the introspection request authenticates as.", valueName: "ID"))
    var introspectClientID: String?

    @Option(name: .customLong("introspect-secret-file"), help: ArgumentHelp("The file holding that client's secret (its text, line ends trimmed; sent with HTTP Basic).", valueName: "FILE"))
    var introspectSecretFile: String?

    @Option(name: [.customLong("issuer"), .customLong("token-issuer")], help: ArgumentHelp("The exact iss required.", valueName: "ISS"))
    var issuer: String

    @Option(help: ArgumentHelp("The audience that aud must contain.", valueName: "AUD"))
    var audience: String

    @Option(name: .customLong("require-scope"), help: ArgumentHelp("A scope the token must grant; repeat for more.", valueName: "SCOPE"))
    var requireScope: [String] = []

    @Option(help: ArgumentHelp("Clock skew tolerated for exp, nbf and iat.", valueName: "DURATION"))
    var leeway: String = "30s"

    @Option(help: ArgumentHelp("Revoked token ids: one jti per line, # comments.", valueName: "FILE"))
    var revoked: String?

    @Flag(help: "Print the result as JSON on stdout ({\"ok\": …}), the rejection too.")
    var json = false

    @OptionGroup var keyPermissions: KeyPermissionOptions

    func validate() throws {
        let keySources = (publicKeys.isEmpty ? 0 : 1) + (jwks == nil ? 0 : 1) + (jwksURL == nil ? 0 : 1)
        if keySources == 0 {
            throw ValidationError("give the trusted keys: --public-key PUB.pem (repeatable), --jwks FILE or --token-jwks-url URL")
        }
        if keySources > 1 { throw ValidationError("give one of --public-key, --jwks and --token-jwks-url") }
        if introspect != nil, introspectClientID == nil || introspectSecretFile == nil {
            throw ValidationError("--token-introspect needs --introspect-client-id and --introspect-secret-file")
        }
        if introspect == nil, introspectClientID != nil || introspectSecretFile != nil {
            throw ValidationError("--introspect-client-id and --introspect-secret-file go with --token-introspect")
        }
        if caFile != nil, jwksURL == nil, introspect == nil {
            throw ValidationError("--ca-file goes with --token-jwks-url or --token-introspect")
        }
        let sources = [token, tokenFile, tokenEnv].compactMap { $0 }.count
        if sources == 0 { throw ValidationError("give the token: TOKEN, - (standard input), --token-file FILE or --token-env NAME") }
        if sources > 1 { throw ValidationError("give one of TOKEN, --token-file or --token-env") }
        _ = try TokenCLI.duration(leeway, option: "--leeway")
        _ = try TokenCLI.scopes(requireScope, option: "--require-scope")
    }

    /// What --json prints (beside `ok`) for an accepted token.
    struct Output: Encodable {
        /// The token's claims, with their registered JWT names.
        let claims: AccessTokenClaims
        /// The kid of the header, which selected the verification key.
        let keyId: String?
    }

    /// The token text from the one source given.
    func tokenText() throws -> String { try TokenCLI.token(argument: token, file: tokenFile, env: tokenEnv) }

    /// Asks the token service at `service` (RFC 7662) whether `token` is
    /// still active; an inactive token is refused as revoked. Shared by
    /// `release verify --token-introspect`.
    static func requireActive(_ token: String, jti: String, service: String, clientID: String, secretFile: String,
                              transport: OutgoingHTTP, permissions: KeyPermissionOptions) throws {
        guard let url = URL(string: service) else {
            throw CLIError(.invalidValue, "--token-introspect: \(service) is not a URL")
        }
        let secret = try TokenCLI.clientSecret(file: secretFile, permissions: permissions)
        let client = try TokenClient(server: url, clientID: clientID, credential: .secret(secret, post: false), scopes: [],
                                     transport: transport)
        let active = try AsyncBridge.run { try await client.isActive(token) }
        guard active else { throw TokenRejection.revoked(jti: jti) }
    }

    func run() throws {
        let transport = try TokenCLI.transport(caFile: caFile)
        let verifier = try AccessTokenVerifier(
            keys: try TokenCLI.verificationKeys(jwks: jwks, jwksURL: jwksURL, publicKeys: publicKeys, transport: transport),
            issuer: issuer, audience: audience,
            leeway: try TokenCLI.duration(leeway, option: "--leeway"),
            revocations: try revoked.map { try RevocationList(contentsOf: $0) } ?? RevocationList(),
            requiredScopes: try TokenCLI.scopes(requireScope, option: "--require-scope"))
        let text = try tokenText()
        let verified = try verifier.verify(text)
        if let introspect {
            try Self.requireActive(text, jti: verified.claims.tokenID, service: introspect, clientID: introspectClientID ?? "",
                                   secretFile: introspectSecretFile ?? "", transport: transport, permissions: keyPermissions)
        }
        if json {
            try CLI.printResult(Output(claims: verified.claims, keyId: verified.header.keyID))
        } else {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            // Claims are the token's text: bidi and C1 controls written as \uXXXX (the same strings to a JSON reader).
            FileHandle.standardOutput.write(JSONEnvelope.terminalSafeJSON(try encoder.encode(verified.claims)) + Data("\n".utf8))
        }
    }
}
