import DifferentialPrivacy
import Foundation
import GRDB
import ModelSecStore
import PostgresNIO
import TransparencyLog

/// Opens the transparency log records of a store URL on its engine, and the
/// `store status` / `store copy` parts that concern them.
public enum ReleaseLogStores {
    /// The log records at `url`; the store must be migrated to the current
    /// schema (`modelsec store migrate`).
    public static func open(_ url: StoreURL, passwordFile: String? = nil) throws -> any ReleaseLogStore {
        switch url {
        case .sqlite(let path): return try SQLiteReleaseLog(path: path)
        case .postgres(let location):
            return try PostgresReleaseLog(location, password: try StorePassword.resolve(for: location, passwordFile: passwordFile))
        }
    }

    /// One log as `store status` shows it.
    public struct LogStatus: Codable, Sendable, Equatable {
        /// The log's origin.
        public var origin: String
        /// Entries in the log.
        public var size: UInt64
        /// The root hash of the latest checkpoint, base64.
        public var rootHash: String
    }

    /// Every log in the store, each checked (its checkpoint verifies with
    /// its key and matches its frontier).
    public static func statuses(_ store: any ReleaseLogStore) throws -> [LogStatus] {
        try store.logs().map { log in
            let signed = try log.signedCheckpoint(store: store.storeName)
            return LogStatus(origin: log.origin, size: signed.checkpoint.size, rootHash: signed.checkpoint.root.base64)
        }
    }

    /// Throws ``ModelSecStore/StoreError/copyTargetNotEmpty(store:)`` when
    /// `destination` already holds a log.
    public static func requireNoLogs(_ destination: any ReleaseLogStore) throws {
        guard try destination.logs().isEmpty else { throw StoreError.copyTargetNotEmpty(store: destination.storeName) }
    }

    /// Copies every log (row and entries, in index order) from `source` to
    /// `destination`; each is checked as it is imported (the entries rebuild
    /// the frontier, the checkpoint verifies). Returns (logs, entries).
    public static func copy(from source: any ReleaseLogStore, to destination: any ReleaseLogStore) throws -> (logs: Int, entries: Int) {
        var entries = 0
        let logs = try source.logs()
        for log in logs {
            let all = try ReleaseLogRules.allEntries(source, log: log)
            try destination.importLog(log, entries: all)
            entries += all.count
        }
        return (logs.count, entries)
    }
}

/// ``TransparencyLog/ReleaseLogStore`` in the SQLite store file (the
/// ledger file's `tlog_*` tables, schema version 7). An append is one
/// `BEGIN IMMEDIATE` transaction (SQLite's write lock, waited for up to
/// 30 s), so appends from several processes are serialised.
public final class SQLiteReleaseLog: ReleaseLogStore {
    /// The database path.
    public let path: String
    private let queue: DatabaseQueue

    /// The store's name in messages: `sqlite:PATH`.
    public var storeName: String { "sqlite:\(path)" }

    /// Opens the store file at `path`, which must be a migrated store at
    /// the current version (verified as the ledger verifies it).
    public init(path: String) throws {
        self.path = path
        _ = try SQLitePrivacyLedger(path: path, create: false)
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.foreignKeysEnabled = true
        do { queue = try DatabaseQueue(path: path, configuration: config) } catch let error as DatabaseError {
            throw StoreError.database(store: "sqlite:\(path)", sqlState: "SQLITE \(error.resultCode.rawValue)", message: error.message ?? "cannot open")
        }
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DatabaseError {
            if error.resultCode == .SQLITE_FULL { throw StoreError.diskFull(store: storeName) }
            throw StoreError.database(store: storeName, sqlState: "SQLITE \(error.resultCode.rawValue)", message: error.message ?? "SQLite error")
        }
    }

    static func log(_ row: Row, store: String) throws -> StoredLog {
        let origin: String = row["origin"]
        let size: Int64 = row["size"]
        let frontier: Data = row["frontier"]
        let checkpoint: Data = row["checkpoint"]
        return StoredLog(origin: origin, vkey: row["vkey"],
                         frontier: try LogFrontier(size: UInt64(max(0, size)), bytes: Array(frontier), what: "\(store) log \(origin)"),
                         checkpoint: Array(checkpoint))
    }

    static let logColumns = "origin, vkey, size, frontier, checkpoint"

    public func log(origin: String) throws -> StoredLog? {
        let store = storeName
        return try wrap {
            try queue.read { db in
                try Row.fetchOne(db, sql: "SELECT \(Self.logColumns) FROM tlog_logs WHERE origin = ?", arguments: [origin]).map { try Self.log($0, store: store) }
            }
        }
    }

    public func logs() throws -> [StoredLog] {
        let store = storeName
        return try wrap {
            try queue.read { db in
                try Row.fetchAll(db, sql: "SELECT \(Self.logColumns) FROM tlog_logs ORDER BY origin").map { try Self.log($0, store: store) }
            }
        }
    }

    public func entries(origin: String, from: UInt64, count: Int) throws -> [[UInt8]] {
        try wrap {
            try queue.read { db in
                try Data.fetchAll(db, sql: "SELECT entry FROM tlog_entries WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx",
                                  arguments: [origin, Int64(from), Int64(from) + Int64(count)]).map { Array($0) }
            }
        }
    }

    private func immediate<T>(_ body: (Database) throws -> T) throws -> T {
        try wrap { try queue.immediateTransaction(body) }
    }

    private static func insertLog(_ db: Database, _ log: StoredLog) throws {
        let now = LedgerRules.now()
        try db.execute(sql: "INSERT INTO tlog_logs (origin, vkey, size, frontier, checkpoint, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       arguments: [log.origin, log.vkey, Int64(log.frontier.size), Data(log.frontier.bytes), Data(log.checkpoint), now, now])
    }

    private static func insertEntry(_ db: Database, origin: String, index: UInt64, leaf: TreeHash, entry: [UInt8]) throws {
        try db.execute(sql: "INSERT INTO tlog_entries (origin, idx, leaf_hash, entry, created_at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [origin, Int64(index), Data(leaf.bytes), Data(entry), LedgerRules.now()])
    }

    public func append(origin: String, entries: [[UInt8]], signer: NoteSigner, create: Bool) throws -> StoredAppend {
        let store = storeName
        let leaves = try ReleaseLogRules.leafHashes(entries)
        return try immediate { db in
            var log = try Row.fetchOne(db, sql: "SELECT \(Self.logColumns) FROM tlog_logs WHERE origin = ?", arguments: [origin]).map { try Self.log($0, store: store) }
            if log == nil {
                guard create else { throw TransparencyLogError.logUnusable(path: store, reason: "holds no transparency log with origin \(origin)") }
                let empty = try ReleaseLogRules.emptyLog(signer: signer)
                try Self.insertLog(db, empty)
                log = empty
            }
            var existing: [TreeHash: UInt64] = [:]
            for leaf in Set(leaves) {
                if let index = try Int64.fetchOne(db, sql: "SELECT idx FROM tlog_entries WHERE origin = ? AND leaf_hash = ?",
                                                  arguments: [origin, Data(leaf.bytes)]) {
                    existing[leaf] = UInt64(index)
                }
            }
            let plan = try ReleaseLogRules.plan(log: log!, entries: entries, leafHashes: leaves, existing: existing, signer: signer, store: store)
            for insert in plan.inserts { try Self.insertEntry(db, origin: origin, index: insert.index, leaf: insert.leafHash, entry: insert.entry) }
            if !plan.inserts.isEmpty {
                try db.execute(sql: "UPDATE tlog_logs SET size = ?, frontier = ?, checkpoint = ?, updated_at = ? WHERE origin = ?",
                               arguments: [Int64(plan.log.frontier.size), Data(plan.log.frontier.bytes), Data(plan.log.checkpoint), LedgerRules.now(), origin])
            }
            return StoredAppend(indices: plan.indices, added: plan.inserts.count, checkpoint: plan.checkpoint)
        }
    }

    public func importLog(_ log: StoredLog, entries: [[UInt8]]) throws {
        let store = storeName
        try ReleaseLogRules.checkImport(log, entries: entries, store: store)
        try immediate { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM tlog_logs WHERE origin = ?", arguments: [log.origin]) == nil else {
                throw TransparencyLogError.logUnusable(path: store, reason: "already holds a transparency log with origin \(log.origin)")
            }
            try Self.insertLog(db, log)
            for (index, entry) in entries.enumerated() {
                try Self.insertEntry(db, origin: log.origin, index: UInt64(index), leaf: Merkle.leafHash(entry), entry: entry)
            }
        }
    }
}

/// ``TransparencyLog/ReleaseLogStore`` in a shared PostgreSQL store (schema
/// version 7). An append is one SERIALIZABLE transaction holding an
/// advisory lock on the origin (so appenders queue) and the log row's lock
/// (`FOR UPDATE`), retried on SQLSTATE 40001/40P01; all values are bound
/// parameters.
public final class PostgresReleaseLog: ReleaseLogStore, Sendable {
    let session: PostgresSession

    /// The redacted store URL.
    public var storeName: String { session.store }

    /// Connects and checks the schema version; throws ``ModelSecStore/StoreError``.
    public init(_ location: PostgresLocation, password: String?) throws {
        session = try PostgresSession.connectCurrent(location, password: password)
    }

    deinit { session.close() }

    /// The advisory lock key of a log.
    static func lockKey(_ origin: String) -> String { "modelsec-tlog:" + origin }

    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    static func fetchLog(_ c: PostgresConnection, origin: String, store: String, forUpdate: Bool) async throws -> StoredLog? {
        let rows = forUpdate
            ? try await c.query("SELECT origin, vkey, size, frontier, checkpoint FROM tlog_logs WHERE origin = \(origin) FOR UPDATE", logger: PostgresSession.logger)
            : try await c.query("SELECT origin, vkey, size, frontier, checkpoint FROM tlog_logs WHERE origin = \(origin)", logger: PostgresSession.logger)
        var found: StoredLog?
        for try await (o, vkey, size, frontier, checkpoint) in rows.decode((String, String, Int64, ByteBuffer, ByteBuffer).self) {
            found = StoredLog(origin: o, vkey: vkey, frontier: try LogFrontier(size: UInt64(max(0, size)), bytes: bytes(frontier), what: "\(store) log \(o)"),
                              checkpoint: bytes(checkpoint))
        }
        return found
    }

    public func log(origin: String) throws -> StoredLog? {
        let store = storeName
        return try session.run { try await Self.fetchLog($0, origin: origin, store: store, forUpdate: false) }
    }

    public func logs() throws -> [StoredLog] {
        let store = storeName
        return try session.run { c in
            let rows = try await c.query("SELECT origin, vkey, size, frontier, checkpoint FROM tlog_logs ORDER BY origin", logger: PostgresSession.logger)
            var result: [StoredLog] = []
            for try await (o, vkey, size, frontier, checkpoint) in rows.decode((String, String, Int64, ByteBuffer, ByteBuffer).self) {
                result.append(StoredLog(origin: o, vkey: vkey, frontier: try LogFrontier(size: UInt64(max(0, size)), bytes: Self.bytes(frontier), what: "\(store) log \(o)"),
                                        checkpoint: Self.bytes(checkpoint)))
            }
            return result
        }
    }

    public func entries(origin: String, from: UInt64, count: Int) throws -> [[UInt8]] {
        let lo = Int64(from), hi = Int64(from) + Int64(count)
        return try session.run { c in
            let rows = try await c.query("SELECT entry FROM tlog_entries WHERE origin = \(origin) AND idx >= \(lo) AND idx < \(hi) ORDER BY idx",
                                         logger: PostgresSession.logger)
            var result: [[UInt8]] = []
            for try await entry in rows.decode(ByteBuffer.self) { result.append(Self.bytes(entry)) }
            return result
        }
    }

    static func insertLog(_ c: PostgresConnection, _ log: StoredLog) async throws {
        let now = LedgerRules.now()
        let size = Int64(log.frontier.size)
        try await c.query("""
            INSERT INTO tlog_logs (origin, vkey, size, frontier, checkpoint, created_at, updated_at)
            VALUES (\(log.origin), \(log.vkey), \(size), \(ByteBuffer(bytes: log.frontier.bytes)), \(ByteBuffer(bytes: log.checkpoint)), \(now), \(now))
            """, logger: PostgresSession.logger)
    }

    static func insertEntry(_ c: PostgresConnection, origin: String, index: UInt64, leaf: TreeHash, entry: [UInt8]) async throws {
        let idx = Int64(index), now = LedgerRules.now()
        try await c.query("""
            INSERT INTO tlog_entries (origin, idx, leaf_hash, entry, created_at)
            VALUES (\(origin), \(idx), \(ByteBuffer(bytes: leaf.bytes)), \(ByteBuffer(bytes: entry)), \(now))
            """, logger: PostgresSession.logger)
    }

    public func append(origin: String, entries: [[UInt8]], signer: NoteSigner, create: Bool) throws -> StoredAppend {
        let store = storeName
        let leaves = try ReleaseLogRules.leafHashes(entries)
        return try session.serializable(lockKeys: [Self.lockKey(origin)]) { c in
            var log = try await Self.fetchLog(c, origin: origin, store: store, forUpdate: true)
            if log == nil {
                guard create else { throw TransparencyLogError.logUnusable(path: store, reason: "holds no transparency log with origin \(origin)") }
                let empty = try ReleaseLogRules.emptyLog(signer: signer)
                try await Self.insertLog(c, empty)
                log = empty
            }
            var existing: [TreeHash: UInt64] = [:]
            for leaf in Set(leaves) {
                let rows = try await c.query("SELECT idx FROM tlog_entries WHERE origin = \(origin) AND leaf_hash = \(ByteBuffer(bytes: leaf.bytes))",
                                             logger: PostgresSession.logger)
                for try await index in rows.decode(Int64.self) { existing[leaf] = UInt64(index) }
            }
            let plan = try ReleaseLogRules.plan(log: log!, entries: entries, leafHashes: leaves, existing: existing, signer: signer, store: store)
            for insert in plan.inserts { try await Self.insertEntry(c, origin: origin, index: insert.index, leaf: insert.leafHash, entry: insert.entry) }
            if !plan.inserts.isEmpty {
                let size = Int64(plan.log.frontier.size), now = LedgerRules.now()
                try await c.query("""
                    UPDATE tlog_logs SET size = \(size), frontier = \(ByteBuffer(bytes: plan.log.frontier.bytes)),
                        checkpoint = \(ByteBuffer(bytes: plan.log.checkpoint)), updated_at = \(now)
                    WHERE origin = \(origin)
                    """, logger: PostgresSession.logger)
            }
            return StoredAppend(indices: plan.indices, added: plan.inserts.count, checkpoint: plan.checkpoint)
        }
    }

    public func importLog(_ log: StoredLog, entries: [[UInt8]]) throws {
        let store = storeName
        try ReleaseLogRules.checkImport(log, entries: entries, store: store)
        try session.serializable(lockKeys: [Self.lockKey(log.origin)]) { c in
            guard try await Self.fetchLog(c, origin: log.origin, store: store, forUpdate: true) == nil else {
                throw TransparencyLogError.logUnusable(path: store, reason: "already holds a transparency log with origin \(log.origin)")
            }
            try await Self.insertLog(c, log)
            for (index, entry) in entries.enumerated() {
                try await Self.insertEntry(c, origin: log.origin, index: UInt64(index), leaf: Merkle.leafHash(entry), entry: entry)
            }
        }
    }
}
