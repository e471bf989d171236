import ArgumentParser
import Dispatch
import Foundation
import ModelSec
import TokenService

/// `modelsec serve …`: the OAuth 2.0 token service.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the OAuth 2.0 token service; manage its clients.",
        discussion: """
        The service issues the at+jwt access tokens of `token issue` at POST \
        /token (client_credentials with client_secret_basic, client_secret_post \
        or private_key_jwt), and publishes GET /jwks.json and GET \
        /.well-known/oauth-authorization-server. The configuration format is in \
        docs/token-service.md.

        Examples:
          modelsec serve --config examples/token-service/service.yaml
          modelsec serve client add deployer --config service.yaml \\
            --scope 'model:deploy:resnet@*'
          modelsec serve rotate-key --config service.yaml
          modelsec serve audit --config service.yaml --since 1h
        """,
        subcommands: [ServeRun.self, ServeClientCommand.self, ServeRotateKey.self, ServeAudit.self],
        defaultSubcommand: ServeRun.self
    )
}

/// `modelsec serve [run] --config FILE`: serve until SIGTERM or SIGINT.
struct ServeRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Serve tokens until SIGTERM or SIGINT (in-flight requests finish).",
        discussion: """
        Prints `modelsec: listening on http://HOST:PORT` on stderr once bound \
        (port 0 in the configuration lets the kernel choose), then one line \
        per request on stderr (JSON by default; see docs/token-service.md).

        Examples:
          modelsec serve --config examples/token-service/service.yaml
          modelsec serve run --config service.yaml --log-format text
          modelsec serve --config service.yaml \\
            --key-passphrase-file /run/secrets/issuer-passphrase
          modelsec serve --config service.yaml \\
            --store 'postgres://tokens@db/modelsec?sslmode=verify-full'
        """
    )

    @Option(help: ArgumentHelp("The service configuration (YAML).", valueName: "FILE"))
    var config: String

    @Option(name: .customLong("log-format"), help: ArgumentHelp("The request log on stderr: json (default) or text.", valueName: "FORMAT"))
    var logFormat: String = "json"

    func validate() throws {
        guard RequestLogFormat(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be json or text.") }
    }

    /// True for `modelsec serve …` except `serve client …` (which writes
    /// files and keeps the usual cleanup on a signal).
    static func isServerInvocation(_ arguments: [String]) -> Bool {
        arguments.first == "serve" && !["client", "rotate-key", "audit"].contains(arguments.dropFirst().first ?? "")
    }

    @OptionGroup var keyPermissions: KeyPermissionOptions

    /// The passphrase of an encrypted `signing_key`.
    @OptionGroup var passphrase: PassphraseOptions

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let settings = try ServiceConfig.load(config)
        if let warning = ServeStore.transportWarning(try ServeStore.chosenURL(settings, options: storeOptions)) {
            CLI.warn(warning)
        }
        // A PostgreSQL store gets a pool of 8 connections (each request
        // holds one only for its statements).
        let store = try ServeStore.open(settings, options: storeOptions, connections: 8)
        // After the first `serve rotate-key` the store says which key signs;
        // the configured signing_key is read only before that.
        let signer: (any Signer)? = try ServeStore.wait { try await store.signingKeys() }.isEmpty
            ? try CLI.loadSigner(settings.signingKey, option: "signing_key", passphrase: passphrase.source, permissions: keyPermissions)
            : nil
        let loader = try ServeRotateKey.loader(permissions: keyPermissions, passphrase: passphrase.source, settings: settings)
        let keys = try ServeStore.wait {
            try await KeyRing(store: store, initial: signer, issuer: settings.issuer, maximumTTL: settings.maximumTTL, loader: loader)
        }
        let server = try ServeStore.wait { try await TokenServer(config: settings, keys: keys, store: store) }
        let scheme = settings.tlsCertificate == nil ? "http" : "https"
        let format = RequestLogFormat(rawValue: logFormat) ?? .json
        do {
            try AsyncBridge.run {
                try await server.run(requestLog: format) { host, port in
                    let shown = host.contains(":") ? "[\(host)]" : host
                    CLI.info("listening on \(scheme)://\(shown):\(port)")
                }
            }
        } catch let error as any ModelSecError {
            throw error
        } catch {
            throw TokenServiceError.serverStart(reason: "\(error)")
        }
    }
}

/// Runs async library work from the synchronous command line (the CLI's
/// commands are synchronous; the server and the HTTP client are async).
enum AsyncBridge {
    /// Runs `body` on the concurrency runtime and blocks until it finishes.
    static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { outcome.set(.success(try await body())) } catch { outcome.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        return try outcome.get()
    }

    /// The result handed from the task to the waiting thread.
    final class Outcome<T: Sendable>: @unchecked Sendable { // written once by the task before the semaphore is signalled, read after the wait; the lock orders both
        private let lock = NSLock()
        private var stored: Result<T, any Error>?

        func set(_ result: Result<T, any Error>) {
            lock.lock()
            stored = result
            lock.unlock()
        }

        func get() throws -> T {
            lock.lock()
            defer { lock.unlock() }
            guard let stored else { preconditionFailure("read before the task finished") }
            return try stored.get()
        }
    }
}
