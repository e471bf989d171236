import Foundation
import Logging
import ModelSecIO
import ModelSecStore
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// One connection to a PostgreSQL store, with the error mapping every
/// PostgreSQL engine uses: each failure becomes a ``ModelSecStore/StoreError``
/// naming the store by its redacted URL (a server message may be quoted,
/// a bound value never is).
final class PostgresSession: Sendable {
    /// The connection.
    let connection: PostgresConnection
    /// The redacted store URL, for messages.
    let store: String
    /// Set when an operation timed out: its abandoned work may still be
    /// running on the connection, so nothing else may use it.
    private let abandoned = Mutex(false)
    /// One operation at a time on the connection (``runAsync(_:)``).
    private let turn = OneAtATime()
    /// Discards the driver's log (the library is silent; errors carry what matters).
    static let logger = Logger(label: "modelsec.store", factory: { _ in SwiftLogNoOpLogHandler() })

    /// How many times a transaction is tried on serialization failure or deadlock.
    static let maximumAttempts = 40

    private init(connection: PostgresConnection, store: String) {
        self.connection = connection
        self.store = store
    }

    /// Connects to `location` and checks that its schema is the version this
    /// binary uses (closing the session if not): how every store opens.
    static func connectCurrent(_ location: PostgresLocation, password: String?) throws -> PostgresSession {
        let session = try connect(location, password: password)
        do { try PostgresSchema.requireCurrent(session) } catch {
            session.close()
            throw error
        }
        return session
    }

    /// Connects to `location` with `password` (nil: none sent).
    static func connect(_ location: PostgresLocation, password: String?) throws -> PostgresSession {
        let store = location.redacted
        let tls: PostgresConnection.Configuration.TLS
        do {
            tls = try tlsMode(location)
        } catch let error as StoreError { throw error } catch {
            throw StoreError.tls(store: store, reason: "cannot set up TLS: \(type(of: error))")
        }
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                             password: password, database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(Int64(location.connectTimeout))
        configuration.options.requireBackendKeyData = false
        // The ledger's charge statements are prepared once per connection
        // and are index lookups whatever their parameters: a generic plan
        // spares planning them again at every charge (in the bench, the
        // planner was most of the server's time per charge).
        // READ COMMITTED whatever the server's default: a statement that runs
        // as its own transaction reports its rows before PostgreSQL commits
        // it, so nothing may fail at commit (a serialization failure would,
        // under SERIALIZABLE) once a charge's rows have been read; and the
        // one-step charge relies on a locking read re-checking the row's
        // newest version, which only READ COMMITTED does.
        configuration.options.additionalStartupParameters = [("plan_cache_mode", "force_generic_plan"),
                                                             ("default_transaction_isolation", "read committed")]
        let immutable = configuration
        do {
            let connection = try Blocking.run {
                try await PostgresConnection.connect(configuration: immutable, id: 1, logger: logger)
            }
            return PostgresSession(connection: connection, store: store)
        } catch {
            throw map(error, store: store)
        }
    }

    /// What the URL's `sslmode` asks of TLS (libpq's meanings): nil for
    /// `disable`; else whether TLS is required (false: `prefer`, use it when
    /// the server offers it) and the client configuration, with the
    /// certificate checks of the mode and `sslrootcert` as the trust roots.
    /// The one mapping, for single connections and the token service's pool.
    static func tlsSettings(_ location: PostgresLocation) -> (required: Bool, configuration: TLSConfiguration)? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let root = location.sslRootCert { configuration.trustRoots = .file(root) }
        switch location.sslMode {
        case .disable:
            return nil
        case .prefer:
            configuration.certificateVerification = .none
            return (false, configuration)
        case .require:
            configuration.certificateVerification = location.sslRootCert == nil ? .none : .noHostnameVerification
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
        }
        return (true, configuration)
    }

    /// The TLS setting of one connection for the URL's `sslmode` (``tlsSettings(_:)``).
    static func tlsMode(_ location: PostgresLocation) throws -> PostgresConnection.Configuration.TLS {
        guard let settings = tlsSettings(location) else { return .disable }
        let context = try NIOSSLContext(configuration: settings.configuration)
        return settings.required ? .require(context) : .prefer(context)
    }

    /// Closes the connection (errors ignored: nothing is pending).
    func close() {
        let connection = self.connection
        _ = try? Blocking.run(timeout: 10) { try await connection.close() }
    }

    /// The most seconds one operation (a transaction with its retries) may
    /// take: `MODELSEC_STORE_TIMEOUT`, default 120.
    static let operationTimeout: Int = {
        if let text = ProcessInfo.processInfo.environment["MODELSEC_STORE_TIMEOUT"], let seconds = Int(text), seconds > 0 {
            return min(seconds, 86_400)
        }
        return 120
    }()

    /// Runs `body` on the connection within ``operationTimeout``, mapping
    /// errors; blocks the calling thread (the synchronous ledger interface).
    func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) throws -> T {
        try wait { try await self.runAsync(body) }
    }

    /// Blocks the calling thread until `work` (which uses ``runAsync(_:)``)
    /// is done. The time limit is ``runAsync(_:)``'s, counted from the
    /// operation's turn, and it answers when the limit runs out whatever the
    /// abandoned work does; a limit here as well would count the wait for
    /// the turn, and could abandon the session under another thread's
    /// operation that is still within its own limit.
    func wait<T>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        try Blocking.run(work)
    }

    /// Runs `body` on the connection within ``operationTimeout``, mapping
    /// errors, one operation at a time (a second caller waits for its turn;
    /// the time limit counts from the turn). When the time runs out the
    /// caller gets ``ModelSecStore/StoreError/timedOut(store:seconds:)`` at
    /// once and the session is abandoned: its connection is closed (the
    /// server then ends the abandoned work's transaction and advisory locks)
    /// and the session is not used again; the work itself is left to fail
    /// on its own (closing does not interrupt a statement waiting on the
    /// server). The limit is a timer on the connection's event loop,
    /// cancelled when the work ends (a task group with a sleeping child per
    /// operation cost the bench a third more client CPU per charge).
    func runAsync<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let connection = self.connection, store = self.store, limit = Self.operationTimeout
        // Concurrent callers of one session (tasks sharing a ledger, threads
        // sharing it through the blocking API) take turns: each operation's
        // statements, and its transaction, are its own.
        await turn.acquire()
        guard !abandoned.withLock({ $0 }) else {
            turn.release()
            throw StoreError.connectionLost(store: store)
        }
        do {
            return try await withCheckedThrowingContinuation { (caller: CheckedContinuation<T, any Error>) in
                // Whichever ends first, the work or the timer, answers the
                // caller and ends the turn; the other finds both done.
                let outcome = OperationOutcome(caller: caller, turn: turn)
                let timer = connection.eventLoop.scheduleTask(in: .seconds(Int64(limit))) {
                    self.abandon()
                    outcome.endTurn()
                    outcome.answer(.failure(Blocking.TimedOut(seconds: limit)))
                }
                Task {
                    let result: Result<T, any Error>
                    do { result = .success(try await body(connection)) } catch { result = .failure(error) }
                    timer.cancel()
                    outcome.endTurn()
                    outcome.answer(result)
                }
            }
        } catch is Blocking.TimedOut {
            throw StoreError.timedOut(store: store, seconds: limit)
        } catch {
            // The work failed because the timer closed its connection.
            if abandoned.withLock({ $0 }) { throw StoreError.timedOut(store: store, seconds: limit) }
            throw Self.map(error, store: store)
        }
    }

    /// One operation's single answer and single end of turn.
    private final class OperationOutcome<T: Sendable>: Sendable {
        private let state = Mutex((answered: false, released: false))
        private let caller: CheckedContinuation<T, any Error>
        private let turn: OneAtATime

        init(caller: CheckedContinuation<T, any Error>, turn: OneAtATime) {
            self.caller = caller
            self.turn = turn
        }

        /// Ends the operation's turn (once).
        func endTurn() {
            if state.withLock({ s in defer { s.released = true }; return !s.released }) { turn.release() }
        }

        /// Answers the caller (the first answer only).
        func answer(_ result: Result<T, any Error>) {
            if state.withLock({ s in defer { s.answered = true }; return !s.answered }) { caller.resume(with: result) }
        }
    }

    /// Marks the session unusable and closes its connection.
    private func abandon() {
        abandoned.withLock { $0 = true }
        let connection = self.connection
        Task { try? await connection.close() }
    }

    /// Runs `body` in one SERIALIZABLE transaction while holding session
    /// advisory locks on `lockKeys` (taken in sorted order before BEGIN, so
    /// writers of one dataset queue instead of failing serialization), and
    /// tries again on SQLSTATE 40001 / 40P01 with jittered backoff. Any other
    /// error rolls back and is thrown.
    func serializable<T: Sendable>(lockKeys: [String], _ body: @escaping @Sendable (PostgresConnection) async throws -> T) throws -> T {
        let keys = Array(Set(lockKeys)).sorted()
        return try run { connection in
            var attempt = 0
            while true {
                attempt += 1
                for key in keys {
                    try await connection.query("SELECT pg_advisory_lock(hashtextextended(\(key), 0))", logger: Self.logger)
                }
                do {
                    try await connection.query("BEGIN ISOLATION LEVEL SERIALIZABLE", logger: Self.logger)
                    let value = try await body(connection)
                    try await connection.query("COMMIT", logger: Self.logger)
                    try await Self.unlock(connection, keys)
                    return value
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: Self.logger)
                    _ = try? await Self.unlock(connection, keys)
                    guard Self.isRetryable(error), attempt < Self.maximumAttempts else {
                        if Self.isRetryable(error) { throw RetryExhausted(attempts: attempt) }
                        throw error
                    }
                    try await Self.backoff(attempt: attempt)
                }
            }
        }
    }

    /// Waits before try `attempt` + 1: jittered, growing to 200 ms.
    static func backoff(attempt: Int) async throws {
        let base = min(200, 2 << min(attempt, 7))
        try await Task.sleep(nanoseconds: UInt64(Int.random(in: base / 2...base)) * 1_000_000)
    }

    private static func unlock(_ connection: PostgresConnection, _ keys: [String]) async throws {
        for key in keys.reversed() {
            try await connection.query("SELECT pg_advisory_unlock(hashtextextended(\(key), 0))", logger: logger)
        }
    }

    /// Serialization failures and deadlocks persisted.
    struct RetryExhausted: Error { var attempts: Int }

    /// The SQLSTATE of a server error.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Whether the transaction may simply be tried again.
    static func isRetryable(_ error: any Error) -> Bool {
        let state = sqlState(error)
        return state == "40001" || state == "40P01"
    }

    /// A driver error as a store error.
    static func map(_ error: any Error, store: String) -> any Error {
        if error is any ModelSecError { return error }
        if let exhausted = error as? RetryExhausted { return StoreError.contention(store: store, attempts: exhausted.attempts) }
        guard let error = error as? PSQLError else {
            if error is CancellationError { return StoreError.connectionLost(store: store) }
            return StoreError.unreachable(store: store, reason: describe(error))
        }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? "?????"
            let message = error.serverInfo?[.message] ?? "no message"
            switch state {
            case "28P01", "28000": return StoreError.authenticationFailed(store: store)
            case "42P01": return StoreError.noSchema(store: store)
            case "53100": return StoreError.diskFull(store: store)
            case "57P01", "57P02", "57P03": return StoreError.connectionLost(store: store)
            case "3D000": return StoreError.unreachable(store: store, reason: "the database does not exist")
            default: return StoreError.database(store: store, sqlState: state, message: message)
            }
        case .connectionError:
            return StoreError.unreachable(store: store, reason: error.underlying.map(describe) ?? "connection failed")
        case .sslUnsupported:
            return StoreError.tls(store: store, reason: "the server does not offer TLS, and the sslmode requires it")
        case .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return StoreError.tls(store: store, reason: "the TLS handshake failed")
        case .authMechanismRequiresPassword:
            return StoreError.authenticationFailed(store: store)
        case .unsupportedAuthMechanism, .saslError:
            return StoreError.authenticationFailed(store: store)
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return StoreError.connectionLost(store: store)
        default:
            return StoreError.database(store: store, sqlState: "client", message: "\(error.code)")
        }
    }

    /// A connection-level error for a person (never a password: the driver's
    /// errors hold socket errors and addresses only).
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let nio = error as? NIOConnectionError {
            if nio.dnsAAAAError != nil || nio.dnsAError != nil, nio.connectionErrors.isEmpty { return "the host name does not resolve" }
            if let first = nio.connectionErrors.first { return describe(first.error) }
            return "connection failed"
        }
        if error is ChannelError { return "connection failed (\(error))" }
        let text = "\(error)"
        if text.contains("connectTimeout") || text.contains("connect timeout") { return "timed out" }
        return text.count > 200 ? String(text.prefix(200)) : text
    }
}
