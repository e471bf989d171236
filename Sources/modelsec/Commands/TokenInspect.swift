import ArgumentParser
import Foundation
import ModelSec

/// `modelsec token inspect`: decode a token without verifying it.
struct TokenInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Decode a token's header and claims WITHOUT verifying it.",
        discussion: """
        Nothing is checked: not the signature, issuer, audience, expiry or \
        revocation. Use token verify to decide whether to trust a token. Prints \
        JSON {"verified": false, "warning": …, "header": …, "claims": …} and a \
        warning on stderr. Exit 2 when the token cannot be decoded at all.

        Examples:
          modelsec token inspect "$TOKEN"
          modelsec token inspect - < token.txt
        """
    )

    @Argument(help: ArgumentHelp("The token, or - to read it from standard input.", valueName: "TOKEN|-"))
    var token: String

    func run() throws {
        let text = try TokenCLI.readToken(token)
        let inspection: TokenInspection
        do { inspection = try TokenInspection(token: text) } catch let rejection as TokenRejection {
            throw TokenInputError.undecodableToken(rejection)
        }
        CLI.warn("NOT VERIFIED: this shows what the token claims, not whether it is genuine")
        try CLI.printJSON(inspection)
    }
}
