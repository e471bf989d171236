import DifferentialPrivacy
import Foundation
import ModelSecIO
import ModelSecStore

/// Opens the privacy ledger of a store URL on its engine, and the store
/// operations behind `modelsec store` (status, migrate, copy).
public enum LedgerStores {
    /// Opens the ledger at `url`. An SQLite store must already be migrated
    /// (as a PostgreSQL store must), so a mistyped path is never a new,
    /// empty ledger; `--ledger PATH` keeps creating files through
    /// ``DifferentialPrivacy/SQLitePrivacyLedger/init(path:create:)``.
    public static func open(_ url: StoreURL, passwordFile: String? = nil) throws -> any PrivacyLedger & LedgerImporting {
        switch url {
        case .sqlite(let path): return try SQLitePrivacyLedger(path: path, create: false)
        case .postgres(let location):
            return try PostgresPrivacyLedger(location, password: try StorePassword.resolve(for: location, passwordFile: passwordFile))
        }
    }

    /// What `store status` reports.
    public struct Status: Codable, Sendable, Equatable {
        /// The redacted store URL.
        public var store: String
        /// "sqlite" or "postgres".
        public var engine: String
        /// The schema version found (0: no schema).
        public var schemaVersion: Int
        /// The version this modelsec reads and writes.
        public var supportedVersion: Int
        /// "current", "empty", "older" (migrate it) or "newer" (refused).
        public var state: String
        /// On a current store: its transparency logs, by origin.
        public var logs: [ReleaseLogStores.LogStatus]?
    }

    /// The schema version the store holds, without changing it; for a
    /// current store, also recomputes every dataset's running sums from its
    /// charges and throws ``ModelSecStore/StoreError/schemaAltered(store:reason:)``
    /// when they differ, and lists its transparency logs (each checkpoint
    /// verified with the log's key against the stored frontier).
    public static func status(_ url: StoreURL, passwordFile: String? = nil) throws -> Status {
        let found: Int, supported: Int
        switch url {
        case .sqlite(let path):
            // A mistyped path is not an empty store: status creates nothing, so it says the file is missing.
            guard FileManager.default.fileExists(atPath: path) else {
                throw FileError(path: path, reason: "no such store file (store status creates none; store migrate makes one)")
            }
            found = try SQLitePrivacyLedger.schemaVersion(path: path)
            supported = SQLitePrivacyLedger.currentSchemaVersion
        case .postgres(let location):
            let session = try PostgresSession.connect(location, password: try StorePassword.resolve(for: location, passwordFile: passwordFile))
            defer { session.close() }
            found = try session.run { try await PostgresSchema.foundVersion($0) }
            supported = PostgresSchema.version
        }
        let state = found == 0 ? "empty" : found == supported ? "current" : found < supported ? "older" : "newer"
        if state == "current" {
            // The running sums every charge is decided on must be the sums of the charges.
            let mismatch: String?
            switch url {
            case .sqlite(let path): mismatch = try SQLitePrivacyLedger(path: path, create: false).runningSumsMismatch()
            case .postgres(let location):
                mismatch = try PostgresPrivacyLedger(location, password: try StorePassword.resolve(for: location, passwordFile: passwordFile))
                    .runningSumsMismatch()
            }
            if let mismatch {
                throw StoreError.schemaAltered(store: url.redacted,
                                               reason: "the running sums of dataset \"\(mismatch)\" differ from the sums of its charges")
            }
        }
        var result = Status(store: url.redacted, engine: url.engine, schemaVersion: found, supportedVersion: supported, state: state)
        if state == "current" {
            result.logs = try ReleaseLogStores.statuses(try ReleaseLogStores.open(url, passwordFile: passwordFile))
        }
        return result
    }

    /// Creates or upgrades the store's schema; returns the version found
    /// before and the version now. A newer store is refused unchanged.
    public static func migrate(_ url: StoreURL, passwordFile: String? = nil) throws -> (from: Int, to: Int) {
        switch url {
        case .sqlite(let path):
            let before = try SQLitePrivacyLedger.schemaVersion(path: path)
            if before > SQLitePrivacyLedger.currentSchemaVersion {
                throw StoreError.newerSchema(store: url.redacted, found: before, supported: SQLitePrivacyLedger.currentSchemaVersion)
            }
            _ = try SQLitePrivacyLedger(path: path, create: true)
            return (before, SQLitePrivacyLedger.currentSchemaVersion)
        case .postgres(let location):
            let session = try PostgresSession.connect(location, password: try StorePassword.resolve(for: location, passwordFile: passwordFile))
            defer { session.close() }
            return try PostgresSchema.migrate(session)
        }
    }

    /// What `store copy` did.
    public struct CopySummary: Codable, Sendable, Equatable {
        /// Datasets copied.
        public var datasets: Int
        /// Charges copied.
        public var charges: Int
    }

    /// Copies every dataset and charge from `source` to the empty,
    /// migrated `destination`: budgets, relations, each charge with its
    /// cost, outcome and digests, in charge order (charge ids are
    /// renumbered by the destination; request ids are not carried over).
    /// The copy is verified: every dataset's status must be identical after.
    public static func copy(from source: any PrivacyLedger, to destination: any PrivacyLedger & LedgerImporting,
                            destinationName: String) throws -> CopySummary {
        guard try destination.allStatuses().isEmpty else { throw StoreError.copyTargetNotEmpty(store: destinationName) }
        let statuses = try source.allStatuses()
        var records: [SpendRecord] = []
        for status in statuses { records += try source.spends(dataset: status.dataset) }
        try destination.importLedger(statuses: statuses, spends: records.sorted { $0.id < $1.id })
        let after = try destination.allStatuses()
        guard after == statuses else {
            throw StoreError.schemaAltered(store: destinationName, reason: "the copied budgets do not read back as the source's")
        }
        return CopySummary(datasets: statuses.count, charges: records.count)
    }
}
