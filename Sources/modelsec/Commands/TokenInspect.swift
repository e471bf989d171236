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
        JSON {"ok": true, "verified": false, "warning": …, "header": …, "claims": …, \
        "signatureBytes": …} and a warning on stderr; an error is printed as \
        {"ok": false, "error": …} (docs/cli-json.md). Exit 2 when the token \
        cannot be decoded at all. A token given as TOKEN is visible to other \
        users in the process list: prefer --token-file or standard input.

        Examples:
          modelsec token inspect --token-file token.txt
          modelsec token inspect - < token.txt
        """
    )

    @Argument(help: ArgumentHelp("The token, or - to read it from standard input.", valueName: "TOKEN|-"))
    var token: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("Read the token from FILE.", valueName: "FILE"))
    var tokenFile: String?

    func validate() throws {
        if token == nil, tokenFile == nil { throw ValidationError("give the token: TOKEN, - (standard input) or --token-file FILE") }
        if token != nil, tokenFile != nil { throw ValidationError("give TOKEN or --token-file, not both") }
    }

    /// The token text from the one source given; a TOKEN that is evidently
    /// a file name is refused with the --token-file hint, as by token verify.
    func tokenText() throws -> String { try TokenCLI.token(argument: token, file: tokenFile) }

    /// What is printed (beside `ok`): the token's own header and claims,
    /// with their JOSE/JWT names, and the envelope's camelCase names around them.
    struct Output: Encodable {
        let verified: Bool
        let warning: String
        let header: JSONValue
        let claims: JSONValue?
        let signatureBytes: Int
    }

    func run() throws {
        let text = try tokenText()
        let inspection: TokenInspection
        do { inspection = try TokenInspection(token: text) } catch let rejection as TokenRejection {
            throw TokenInputError.undecodableToken(rejection)
        }
        CLI.warn("NOT VERIFIED: this shows what the token claims, not whether it is genuine")
        try CLI.printResult(Output(verified: inspection.verified, warning: inspection.warning, header: inspection.header,
                                   claims: inspection.claims, signatureBytes: inspection.signatureBytes))
    }
}
