import Foundation
import BigInt
import GRDB

/// ``PrivacyLedger`` in an SQLite file through GRDB.
///
/// Amounts are stored as integers so sums are exact: epsilon in units of
/// 1e-9, delta and zCDP rho in units of 1e-15. Costs are rounded *up* and totals
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
    static let rhoUnit = 1e15

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

    /// The dataset's relation, total (in units) and charge sums, or nil if it has no budget.
    private static func sums(_ db: Database, dataset: String) throws -> (relation: NeighbouringRelation, epsilon: Int64, delta: Int64, sums: ChargeSums, count: Int)? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT d.relation AS relation, d.total_epsilon_nano AS te, d.total_delta_femto AS td,
                   COALESCE(SUM(CASE WHEN s.rho_femto IS NULL AND s.delta_femto = 0 THEN s.epsilon_nano END), 0) AS pe,
                   COALESCE(SUM(CASE WHEN s.rho_femto IS NULL AND s.delta_femto > 0 THEN s.epsilon_nano END), 0) AS ae,
                   COALESCE(SUM(CASE WHEN s.rho_femto IS NULL THEN s.delta_femto END), 0) AS ad,
                   COALESCE(SUM(CASE WHEN s.rho_femto IS NOT NULL THEN s.epsilon_nano END), 0) AS ze,
                   COALESCE(SUM(CASE WHEN s.rho_femto IS NOT NULL THEN s.delta_femto END), 0) AS zd,
                   COALESCE(SUM(s.rho_femto), 0) AS r, COUNT(s.id) AS n
            FROM datasets d LEFT JOIN spends s ON s.dataset = d.name WHERE d.name = ? GROUP BY d.name
            """, arguments: [dataset]) else { return nil }
        let sums = ChargeSums(pureEpsilon: row["pe"], approximateEpsilon: row["ae"], approximateDelta: row["ad"],
                              zcdpEpsilon: row["ze"], zcdpDelta: row["zd"], rho: row["r"])
        return (NeighbouringRelation(rawValue: row["relation"])!, row["te"], row["td"], sums, row["n"])
    }

    private static func status(_ db: Database, dataset: String) throws -> BudgetStatus? {
        guard let s = try sums(db, dataset: dataset) else { return nil }
        func cost(_ e: Int64, _ d: Int64) -> PrivacyCost { PrivacyCost(epsilon: Double(e) / epsilonUnit, delta: Double(d) / deltaUnit) }
        let spent = s.sums.spent(totalEpsilon: s.epsilon, totalDelta: s.delta)
        let se = spent?.epsilon ?? Int64.max, sd = spent?.delta ?? Int64.max
        return BudgetStatus(dataset: dataset, relation: s.relation, total: cost(s.epsilon, s.delta),
                            spent: cost(se, sd), remaining: cost(max(0, s.epsilon - se), max(0, s.delta - sd)), releases: s.count,
                            accounting: s.sums.accounting(totalEpsilon: s.epsilon, totalDelta: s.delta))
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
                    let r: Int64? = row["rho_femto"]
                    return SpendRecord(id: row["id"], dataset: row["dataset"], relation: NeighbouringRelation(rawValue: row["relation"])!,
                                       cost: PrivacyCost(epsilon: Double(e) / Self.epsilonUnit, delta: Double(d) / Self.deltaUnit,
                                                         rho: r.map { Double($0) / Self.rhoUnit }),
                                       mechanism: row["mechanism"], parameters: row["parameters"], time: row["created_at"],
                                       outcome: SpendOutcome(rawValue: row["outcome"])!,
                                       dataSHA256: row["data_sha256"], resultSHA256: row["result_sha256"])
                }
            }
        }
    }

    /// A charge's rho in ledger units: nil for a non-zCDP charge, or one
    /// whose rho does not fit the units (it is then charged as the
    /// (epsilon, delta) it also satisfies).
    static func rhoUnits(_ cost: PrivacyCost) -> Int64? {
        guard let rho = cost.rho, rho.isFinite, rho > 0, rho * rhoUnit < 9e18 else { return nil }
        return try? units(rho, rhoUnit, roundUp: true)
    }

    public func charge(_ request: ChargeRequest) throws -> Int64 {
        try charge([request])[0]
    }

    public func charge(_ requests: [ChargeRequest]) throws -> [Int64] {
        let amounts = try requests.map { r in
            (try Self.units(r.cost.epsilon, Self.epsilonUnit, roundUp: true), try Self.units(r.cost.delta, Self.deltaUnit, roundUp: true),
             Self.rhoUnits(r.cost))
        }
        return try exclusive { db in
            var ids: [Int64] = []
            for (request, (e, d, r)) in zip(requests, amounts) {
                guard let current = try Self.sums(db, dataset: request.dataset) else { throw DPError.unknownDataset(request.dataset) }
                guard current.relation == request.relation else {
                    throw DPError.relationMismatch(dataset: request.dataset, ledger: current.relation, requested: request.relation,
                                                   reason: "a dataset's releases must all use the relation fixed with its budget")
                }
                guard let after = current.sums.adding(epsilon: e, delta: d, rho: r),
                      after.fits(totalEpsilon: current.epsilon, totalDelta: current.delta) else {
                    let status = try Self.status(db, dataset: request.dataset)!
                    throw DPError.budgetExceeded(dataset: request.dataset, requested: request.cost, remaining: status.remaining)
                }
                try db.execute(sql: """
                    INSERT INTO spends (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at, outcome)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'charged')
                    """, arguments: [request.dataset, request.relation.rawValue, e, d, r, request.mechanism, request.parameters, Self.now()])
                ids.append(db.lastInsertedRowID)
            }
            return ids
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
