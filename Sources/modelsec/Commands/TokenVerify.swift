import ArgumentParser
import Foundation
import ModelSec

/// `modelsec token verify`: accept or reject one access token.
struct TokenVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an access token; print its claims as JSON (exit 0) or the reason it is rejected (exit 1).",
        discussion: """
        Checks, in order: size (8 KiB), compact form, alg (fixed by the key: \
        Ed25519 → EdDSA, P-256 → ES256; none and HMAC refused), typ at+jwt, no crit, \
        key by exact kid, signature, claim types, iss, aud, exp/nbf/iat with \
        --leeway, jti against --revoked, then every --require-scope. jku, x5u, jwk \
        and x5c headers are never used. Exit codes: 0 accepted; 1 rejected; 2 \
        unusable arguments, key, JWKS or revocation files. With --json a rejection \
        is printed on stdout as {"valid": false, "code": …, "reason": …}.

        Examples:
          modelsec token verify "$TOKEN" --public-key issuer.pem.pub \\
            --issuer https://reg.example --audience deploy-gateway \\
            --require-scope model:deploy:resnet@2.1.0
          echo "$TOKEN" | modelsec token verify - --jwks jwks.json \\
            --issuer https://reg.example --audience registry \\
            --revoked revoked.txt --json
        """
    )

    @Argument(help: ArgumentHelp("The token, or - to read it from standard input (preferred: arguments are visible to other users).", valueName: "TOKEN|-"))
    var token: String

    @Option(name: .customLong("public-key"), help: ArgumentHelp("A trusted public key (SPKI PEM; its kid is its key id); repeat for more.", valueName: "PUB.pem"))
    var publicKeys: [String] = []

    @Option(help: ArgumentHelp("Trust the Ed25519/P-256 keys of this JWK Set (kid from the set).", valueName: "FILE"))
    var jwks: String?

    @Option(help: ArgumentHelp("The exact iss required.", valueName: "ISS"))
    var issuer: String

    @Option(help: ArgumentHelp("The audience that aud must contain.", valueName: "AUD"))
    var audience: String

    @Option(name: .customLong("require-scope"), help: ArgumentHelp("A scope the token must grant; repeat for more.", valueName: "SCOPE"))
    var requireScope: [String] = []

    @Option(help: ArgumentHelp("Clock skew tolerated for exp, nbf and iat.", valueName: "DURATION"))
    var leeway: String = "30s"

    @Option(help: ArgumentHelp("Revoked token ids: one jti per line, # comments.", valueName: "FILE"))
    var revoked: String?

    @Flag(help: "Print the rejection as JSON on stdout too (claims are JSON either way).")
    var json = false

    func validate() throws {
        guard publicKeys.isEmpty != (jwks == nil) else {
            throw ValidationError("Give the trusted keys with --public-key (repeatable) or --jwks, not both.")
        }
        _ = try TokenCLI.duration(leeway, option: "--leeway")
        _ = try TokenCLI.scopes(requireScope, option: "--require-scope")
    }

    /// What --json prints when a token is rejected.
    struct Rejection: Encodable {
        let valid = false
        let code: String
        let reason: String
    }

    func run() throws {
        var keys: [VerificationKey]
        if let jwks {
            keys = try JSONWebKeySet.keys(from: try FileIO.readFile(jwks, limit: 1 << 20), source: jwks)
        } else {
            keys = try publicKeys.map(VerificationKey.load(publicKeyFile:))
        }
        let verifier = try AccessTokenVerifier(
            keys: keys, issuer: issuer, audience: audience,
            leeway: try TokenCLI.duration(leeway, option: "--leeway"),
            revocations: try revoked.map { try RevocationList(contentsOf: $0) } ?? RevocationList(),
            requiredScopes: try TokenCLI.scopes(requireScope, option: "--require-scope"))
        let text = try TokenCLI.readToken(token)
        do {
            let verified = try verifier.verify(text)
            try CLI.printJSON(verified.claims)
        } catch let rejection as TokenRejection {
            if json { try CLI.printJSON(Rejection(code: rejection.code, reason: rejection.reason)) }
            FileHandle.standardError.write(Data("modelsec: \(rejection.description)\n".utf8))
            throw CLI.Exit(code: CLI.exitCode(rejection.category))
        }
    }
}
