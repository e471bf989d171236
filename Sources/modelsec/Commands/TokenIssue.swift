import ArgumentParser
import Foundation
import ModelSec

/// `modelsec token issue`: sign one access token.
struct TokenIssue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue an access token (one compact JWT, on stdout or into --output).",
        discussion: """
        The token is a bearer credential: give --output FILE to write it 0600 \
        (atomically; an existing file only with --force) rather than redirecting \
        stdout into a file your umask may leave readable to others.

        The header is {"alg":"EdDSA"|"ES256","kid":KID,"typ":"at+jwt"}; the claims \
        are iss, sub, aud, exp, iat (integers), jti (random), client_id (defaults to \
        the subject) and scope. A --ttl above --max-ttl (default 24h) is refused.

        Examples:
          modelsec token issue --key issuer.pem --issuer https://reg.example \\
            --audience deploy-gateway --subject ci-pipeline \\
            --scope model:deploy:resnet@2.1.0 --scope 'model:pull:resnet@*' \\
            --ttl 15m --output token
          modelsec token issue --key issuer-p256.pem --key-passphrase-file pass.txt \\
            --issuer https://reg.example --audience registry --subject alice \\
            --scope 'model:pull:*@*' --ttl 2h --json
        """
    )

    @Option(help: ArgumentHelp("The issuer's private key: a PKCS#8 PEM file (ed25519, p256, p384, p521) or a pkcs11: URI.", valueName: "PRIVATE_KEY"))
    var key: String

    @Option(help: ArgumentHelp("The iss claim, e.g. https://registry.example.", valueName: "ISS"))
    var issuer: String

    @Option(help: ArgumentHelp("The aud claim; repeat for several audiences.", valueName: "AUD"))
    var audience: [String] = []

    @Option(help: ArgumentHelp("The sub claim: who the token is for.", valueName: "SUB"))
    var subject: String

    @Option(help: ArgumentHelp("A granted scope, model:<action>:<name>@<version>; repeat for more.", valueName: "SCOPE"))
    var scope: [String] = []

    @Option(help: ArgumentHelp("How long the token is valid, e.g. 30s, 15m, 24h.", valueName: "DURATION"))
    var ttl: String = "15m"

    @Option(name: .customLong("max-ttl"), help: ArgumentHelp("Refuse a --ttl longer than this.", valueName: "DURATION"))
    var maxTTL: String = "24h"

    @Option(name: .customLong("client-id"), help: ArgumentHelp("The client_id claim (default: the subject).", valueName: "ID"))
    var clientID: String?

    @Option(help: ArgumentHelp("The kid header (default: the key id of the key).", valueName: "KID"))
    var kid: String?

    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var keyPermissions: KeyPermissionOptions

    @Option(name: [.short, .long], help: ArgumentHelp("Write the token here (0600, atomically) instead of printing it; - is stdout.", valueName: "FILE"))
    var output: String?

    @Flag(help: "Overwrite --output FILE if it exists.")
    var force = false

    @Flag(help: "Print {\"token\": …, \"claims\": …} as JSON instead of the bare token (with --output FILE: {\"output\": …, \"claims\": …}).")
    var json = false

    /// `--json` with `--output FILE`: where the token went, and its claims.
    struct WrittenToken: Encodable {
        let output: String
        let claims: AccessTokenClaims
    }

    func validate() throws {
        guard !audience.isEmpty else { throw ValidationError("Give at least one --audience.") }
        guard !scope.isEmpty else { throw ValidationError("Give at least one --scope, e.g. --scope model:pull:resnet@2.1.0.") }
        _ = try TokenCLI.scopes(scope, option: "--scope")
        let lifetime = try TokenCLI.duration(ttl, option: "--ttl")
        let maximum = try TokenCLI.duration(maxTTL, option: "--max-ttl")
        guard lifetime.seconds > 0 else { throw ValidationError("--ttl must be longer than 0s.") }
        guard lifetime <= maximum else {
            throw ValidationError("--ttl \(lifetime) exceeds the maximum lifetime \(maximum) (see --max-ttl).")
        }
    }

    func run() throws {
        // `--output -` is standard output, as without --output.
        let output = self.output == "-" ? nil : self.output
        if let output { try OutputGuard.refuseExisting(output, force: force) }
        let signingKey = try CLI.loadSigner(key, option: "--key", passphrase: passphrase.source, permissions: keyPermissions)
        let issuerObject = try AccessTokenIssuer(signingKey: signingKey, keyID: kid, issuer: issuer,
                                                 maximumLifetime: try TokenCLI.duration(maxTTL, option: "--max-ttl"))
        let request = AccessTokenIssuer.Request(
            subject: subject, audiences: audience, scopes: try TokenCLI.scopes(scope, option: "--scope"),
            lifetime: try TokenCLI.duration(ttl, option: "--ttl"), clientID: clientID)
        let issued = try issuerObject.issue(request)
        if let output {
            try AtomicFileWriter.write(Array((issued.token + "\n").utf8), to: output, mode: 0o600, overwrite: force)
            if json {
                try CLI.printResult(WrittenToken(output: output, claims: issued.claims))
            } else {
                CLI.info("wrote a token valid for \(issued.claims.expiresAt - issued.claims.issuedAt) s to \(output)")
            }
        } else if json {
            try CLI.printResult(issued)
        } else {
            print(issued.token)
        }
    }
}
