import Foundation
import BigInt
import GRDB

/// ``PrivacyLedger`` in an SQLite file through GRDB.
///
/// Amounts are stored as integers so sums are exact: epsilon in units of
/// 1e-9 and delta in units of 1e-15. Costs are rounded *up* and totals
/// *down* to those units, so rounding never lets a release through that the
/// real numbers would refuse. Charges run in `BEGIN IMMEDIATE` transactions
/// (SQLite's reserved write lock), so two processes cannot both read the
/// same remaining budget; waiting writers retry for up to 30 s. The schema
/// is verified (or created, or upgraded) when the ledger is opened; see
/// ``LedgerSchema``.
public final class SQLitePrivacyLedger: PrivacyLedger {
    /// The database path.
    public let path: String
    private let queue: DatabaseQueue

    static let epsilonUnit = 1e9
    static let deltaUnit = 1e15

    /// Opens (creating if needed) the ledger at `path`, verifying its schema
    /// and version; throws ``DPError/ledger(path:reason:)`` for a file that
    /// is not a ledger this modelsec may use.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.foreignKeysEnabled = true
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            // Verification only reads, so a ledger an auditor may only read can be shown;
            // creation and upgrade re-check under the write lock.
            let state = try queue.read { try LedgerSchema.state($0) }
            if case .current = state {} else {
                try queue.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        try LedgerSchema.prepare(db)
                        return .commit
                    }
                }
            }
        } catch let error as DatabaseError {
            throw DPError.ledger(path: path, reason: "cannot open ledger: \(error.message ?? "\(error.resultCode)")")
        } catch let error as LedgerSchemaError {
            throw DPError.ledger(path: path, reason: "refused: \(error.description)")
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

    private func exclusive<T>(_ body: (Database) throws -> T) throws -> T {
        try wrap {
            try queue.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        }
    }

    public func setTotal(dataset: String, budget: PrivacyCost, relation: NeighbouringRelation?) throws {
        guard !dataset.isEmpty else { throw DPError.invalidQuery("dataset name must not be empty") }
        let e = try Self.units(budget.epsilon, Self.epsilonUnit, roundUp: false)
        let d = try Self.units(budget.delta, Self.deltaUnit, roundUp: false)
        guard d < Int64(Self.deltaUnit) else { throw DPError.invalidQuery("a total delta must be below 1") }
        try exclusive { db in
            let t = Self.now()
            if let row = try Row.fetchOne(db, sql: """
                SELECT relation, (SELECT COUNT(*) FROM spends WHERE dataset = name) AS n FROM datasets WHERE name = ?
                """, arguments: [dataset]) {
                let current = NeighbouringRelation(rawValue: row["relation"])!
                let charges: Int = row["n"]
                let wanted = relation ?? current
                if wanted != current && charges > 0 {
                    throw DPError.relationMismatch(dataset: dataset, ledger: current, requested: wanted,
                                                   reason: "it has \(charges) charge(s) under \(current.rawValue), and a dataset's relation is fixed once it has charges")
                }
                try db.execute(sql: """
                    UPDATE datasets SET total_epsilon_nano = ?, total_delta_femto = ?, relation = ?, updated_at = ? WHERE name = ?
                    """, arguments: [e, d, wanted.rawValue, t, dataset])
            } else {
                try db.execute(sql: """
                    INSERT INTO datasets (name, relation, total_epsilon_nano, total_delta_femto, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [dataset, (relation ?? .addRemove).rawValue, e, d, t, t])
            }
        }
    }

    private static func status(_ db: Database, dataset: String) throws -> BudgetStatus? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT d.relation AS relation, d.total_epsilon_nano AS te, d.total_delta_femto AS td,
                   COALESCE(SUM(s.epsilon_nano), 0) AS se, COALESCE(SUM(s.delta_femto), 0) AS sd, COUNT(s.id) AS n
            FROM datasets d LEFT JOIN spends s ON s.dataset = d.name WHERE d.name = ? GROUP BY d.name
            """, arguments: [dataset]) else { return nil }
        let te: Int64 = row["te"], td: Int64 = row["td"], se: Int64 = row["se"], sd: Int64 = row["sd"], n: Int = row["n"]
        func cost(_ e: Int64, _ d: Int64) -> PrivacyCost { PrivacyCost(epsilon: Double(e) / epsilonUnit, delta: Double(d) / deltaUnit) }
        return BudgetStatus(dataset: dataset, relation: NeighbouringRelation(rawValue: row["relation"])!, total: cost(te, td),
                            spent: cost(se, sd), remaining: cost(max(0, te - se), max(0, td - sd)), releases: n)
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
                    return SpendRecord(id: row["id"], dataset: row["dataset"], relation: NeighbouringRelation(rawValue: row["relation"])!,
                                       cost: PrivacyCost(epsilon: Double(e) / Self.epsilonUnit, delta: Double(d) / Self.deltaUnit),
                                       mechanism: row["mechanism"], parameters: row["parameters"], time: row["created_at"],
                                       outcome: SpendOutcome(rawValue: row["outcome"])!,
                                       dataSHA256: row["data_sha256"], resultSHA256: row["result_sha256"])
                }
            }
        }
    }

    public func charge(_ request: ChargeRequest) throws -> Int64 {
        let e = try Self.units(request.cost.epsilon, Self.epsilonUnit, roundUp: true)
        let d = try Self.units(request.cost.delta, Self.deltaUnit, roundUp: true)
        return try exclusive { db in
            guard let status = try Self.status(db, dataset: request.dataset) else { throw DPError.unknownDataset(request.dataset) }
            guard status.relation == request.relation else {
                throw DPError.relationMismatch(dataset: request.dataset, ledger: status.relation, requested: request.relation,
                                               reason: "a dataset's releases must all use the relation fixed with its budget (pass --relation \(status.relation.rawValue))")
            }
            let row = try Row.fetchOne(db, sql: """
                SELECT d.total_epsilon_nano - COALESCE((SELECT SUM(epsilon_nano) FROM spends WHERE dataset = d.name), 0) AS re,
                       d.total_delta_femto - COALESCE((SELECT SUM(delta_femto) FROM spends WHERE dataset = d.name), 0) AS rd
                FROM datasets d WHERE d.name = ?
                """, arguments: [request.dataset])!
            let remainingE: Int64 = row["re"], remainingD: Int64 = row["rd"]
            guard e <= remainingE, d <= remainingD else {
                throw DPError.budgetExceeded(dataset: request.dataset, requested: request.cost, remaining: status.remaining)
            }
            try db.execute(sql: """
                INSERT INTO spends (dataset, relation, epsilon_nano, delta_femto, mechanism, parameters, created_at, outcome)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'charged')
                """, arguments: [request.dataset, request.relation.rawValue, e, d, request.mechanism, request.parameters, Self.now()])
            return db.lastInsertedRowID
        }
    }

    public func complete(charge: Int64, outcome: SpendOutcome, dataSHA256: String?, resultSHA256: String?) throws {
        guard outcome == .released || outcome == .failed else { throw DPError.invalidQuery("a charge completes as released or failed") }
        try exclusive { db in
            try db.execute(sql: "UPDATE spends SET outcome = ?, data_sha256 = ?, result_sha256 = ? WHERE id = ? AND outcome = 'charged'",
                           arguments: [outcome.rawValue, dataSHA256, resultSHA256, charge])
            guard db.changesCount == 1 else { throw DPError.ledger(path: path, reason: "charge #\(charge) is not awaiting completion") }
        }
    }
}
