import ArgumentParser
import Foundation
import ModelSec
import ModelSecStore
import ModelSecStorePostgres
import TokenService

/// The state store of the `serve` commands: `--store URL`, else
/// `MODELSEC_STORE`, else the configuration's `store:`, else its SQLite
/// `state:` file (docs/token-service.md, "State store").
enum ServeStore {
    /// Opens the store (blocking until connected: command-line code only,
    /// before any server runs). `connections` bounds a PostgreSQL pool.
    static func open(_ settings: ServiceConfig, options: StoreOptions, connections: Int = 2) throws -> any TokenServiceStore {
        let url = try chosenURL(settings, options: options)
        if case .sqlite = url, options.storePasswordFile != nil {
            throw ValidationError("--store-password-file goes with a postgres:// store.")
        }
        // The configuration's password file goes with the configuration's store.
        let passwordFile = options.storePasswordFile ?? (options.urlText == nil ? settings.storePasswordFile : nil)
        return try TokenStores.open(url, passwordFile: passwordFile, connections: connections)
    }

    /// The store URL the options and configuration choose.
    static func chosenURL(_ settings: ServiceConfig, options: StoreOptions) throws -> StoreURL {
        if let url = try options.url() { return url }
        if let text = settings.store { return try StoreURL(parsing: text) }
        return .sqlite(path: settings.statePath)
    }

    /// The warning `serve` gives at start for a PostgreSQL store reached
    /// over the network without `sslmode=verify-full`: below it, whoever is
    /// on the path can read or change the tokens' replay cache, revocations,
    /// client secrets' hashes and the audit trail (`disable`, `prefer`,
    /// `require`), or present any certificate a trusted CA issued for another
    /// name (`verify-ca`). A loopback host (`localhost`, 127.0.0.0/8, `::1`) gets none.
    static func transportWarning(_ url: StoreURL) -> String? {
        guard case let .postgres(location) = url, location.sslMode != .verifyFull else { return nil }
        let host = location.host
        let loopback = host == "localhost" || host == "::1"
            || ServiceConfig.ListenAddress(parsing: host + ":0")?.isLoopback == true
        guard !loopback else { return nil }
        return "the state store postgres://…@\(host) is reached with sslmode=\(location.sslMode.rawValue): "
            + "the connection is not protected against someone on the network path; use sslmode=verify-full"
    }

    /// Waits for async store work from a synchronous command.
    static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        try AsyncBridge.run(body)
    }
}
