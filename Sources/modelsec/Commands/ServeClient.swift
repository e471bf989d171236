import ArgumentParser
import Foundation
import ModelSec
import ModelSecCrypto
import TokenService

/// `modelsec serve client …`: the clients kept in the service's state store.
struct ServeClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Register token service clients.",
        discussion: """
        Examples:
          modelsec serve client add deployer --config service.yaml \\
            --scope 'model:deploy:resnet@*' --max-ttl 10m
        """,
        subcommands: [ServeClientAdd.self]
    )
}

/// `modelsec serve client add NAME`: register a secret client; the secret is
/// printed once and only its Argon2id hash is stored.
struct ServeClientAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Register a client with a new secret (printed once; only its hash is kept).",
        discussion: """
        The secret is 32 random bytes in base64url. It is written to \
        --secret-out (mode 0600) when given, else printed on stdout. Keys for \
        private_key_jwt clients are declared in the configuration file instead.

        Examples:
          modelsec serve client add deployer --config service.yaml \\
            --scope 'model:deploy:resnet@*' --secret-out deployer.secret
          modelsec serve client add ci --config service.yaml \\
            --scope 'model:pull:*@*' --auth client_secret_post --json
        """
    )

    @Argument(help: ArgumentHelp("The client id (letters, digits, '.', '_', '-').", valueName: "NAME"))
    var name: String

    @Option(help: ArgumentHelp("The service configuration (YAML).", valueName: "FILE"))
    var config: String

    @Option(help: ArgumentHelp("A scope pattern the client may request; repeat for more.", valueName: "SCOPE"))
    var scope: [String] = []

    @Option(help: ArgumentHelp("client_secret_basic (default) or client_secret_post.", valueName: "METHOD"))
    var auth: String = "client_secret_basic"

    @Option(name: .customLong("max-ttl"), help: ArgumentHelp("The longest token lifetime for this client.", valueName: "DURATION"))
    var maxTTL: String?

    @Option(name: .customLong("secret-out"), help: ArgumentHelp("Write the secret to FILE (0600) instead of stdout.", valueName: "FILE"))
    var secretOut: String?

    @Flag(help: "Overwrite --secret-out FILE if it exists.")
    var force = false

    @OptionGroup var json: JSONOption

    @OptionGroup var storeOptions: StoreOptions

    /// The --json result.
    struct Result: Encodable {
        let clientId: String
        let authMethod: String
        let scopes: [String]
        let maxTtlSeconds: Int64?
        /// Present only when the secret was not written to a file.
        let secret: String?
        let secretFile: String?
    }

    func validate() throws {
        guard RegisteredClient.isValidID(name) else { throw ValidationError("NAME: \(RegisteredClient.idRule).") }
        guard !scope.isEmpty else { throw ValidationError("Give at least one --scope, e.g. --scope 'model:deploy:resnet@*'.") }
        _ = try TokenCLI.scopes(scope, option: "--scope")
        guard auth == "client_secret_basic" || auth == "client_secret_post" else {
            throw ValidationError("--auth must be client_secret_basic or client_secret_post (key clients go in the configuration).")
        }
        if let maxTTL { _ = try TokenCLI.duration(maxTTL, option: "--max-ttl") }
    }

    func run() throws {
        if let secretOut { try OutputGuard.refuseExisting(secretOut, force: force) }
        let settings = try ServiceConfig.load(config)
        // A trust rule's name is the client_id of the tokens it issues: no client may take it.
        guard !settings.clients.contains(where: { Array($0.id.utf8) == Array(name.utf8) }),
              !settings.trustRules.contains(where: { Array($0.name.utf8) == Array(name.utf8) }) else {
            throw TokenServiceError.clientExists(name: name)
        }
        let ttl = try maxTTL.map { try TokenCLI.duration($0, option: "--max-ttl") }
        if let ttl, ttl > settings.maximumTTL {
            throw ValidationError("--max-ttl \(ttl) exceeds the service's max_ttl \(settings.maximumTTL).")
        }
        let secret = Base64URL.encode(SecureRandom.bytes(count: 32))
        let client = RegisteredClient(
            id: name, method: RegisteredClient.AuthMethod(rawValue: auth) ?? .clientSecretBasic,
            credential: .secret(try SecretHash(hashing: secret)),
            scopes: try TokenCLI.scopes(scope, option: "--scope"), maximumTTL: ttl)
        let store = try ServeStore.open(settings, options: storeOptions)
        // The secret is written to a temporary file first and renamed into
        // place only once the client is registered: a failed registration
        // leaves neither a secret for no client nor (with --force) a lost
        // earlier file.
        let writer = try secretOut.map { try AtomicFileWriter(destination: $0, mode: 0o600, overwrite: force) }
        if let writer { try writer.write(Array((secret + "\n").utf8)) }
        do {
            let now = Int64(Date().timeIntervalSince1970)
            try ServeStore.wait { try await store.addClient(client, now: now) }
        } catch {
            writer?.abort()
            throw error
        }
        do { try writer?.commit() } catch {
            // Registered, but the secret could not be saved (the file appeared meanwhile): say so.
            CLI.warn("client \(name) is registered, but its secret could not be written to \(secretOut ?? ""); remove the client and add it again")
            throw error
        }
        if json.isOn {
            try CLI.printResult(Result(clientId: name, authMethod: auth, scopes: client.scopes.map(\.description),
                                       maxTtlSeconds: ttl?.seconds, secret: secretOut == nil ? secret : nil, secretFile: secretOut))
        } else if let secretOut {
            CLI.info("registered client \(name); its secret is in \(secretOut) (shown nowhere else)")
        } else {
            print(secret)
            CLI.info("registered client \(name); the secret above is shown only this once")
        }
    }
}
