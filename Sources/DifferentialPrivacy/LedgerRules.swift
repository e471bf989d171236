import Foundation
import ModelSecCrypto

/// What a ledger returns for a charge: the same receipt whenever the same
/// request id is charged again (the charge is made once).
public struct ChargeReceipt: Codable, Sendable, Equatable {
    /// The caller's request id (nil for a charge made without one).
    public var requestID: String?
    /// The ids of the charges, in request order.
    public var charges: [Int64]
    /// When the charges were committed (ISO 8601, UTC).
    public var chargedAt: String

    /// A receipt.
    public init(requestID: String?, charges: [Int64], chargedAt: String) {
        self.requestID = requestID
        self.charges = charges
        self.chargedAt = chargedAt
    }
}

/// The ledger's rules shared by every storage engine (SQLite, PostgreSQL):
/// units, the checks a charge must pass, request-id fingerprints. Engines
/// only read and write rows; every decision is made here, so both engines
/// behave identically.
package enum LedgerRules {
    /// Epsilon is stored in units of 1e-9.
    package static let epsilonUnit = 1e9
    /// Delta is stored in units of 1e-15.
    package static let deltaUnit = 1e15
    /// zCDP rho is stored in units of 1e-15.
    package static let rhoUnit = 1e15
    /// Longest request id accepted.
    package static let maximumRequestIDLength = 200

    /// A charge in ledger units.
    package struct Amount: Equatable, Sendable {
        package var epsilon: Int64, delta: Int64, rho: Int64?
    }

    /// What the ledger holds for one dataset.
    package struct DatasetRow: Sendable {
        package var relation: NeighbouringRelation
        package var totalEpsilon: Int64
        package var totalDelta: Int64
        package var sums: ChargeSums
        package var count: Int

        /// A dataset's row as read by an engine.
        package init(relation: NeighbouringRelation, totalEpsilon: Int64, totalDelta: Int64, sums: ChargeSums, count: Int) {
            self.relation = relation
            self.totalEpsilon = totalEpsilon
            self.totalDelta = totalDelta
            self.sums = sums
            self.count = count
        }
    }

    /// The charge's amounts, rounded up to ledger units.
    package static func amount(_ request: ChargeRequest) throws -> Amount {
        Amount(epsilon: try SQLitePrivacyLedger.units(request.cost.epsilon, epsilonUnit, roundUp: true),
               delta: try SQLitePrivacyLedger.units(request.cost.delta, deltaUnit, roundUp: true),
               rho: SQLitePrivacyLedger.rhoUnits(request.cost))
    }

    /// A new total budget in ledger units (rounded down); checks the name and the delta.
    package static func total(dataset: String, budget: PrivacyCost) throws -> (epsilon: Int64, delta: Int64) {
        guard !dataset.isEmpty else { throw DPError.invalidQuery("dataset name must not be empty") }
        let e = try SQLitePrivacyLedger.units(budget.epsilon, epsilonUnit, roundUp: false)
        let d = try SQLitePrivacyLedger.units(budget.delta, deltaUnit, roundUp: false)
        guard d < Int64(deltaUnit) else { throw DPError.invalidQuery("a total delta must be below 1") }
        return (e, d)
    }

    /// The relation a dataset is given by `setTotal`: refused if it would
    /// change the relation of a dataset that has charges.
    package static func relation(for dataset: String, current: NeighbouringRelation, charges: Int,
                                 requested: NeighbouringRelation?) throws -> NeighbouringRelation {
        let wanted = requested ?? current
        if wanted != current && charges > 0 {
            throw DPError.relationMismatch(dataset: dataset, ledger: current, requested: wanted,
                                           reason: "it has \(charges) charge(s) under \(current.rawValue), and a dataset's relation is fixed once it has charges")
        }
        return wanted
    }

    /// The dataset's public status.
    package static func status(dataset: String, row s: DatasetRow) -> BudgetStatus {
        func cost(_ e: Int64, _ d: Int64) -> PrivacyCost { PrivacyCost(epsilon: Double(e) / epsilonUnit, delta: Double(d) / deltaUnit) }
        let spent = s.sums.spent(totalEpsilon: s.totalEpsilon, totalDelta: s.totalDelta)
        let se = spent?.epsilon ?? Int64.max, sd = spent?.delta ?? Int64.max
        return BudgetStatus(dataset: dataset, relation: s.relation, total: cost(s.totalEpsilon, s.totalDelta),
                            spent: cost(se, sd), remaining: cost(max(0, s.totalEpsilon - se), max(0, s.totalDelta - sd)),
                            releases: s.count, accounting: s.sums.accounting(totalEpsilon: s.totalEpsilon, totalDelta: s.totalDelta))
    }

    /// Admits one charge against the dataset's row (nil: no budget), or
    /// throws the refusal; returns the row with the charge added.
    package static func admit(_ request: ChargeRequest, _ amount: Amount, row: DatasetRow?) throws -> DatasetRow {
        guard var current = row else { throw DPError.unknownDataset(request.dataset) }
        guard current.relation == request.relation else {
            throw DPError.relationMismatch(dataset: request.dataset, ledger: current.relation, requested: request.relation,
                                           reason: "a dataset's releases must all use the relation fixed with its budget")
        }
        guard let after = current.sums.adding(epsilon: amount.epsilon, delta: amount.delta, rho: amount.rho),
              after.fits(totalEpsilon: current.totalEpsilon, totalDelta: current.totalDelta) else {
            throw DPError.budgetExceeded(dataset: request.dataset, requested: request.cost,
                                         remaining: status(dataset: request.dataset, row: current).remaining)
        }
        current.sums = after
        current.count += 1
        return current
    }

    // MARK: Running sums
    //
    // Both engines keep each dataset's ``ChargeSums`` and charge count in
    // its row (schema version 6), added to by a trigger on every inserted
    // charge, so a charge reads one row instead of summing all charges.
    // The SQL below is the one text both engines run; its classification
    // of a charge is ``ChargeSums/adding(epsilon:delta:rho:)``'s (rho
    // present: zCDP; else delta 0: pure; else approximate). The admission
    // rules themselves stay in Swift (``admit(_:_:row:)``), over the sums
    // read from the row.

    /// The dataset row's running-sum columns, in ``ChargeSums`` order after the count.
    package static let sumColumns = ["charge_count", "sum_pure_epsilon_nano", "sum_approximate_epsilon_nano",
                                     "sum_approximate_delta_femto", "sum_zcdp_epsilon_nano", "sum_zcdp_delta_femto", "sum_rho_femto"]

    /// What one charge row `p` adds to each of ``sumColumns``.
    static func sumTerms(_ p: String) -> [String] {
        ["1",
         "CASE WHEN \(p).rho_femto IS NULL AND \(p).delta_femto = 0 THEN \(p).epsilon_nano ELSE 0 END",
         "CASE WHEN \(p).rho_femto IS NULL AND \(p).delta_femto > 0 THEN \(p).epsilon_nano ELSE 0 END",
         "CASE WHEN \(p).rho_femto IS NULL THEN \(p).delta_femto ELSE 0 END",
         "CASE WHEN \(p).rho_femto IS NOT NULL THEN \(p).epsilon_nano ELSE 0 END",
         "CASE WHEN \(p).rho_femto IS NOT NULL THEN \(p).delta_femto ELSE 0 END",
         "COALESCE(\(p).rho_femto, 0)"]
    }

    /// The `SET` list a trigger runs for the inserted charge `new` (`NEW`).
    package static func sumsIncrement(new: String) -> String {
        zip(sumColumns, sumTerms(new)).map { "\($0) = \($0) + \($1)" }.joined(separator: ", ")
    }

    /// A correlated subquery: the sums of the charges in `spends` of the dataset `name`, recomputed.
    static func sumsOfCharges(spends: String, name: String) -> String {
        "SELECT " + sumTerms("s").map { "CAST(COALESCE(SUM(\($0)), 0) AS BIGINT)" }.joined(separator: ", ")
            + " FROM \(spends) s WHERE s.dataset = \(name)"
    }

    /// Sets every dataset's running sums from its charges (the upgrade to version 6).
    package static func sumsBackfill(datasets: String, spends: String) -> String {
        "UPDATE \(datasets) SET (\(sumColumns.joined(separator: ", "))) = (\(sumsOfCharges(spends: spends, name: datasets + ".name")))"
    }

    /// The first dataset (by name) whose running sums differ from its charges' sums; no rows when all agree.
    package static func sumsMismatch(datasets: String, spends: String) -> String {
        "SELECT d.name FROM \(datasets) d WHERE (\(sumColumns.map { "d." + $0 }.joined(separator: ", "))) <> (\(sumsOfCharges(spends: spends, name: "d.name"))) ORDER BY d.name LIMIT 1"
    }

    /// A dataset row from its stored columns: relation, totals, then ``sumColumns``.
    package static func row(relation: String, totalEpsilon: Int64, totalDelta: Int64, count: Int64, sums s: [Int64]) -> DatasetRow {
        DatasetRow(relation: NeighbouringRelation(rawValue: relation) ?? .addRemove, totalEpsilon: totalEpsilon, totalDelta: totalDelta,
                   sums: ChargeSums(pureEpsilon: s[0], approximateEpsilon: s[1], approximateDelta: s[2], zcdpEpsilon: s[3],
                                    zcdpDelta: s[4], rho: s[5]),
                   count: Int(count))
    }

    /// Checks a request id: 1 to 200 printable ASCII characters, no spaces.
    package static func validate(requestID: String) throws {
        guard !requestID.isEmpty, requestID.utf8.count <= maximumRequestIDLength,
              requestID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw DPError.invalidQuery("a request id is 1 to \(maximumRequestIDLength) printable ASCII characters without spaces")
        }
    }

    /// Hex SHA-256 of the requests in ledger units (length-prefixed fields),
    /// so a request id reused for a different charge is recognised.
    package static func fingerprint(_ requests: [ChargeRequest], _ amounts: [Amount]) -> String {
        var bytes: [UInt8] = []
        func field(_ text: String) {
            let utf8 = Array(text.utf8)
            withUnsafeBytes(of: UInt64(utf8.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: utf8)
        }
        field("modelsec-charge-request-v1")
        for (r, a) in zip(requests, amounts) {
            field(r.dataset); field(r.relation.rawValue); field(String(a.epsilon)); field(String(a.delta))
            field(a.rho.map(String.init) ?? "-"); field(r.mechanism); field(r.parameters)
        }
        return SHA2.SHA256.hash(data: bytes).hex
    }

    /// The current time, ISO 8601 UTC with fractional seconds.
    package static func now() -> String { SQLitePrivacyLedger.now() }

    /// A charge record from stored units.
    package static func record(id: Int64, dataset: String, relation: String, epsilon: Int64, delta: Int64, rho: Int64?,
                               mechanism: String, parameters: String, time: String, outcome: String,
                               dataSHA256: String?, resultSHA256: String?) -> SpendRecord {
        SpendRecord(id: id, dataset: dataset, relation: NeighbouringRelation(rawValue: relation) ?? .addRemove,
                    cost: PrivacyCost(epsilon: Double(epsilon) / epsilonUnit, delta: Double(delta) / deltaUnit,
                                      rho: rho.map { Double($0) / rhoUnit }),
                    mechanism: mechanism, parameters: parameters, time: time,
                    outcome: SpendOutcome(rawValue: outcome) ?? .charged, dataSHA256: dataSHA256, resultSHA256: resultSHA256)
    }
}
