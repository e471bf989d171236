import Foundation
import ModelSecIO
import BigInt
import GRDB
import ModelSecStore

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

    static let epsilonUnit = LedgerRules.epsilonUnit
    static let deltaUnit = LedgerRules.deltaUnit
    static let rhoUnit = LedgerRules.rhoUnit

    /// The store's name in messages: `sqlite:PATH`.
    public var storeName: String { "sqlite:\(path)" }

    /// Opens the ledger at `path`, verifying its schema and version; throws
    /// ``DPError/ledger(path:reason:)`` for a file that is not a ledger this
    /// modelsec may use, and ``StoreError/newerSchema(store:found:supported:)``
    /// for one written by a newer modelsec. With `create` (the `--ledger`
    /// behaviour), a missing or empty file becomes a new ledger and an older
    /// one is upgraded; without it (a `--store` URL, as PostgreSQL), those
    /// are refused with ``StoreError/noSchema(store:)`` and
    /// ``StoreError/olderSchema(store:found:current:)``: only `store migrate` creates or upgrades.
    public init(path: String, create: Bool = true) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.foreignKeysEnabled = true
        let name = "sqlite:\(path)"
        if !create && !FileManager.default.fileExists(atPath: path) { throw StoreError.noSchema(store: name) }
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            // Verification only reads, so a ledger an auditor may only read can be shown;
            // creation and upgrade re-check under the write lock.
            let state = try queue.read { try LedgerSchema.state($0) }
            switch state {
            case .current: break
            case .empty where !create: throw StoreError.noSchema(store: name)
            case .version1 where !create: throw StoreError.olderSchema(store: name, found: 1, current: Int(LedgerSchema.version))
            case .version2 where !create: throw StoreError.olderSchema(store: name, found: 2, current: Int(LedgerSchema.version))
            case .version3 where !create: throw StoreError.olderSchema(store: name, found: 3, current: Int(LedgerSchema.version))
            case .version4 where !create: throw StoreError.olderSchema(store: name, found: 4, current: Int(LedgerSchema.version))
            case .version6 where !create: throw StoreError.olderSchema(store: name, found: 6, current: Int(LedgerSchema.version))
            default:
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
            if let found = error.newerVersion { throw StoreError.newerSchema(store: name, found: found, supported: Int(LedgerSchema.version)) }
            throw DPError.ledger(path: path, reason: "refused: \(error.description)")
        }
    }

    /// The schema version of the ledger at `path` without changing it: 0
    /// for a missing or empty file, else the stored version (1 for a
    /// version 1 ledger, which has none). Throws for a file that is not a
    /// ledger (or is altered), but not for a newer version.
    public static func schemaVersion(path: String) throws -> Int {
        guard FileManager.default.fileExists(atPath: path) else { return 0 }
        var config = Configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            return try queue.read { db in
                do {
                    switch try LedgerSchema.state(db) {
                    case .empty: return 0
                    case .version1: return 1
                    case .version2: return 2
                    case .version3: return 3
                    case .version4: return 4
                    case .version6: return 6
                    case .current: return Int(LedgerSchema.version)
                    }
                } catch let error as LedgerSchemaError {
                    if let found = error.newerVersion { return found }
                    throw DPError.ledger(path: path, reason: "refused: \(error.description)")
                }
            }
        } catch let error as DatabaseError {
            throw DPError.ledger(path: path, reason: "cannot open ledger: \(error.message ?? "\(error.resultCode)")")
        }
    }

    /// `value` in integer multiples of 1/`unit`, computed exactly from the
    /// value's decimal form (what the user typed) and rounded up or down.
    static func units(_ value: Double, _ unit: Double, roundUp: Bool) throws -> Int64 {
        guard value.isFinite, value >= 0, value * unit < 9e18 else { throw DPError.invalidQuery("budget value \(value) out of range") }
        let power = unit == 1e9 ? 9 : unit == 1e15 ? 15 : nil
        if let power, let fast = DecimalScaling.scaled(value, powerOfTen: power, roundUp: roundUp) { return fast }
        guard let exact = Rational(decimalOf: value) else { throw DPError.invalidQuery("budget value \(value) out of range") }
        let scaled = exact * Rational(Int(unit))
        return Int64(roundUp ? scaled.ceiling : scaled.floor)
    }

    /// The current time as ISO 8601 UTC with milliseconds
    /// (`2026-12-01T12:43:19.123Z`, the form ISO8601DateFormatter gives with
    /// fractional seconds), built from `gmtime_r`: creating a formatter per
    /// charge (ICU locale data) was the largest client cost of a charge.
    static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var t = tm()
        gmtime_r(&seconds, &t)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(Int(t.tm_year) + 1900, 4) + "-" + pad(Int(t.tm_mon) + 1, 2) + "-" + pad(Int(t.tm_mday), 2)
            + "T" + pad(Int(t.tm_hour), 2) + ":" + pad(Int(t.tm_min), 2) + ":" + pad(Int(t.tm_sec), 2)
            + "." + pad(Int(ts.tv_nsec) / 1_000_000, 3) + "Z"
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DatabaseError {
            throw DPError.ledger(path: path, reason: error.message ?? "SQLite error \(error.resultCode)")
        }
    }

    func exclusive<T>(_ body: (Database) throws -> T) throws -> T {
        try wrap { try queue.immediateTransaction(body) }
    }

    public func setTotal(dataset: String, budget: PrivacyCost, relation: NeighbouringRelation?) throws {
        let (e, d) = try LedgerRules.total(dataset: dataset, budget: budget)
        try exclusive { db in
            let t = Self.now()
            if let row = try Row.fetchOne(db, sql: """
                SELECT relation, charge_count AS n FROM datasets WHERE name = ?
                """, arguments: [dataset]) {
                let wanted = try LedgerRules.relation(for: dataset, current: NeighbouringRelation(rawValue: row["relation"])!,
                                                      charges: row["n"], requested: relation)
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

    /// The dataset's relation, total (in units) and running charge sums, or nil if it has no budget.
    private static func sums(_ db: Database, dataset: String) throws -> LedgerRules.DatasetRow? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT relation, total_epsilon_nano, total_delta_femto, \(LedgerRules.sumColumns.joined(separator: ", "))
            FROM datasets WHERE name = ?
            """, arguments: [dataset]) else { return nil }
        let sums = (4..<(3 + LedgerRules.sumColumns.count)).map { row[$0] as Int64 }
        return LedgerRules.row(relation: row[0], totalEpsilon: row[1], totalDelta: row[2], count: row[3], sums: sums)
    }

    /// The first dataset whose running sums differ from the sums of its
    /// charges (nil: all agree); `store status` runs it.
    public func runningSumsMismatch() throws -> String? {
        try wrap { try queue.read { try String.fetchOne($0, sql: LedgerRules.sumsMismatch(datasets: "datasets", spends: "spends")) } }
    }

    private static func status(_ db: Database, dataset: String) throws -> BudgetStatus? {
        try sums(db, dataset: dataset).map { LedgerRules.status(dataset: dataset, row: $0) }
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

    public func charge(_ requests: [ChargeRequest]) throws -> [Int64] {
        try charge(requests, requestID: nil).receipt.charges
    }

    public func charge(_ requests: [ChargeRequest], requestID: String?) throws -> (receipt: ChargeReceipt, replayed: Bool) {
        if let requestID { try LedgerRules.validate(requestID: requestID) }
        let amounts = try requests.map { try LedgerRules.amount($0) }
        let fingerprint = LedgerRules.fingerprint(requests, amounts)
        return try exclusive { db in
            if let requestID {
                let rows = try Row.fetchAll(db, sql: """
                    SELECT r.spend_id AS id, r.fingerprint AS f, s.created_at AS t FROM charge_requests r JOIN spends s ON s.id = r.spend_id
                    WHERE r.request_id = ? ORDER BY r.position
                    """, arguments: [requestID])
                if !rows.isEmpty {
                    guard rows.count == requests.count, rows.allSatisfy({ ($0["f"] as String) == fingerprint }) else {
                        throw DPError.requestIDReused(requestID: requestID)
                    }
                    return (ChargeReceipt(requestID: requestID, charges: rows.map { $0["id"] }, chargedAt: rows[0]["t"]), true)
                }
            }
            // Keyed by the name's bytes: two names Swift calls equal (canonically
            // equivalent) are two datasets with two budgets in the database.
            var rows: [ExactString: LedgerRules.DatasetRow] = [:]
            var ids: [Int64] = []
            let time = Self.now()
            for (position, (request, amount)) in zip(requests, amounts).enumerated() {
                let name = ExactString(request.dataset)
                let current = try rows[name] ?? Self.sums(db, dataset: request.dataset)
                rows[name] = try LedgerRules.admit(request, amount, row: current)
                try db.execute(sql: """
                    INSERT INTO spends (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at, outcome)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'charged')
                    """, arguments: [request.dataset, request.relation.rawValue, amount.epsilon, amount.delta, amount.rho,
                                     request.mechanism, request.parameters, time])
                let id = db.lastInsertedRowID
                ids.append(id)
                if let requestID {
                    try db.execute(sql: "INSERT INTO charge_requests (request_id, position, spend_id, fingerprint) VALUES (?, ?, ?, ?)",
                                   arguments: [requestID, position, id, fingerprint])
                }
            }
            return (ChargeReceipt(requestID: requestID, charges: ids, chargedAt: time), false)
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

extension SQLitePrivacyLedger: LedgerImporting {
    /// The schema version this modelsec writes (`PRAGMA user_version`).
    public static var currentSchemaVersion: Int { Int(LedgerSchema.version) }

    public func importLedger(statuses: [BudgetStatus], spends: [SpendRecord]) throws {
        try exclusive { db in
            let t = Self.now()
            for s in statuses {
                let (e, d) = try LedgerRules.total(dataset: s.dataset, budget: s.total)
                try db.execute(sql: """
                    INSERT INTO datasets (name, relation, total_epsilon_nano, total_delta_femto, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [s.dataset, s.relation.rawValue, e, d, t, t])
            }
            for r in spends {
                let a = try LedgerRules.amount(of: r)
                try db.execute(sql: """
                    INSERT INTO spends (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at,
                                        outcome, data_sha256, result_sha256)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [r.dataset, r.relation.rawValue, a.epsilon, a.delta, a.rho, r.mechanism, r.parameters, r.time,
                                     r.outcome.rawValue, r.dataSHA256, r.resultSHA256])
            }
        }
    }
}
