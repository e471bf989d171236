import ArgumentParser
import Foundation
import ModelSec
import TokenService

/// `modelsec token fetch`: get an access token from a token service.
struct TokenFetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Get an access token from a token service (OAuth 2.0 client_credentials or RFC 8693 token exchange).",
        discussion: """
        Authenticates with a client secret (HTTP Basic, or the body with \
        --client-secret-post) or a private key (private_key_jwt, RFC 7523: a \
        60-second assertion for the token_endpoint the server's metadata names). \
        With --subject-token-file it performs a token exchange instead: the \
        file's JWT (a Kubernetes service-account token, a CI OIDC token) is \
        exchanged for an access token, with no client authentication unless a \
        client secret or key is also given. \
        The token is written 0600 to --output; it is printed on stdout only when \
        stdout is not a terminal. Plain http is refused except to loopback. \
        An https server's certificate must chain to a CA the system trusts, or \
        with --ca-file, to one of the CA certificates in that file.

        Examples:
          modelsec token fetch --server https://tokens.example \\
            --client-id deployer --client-secret-file deployer.secret \\
            --scope model:deploy:resnet@2.1.0 --output token.txt
          modelsec token fetch --server https://127.0.0.1:8443 \\
            --ca-file service-ca.pem --client-id deployer \\
            --client-secret-file deployer.secret --output token.txt
          modelsec token fetch --server http://127.0.0.1:8787 \\
            --client-id example-ci --client-key ci.pem > token.txt
          modelsec token fetch --server https://tokens.example \\
            --subject-token-file /var/run/secrets/tokens/modelsec \\
            --scope model:deploy:resnet@2.1.0 --output /run/deploy/token
        """
    )

    @Option(help: ArgumentHelp("The token service's base URL.", valueName: "URL"))
    var server: String

    @Option(name: .customLong("ca-file"),
            help: ArgumentHelp("Trust only the CA certificates in FILE (PEM) for an https --server, not the system's.", valueName: "FILE"))
    var caFile: String?

    @Option(name: .customLong("client-id"), help: ArgumentHelp("The client id (optional with --subject-token-file alone).", valueName: "ID"))
    var clientID: String?

    @Option(name: .customLong("subject-token-file"),
            help: ArgumentHelp("Exchange the JWT in FILE (RFC 8693 token exchange).", valueName: "FILE"))
    var subjectTokenFile: String?

    @Option(name: .customLong("client-secret-file"), help: ArgumentHelp("A file holding the client secret.", valueName: "FILE"))
    var clientSecretFile: String?

    @Flag(name: .customLong("client-secret-post"), help: "Send the secret in the body (client_secret_post), not HTTP Basic.")
    var clientSecretPost = false

    @Option(name: .customLong("client-key"), help: ArgumentHelp("The client's private key (private_key_jwt).", valueName: "KEY.pem"))
    var clientKey: String?

    @Option(help: ArgumentHelp("A scope to request; repeat for more (default: all the client's).", valueName: "SCOPE"))
    var scope: [String] = []

    @Option(name: [.short, .long], help: ArgumentHelp("Write the token to FILE (mode 0600, atomically; '-': stdout, as without it).", valueName: "FILE"))
    var output: String?

    @Flag(help: "Overwrite --output FILE if it exists.")
    var force = false

    @Flag(help: "Print the result (not the token) as JSON; needs --output.")
    var json = false

    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var keyPermissions: KeyPermissionOptions

    /// The --json result: everything but the token itself.
    struct Result: Encodable {
        let output: String
        let tokenType: String
        let expiresIn: Int64?
        let scope: String?
    }

    func validate() throws {
        if subjectTokenFile == nil {
            guard (clientSecretFile == nil) != (clientKey == nil) else {
                throw ValidationError("Give exactly one of --client-secret-file and --client-key (or --subject-token-file).")
            }
        } else if clientSecretFile != nil, clientKey != nil {
            throw ValidationError("Give at most one of --client-secret-file and --client-key with --subject-token-file.")
        }
        if clientSecretFile != nil || clientKey != nil, clientID == nil {
            throw ValidationError("--client-secret-file and --client-key need --client-id.")
        }
        if clientSecretPost, clientSecretFile == nil { throw ValidationError("--client-secret-post goes with --client-secret-file.") }
        if json, output == nil || output == "-" { throw ValidationError("--json prints no token: give --output FILE for it.") }
        _ = try TokenCLI.scopes(scope, option: "--scope")
        guard URL(string: server)?.host != nil else { throw ValidationError("--server: '\(server)' is not a URL.") }
    }

    func run() throws {
        // `--output -` is standard output, as without --output.
        let output = self.output == "-" ? nil : self.output
        if let output {
            try OutputGuard.refuseExisting(output, force: force)
        } else if isatty(STDOUT_FILENO) != 0 {
            throw ValidationError("Refusing to print a token to a terminal: give --output FILE or redirect stdout.")
        }
        let credential: TokenClient.Credential
        var grant = TokenClient.Grant.clientCredentials
        if let subjectTokenFile {
            let bytes = try FileIO.readRegularFile(subjectTokenFile, limit: 16 * 1024)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw FileError(path: subjectTokenFile, reason: "the subject token is not UTF-8 text")
            }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw FileError(path: subjectTokenFile, reason: "the file is empty") }
            grant = .tokenExchange(subjectToken: token)
        }
        if clientSecretFile == nil, clientKey == nil {
            credential = .none
        } else if let clientSecretFile {
            credential = .secret(try TokenCLI.clientSecret(file: clientSecretFile, permissions: keyPermissions), post: clientSecretPost)
        } else {
            let key = try CLI.loadSigningKey(clientKey ?? "", option: "--client-key", passphrase: passphrase.source,
                                             permissions: keyPermissions)
            credential = .privateKey(key)
        }
        let transport = try TokenCLI.transport(caFile: caFile)
        let client = try TokenClient(server: URL(string: server)!, clientID: clientID ?? "", credential: credential,
                                     scopes: try TokenCLI.scopes(scope, option: "--scope").map(\.description), grant: grant,
                                     transport: transport)
        let response = try AsyncBridge.run { try await client.fetch() }
        if let output {
            try AtomicFileWriter.write(Array((response.accessToken + "\n").utf8), to: output, mode: 0o600, overwrite: force)
            if json {
                try CLI.printResult(Result(output: output, tokenType: response.tokenType, expiresIn: response.expiresIn,
                                           scope: response.scope))
            } else {
                CLI.info("wrote a \(response.tokenType) token\(response.expiresIn.map { " valid for \($0) s" } ?? "") to \(output)")
            }
        } else {
            print(response.accessToken)
        }
    }
}
