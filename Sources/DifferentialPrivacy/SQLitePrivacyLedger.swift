import Foundation
import BigInt
import GRDB
import ModelSecCrypto

/// ``PrivacyLedger`` in an SQLite file through GRDB.
///
/// Amounts are stored as integers so sums are exact: epsilon in units of
/// 1e-9 and delta in units of 1e-15. Costs are rounded *up* and totals
/// *down* to those units, so rounding never lets a release through that the
/// real numbers would refuse. Each spend runs in a `BEGIN IMMEDIATE`
/// transaction (SQLite's reserved write lock), so two processes cannot both
/// read the same remaining budget; waiting writers retry for up to 30 s.
public final class SQLitePrivacyLedger: PrivacyLedger {
    /// The database path.
    public let path: String
    private let queue: DatabaseQueue

    static let epsilonUnit = 1e9
    static let deltaUnit = 1e15

    /// Opens (creating if needed) the ledger at `path`.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.foreignKeysEnabled = true
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.execute(sql: """
                    CREATE TABLE datasets (
                        name TEXT PRIMARY KEY NOT NULL,
                        total_epsilon_nano INTEGER NOT NULL CHECK (total_epsilon_nano >= 0),
                        total_delta_femto INTEGER NOT NULL CHECK (total_delta_femto >= 0),
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL);
                    CREATE TABLE spends (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        dataset TEXT NOT NULL REFERENCES datasets(name),
                        epsilon_nano INTEGER NOT NULL CHECK (epsilon_nano >= 0),
                        delta_femto INTEGER NOT NULL CHECK (delta_femto >= 0),
                        mechanism TEXT NOT NULL,
                        parameters TEXT NOT NULL,
                        created_at TEXT NOT NULL,
                        result_sha256 TEXT NOT NULL);
                    CREATE INDEX spends_dataset ON spends(dataset);
                    """)
            }
            try migrator.migrate(queue)
        } catch let error as DatabaseError {
            throw DPError.ledger(path: path, reason: "cannot open ledger: \(error.message ?? "\(error.resultCode)")")
        }
    }

    /// `value` in integer multiples of 1/`unit`, computed exactly from the
    /// value's decimal form (what the user typed) and rounded up or down.
    static func units(_ value: Double, _ unit: Double, roundUp: Bool) throws -> Int64 {
        guard value.isFinite, value >= 0, value * unit < 9e18, let exact = Rational(decimalOf: value) else {
            throw DPError.invalidQuery("budget value \(value) out of range")
        }
        let scaled = exact * Rational(Int(unit))
        return Int64(roundUp ? scaled.ceiling : scaled.floor)
    }

    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DatabaseError {
            throw DPError.ledger(path: path, reason: error.message ?? "SQLite error \(error.resultCode)")
        }
    }

    public func setTotal(dataset: String, budget: PrivacyCost) throws {
        guard !dataset.isEmpty else { throw DPError.invalidQuery("dataset name must not be empty") }
        let e = try Self.units(budget.epsilon, Self.epsilonUnit, roundUp: false)
        let d = try Self.units(budget.delta, Self.deltaUnit, roundUp: false)
        try wrap {
            try queue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    let t = Self.now()
                    try db.execute(sql: """
                        INSERT INTO datasets (name, total_epsilon_nano, total_delta_femto, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT(name) DO UPDATE SET total_epsilon_nano = excluded.total_epsilon_nano,
                            total_delta_femto = excluded.total_delta_femto, updated_at = excluded.updated_at
                        """, arguments: [dataset, e, d, t, t])
                    return .commit
                }
            }
        }
    }

    private static func status(_ db: Database, dataset: String) throws -> BudgetStatus? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT d.total_epsilon_nano AS te, d.total_delta_femto AS td,
                   COALESCE(SUM(s.epsilon_nano), 0) AS se, COALESCE(SUM(s.delta_femto), 0) AS sd, COUNT(s.id) AS n
            FROM datasets d LEFT JOIN spends s ON s.dataset = d.name WHERE d.name = ? GROUP BY d.name
            """, arguments: [dataset]) else { return nil }
        let te: Int64 = row["te"], td: Int64 = row["td"], se: Int64 = row["se"], sd: Int64 = row["sd"], n: Int = row["n"]
        func cost(_ e: Int64, _ d: Int64) -> PrivacyCost { PrivacyCost(epsilon: Double(e) / epsilonUnit, delta: Double(d) / deltaUnit) }
        return BudgetStatus(dataset: dataset, total: cost(te, td), spent: cost(se, sd),
                            remaining: cost(max(0, te - se), max(0, td - sd)), releases: n)
    }

    public func status(dataset: String) throws -> BudgetStatus {
        guard let s = try wrap({ try queue.read { try Self.status($0, dataset: dataset) } }) else { throw DPError.unknownDataset(dataset) }
        return s
    }

    public func allStatuses() throws -> [BudgetStatus] {
        try wrap {
            try queue.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM datasets ORDER BY name").compactMap { try Self.status(db, dataset: $0) }
            }
        }
    }

    public func spends(dataset: String) throws -> [SpendRecord] {
        try wrap {
            try queue.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM spends WHERE dataset = ? ORDER BY id", arguments: [dataset]).map { row in
                    let e: Int64 = row["epsilon_nano"], d: Int64 = row["delta_femto"]
                    return SpendRecord(id: row["id"], dataset: row["dataset"],
                                       cost: PrivacyCost(epsilon: Double(e) / Self.epsilonUnit, delta: Double(d) / Self.deltaUnit),
                                       mechanism: row["mechanism"], parameters: row["parameters"],
                                       time: row["created_at"], resultSHA256: row["result_sha256"])
                }
            }
        }
    }

    public func spend<T>(dataset: String, cost: PrivacyCost, mechanism: String, parameters: String,
                         release: () throws -> (result: T, canonicalBytes: [UInt8])) throws -> T {
        let e = try Self.units(cost.epsilon, Self.epsilonUnit, roundUp: true)
        let d = try Self.units(cost.delta, Self.deltaUnit, roundUp: true)
        var output: T?
        do {
            try queue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    guard let status = try Self.status(db, dataset: dataset) else { throw DPError.unknownDataset(dataset) }
                    let row = try Row.fetchOne(db, sql: """
                        SELECT d.total_epsilon_nano - COALESCE((SELECT SUM(epsilon_nano) FROM spends WHERE dataset = d.name), 0) AS re,
                               d.total_delta_femto - COALESCE((SELECT SUM(delta_femto) FROM spends WHERE dataset = d.name), 0) AS rd
                        FROM datasets d WHERE d.name = ?
                        """, arguments: [dataset])!
                    let remainingE: Int64 = row["re"], remainingD: Int64 = row["rd"]
                    guard e <= remainingE, d <= remainingD else {
                        throw DPError.budgetExceeded(dataset: dataset, requested: cost, remaining: status.remaining)
                    }
                    let (result, bytes) = try release()
                    try db.execute(sql: """
                        INSERT INTO spends (dataset, epsilon_nano, delta_femto, mechanism, parameters, created_at, result_sha256)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [dataset, e, d, mechanism, parameters, Self.now(), SHA256.hash(data: bytes).hex])
                    output = result
                    return .commit
                }
            }
        } catch let error as DatabaseError {
            throw DPError.ledger(path: path, reason: error.message ?? "SQLite error \(error.resultCode)")
        }
        return output!
    }
}
