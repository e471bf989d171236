import ModelSecStore
import TokenService

/// Opens the token service's state store of a store URL on its engine.
public enum TokenStores {
    /// The store at `url`: `sqlite:PATH` is the service's SQLite state file
    /// (created if missing, as the configuration's `state:` file is), a
    /// PostgreSQL store must already be migrated (`modelsec store migrate`).
    /// The password comes from `passwordFile`, `PGPASSWORD` or the libpq
    /// password file (``ModelSecStore/StorePassword``).
    ///
    /// Blocks the calling thread until connected: for command-line code
    /// before a server starts, never from inside an async context (use
    /// ``open(_:passwordFile:connections:)-async`` there).
    public static func open(_ url: StoreURL, passwordFile: String? = nil, connections: Int = 4) throws -> any TokenServiceStore {
        switch url {
        case .sqlite(let path): return try SQLiteTokenStore(path: path)
        case .postgres(let location):
            let password = try StorePassword.resolve(for: location, passwordFile: passwordFile)
            let store = location.redacted
            do {
                return try Blocking.run(timeout: PostgresSession.operationTimeout) {
                    try await PostgresTokenStore.open(location, password: password, connections: connections)
                }
            } catch let timedOut as Blocking.TimedOut {
                throw StoreError.timedOut(store: store, seconds: timedOut.seconds)
            }
        }
    }

    /// ``open(_:passwordFile:connections:)`` for async callers (an SQLite
    /// file is opened synchronously: it is local and opening it is brief).
    public static func open(_ url: StoreURL, passwordFile: String? = nil, connections: Int = 4) async throws -> any TokenServiceStore {
        switch url {
        case .sqlite(let path): return try SQLiteTokenStore(path: path)
        case .postgres(let location):
            let password = try StorePassword.resolve(for: location, passwordFile: passwordFile)
            return try await PostgresTokenStore.open(location, password: password, connections: connections)
        }
    }
}
