import DifferentialPrivacy
import ModelSecStore
import PostgresNIO

/// ``DifferentialPrivacy/PrivacyLedger`` in a shared PostgreSQL store.
///
/// Same rows, units and rules as ``DifferentialPrivacy/SQLitePrivacyLedger``
/// (every decision is ``DifferentialPrivacy/LedgerRules``'s); every write is
/// one SERIALIZABLE transaction taken under a session advisory lock on each
/// dataset it touches and retried on SQLSTATE 40001/40P01, so concurrent
/// pipelines on many machines can never overspend. All values are bound
/// parameters. The store must have been migrated (`modelsec store migrate`).
public final class PostgresPrivacyLedger: PrivacyLedger, Sendable {
    let session: PostgresSession

    /// The redacted store URL.
    public var storeName: String { session.store }

    /// Connects and checks the schema version; throws ``ModelSecStore/StoreError``.
    public init(_ location: PostgresLocation, password: String?) throws {
        session = try PostgresSession.connect(location, password: password)
        do { try PostgresSchema.requireCurrent(session) } catch {
            session.close()
            throw error
        }
    }

    deinit { session.close() }

    /// The lock key of a dataset's writes.
    static func lockKey(_ dataset: String) -> String { "modelsec-dp:" + dataset }

    public func setTotal(dataset: String, budget: PrivacyCost, relation: NeighbouringRelation?) throws {
        let (e, d) = try LedgerRules.total(dataset: dataset, budget: budget)
        try session.serializable(lockKeys: [Self.lockKey(dataset)]) { c in
            let t = LedgerRules.now()
            let rows = try await c.query("""
                SELECT relation, (SELECT COUNT(*) FROM dp_spends WHERE dataset = name) FROM dp_datasets WHERE name = \(dataset)
                """, logger: PostgresSession.logger)
            var existing: (String, Int64)?
            for try await row in rows.decode((String, Int64).self) { existing = row }
            if let existing {
                let (currentText, charges) = existing
                let wanted = try LedgerRules.relation(for: dataset, current: NeighbouringRelation(rawValue: currentText) ?? .addRemove,
                                                      charges: Int(charges), requested: relation)
                try await c.query("""
                    UPDATE dp_datasets SET total_epsilon_nano = \(e), total_delta_femto = \(d), relation = \(wanted.rawValue), updated_at = \(t)
                    WHERE name = \(dataset)
                    """, logger: PostgresSession.logger)
            } else {
                let r = (relation ?? .addRemove).rawValue
                try await c.query("""
                    INSERT INTO dp_datasets (name, relation, total_epsilon_nano, total_delta_femto, created_at, updated_at)
                    VALUES (\(dataset), \(r), \(e), \(d), \(t), \(t))
                    """, logger: PostgresSession.logger)
            }
        }
    }

    /// The dataset's row (nil: no budget).
    static func row(_ c: PostgresConnection, dataset: String) async throws -> LedgerRules.DatasetRow? {
        let rows = try await c.query("""
            SELECT d.relation, d.total_epsilon_nano, d.total_delta_femto,
                   COALESCE(SUM(CASE WHEN s.rho_femto IS NULL AND s.delta_femto = 0 THEN s.epsilon_nano END), 0)::BIGINT,
                   COALESCE(SUM(CASE WHEN s.rho_femto IS NULL AND s.delta_femto > 0 THEN s.epsilon_nano END), 0)::BIGINT,
                   COALESCE(SUM(CASE WHEN s.rho_femto IS NULL THEN s.delta_femto END), 0)::BIGINT,
                   COALESCE(SUM(CASE WHEN s.rho_femto IS NOT NULL THEN s.epsilon_nano END), 0)::BIGINT,
                   COALESCE(SUM(CASE WHEN s.rho_femto IS NOT NULL THEN s.delta_femto END), 0)::BIGINT,
                   COALESCE(SUM(s.rho_femto), 0)::BIGINT, COUNT(s.id)
            FROM dp_datasets d LEFT JOIN dp_spends s ON s.dataset = d.name WHERE d.name = \(dataset) GROUP BY d.name
            """, logger: PostgresSession.logger)
        var result: LedgerRules.DatasetRow?
        for try await (relation, te, td, pe, ae, ad, ze, zd, r, n) in rows.decode((String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            result = LedgerRules.DatasetRow(relation: NeighbouringRelation(rawValue: relation) ?? .addRemove, totalEpsilon: te, totalDelta: td,
                                            sums: ChargeSums(pureEpsilon: pe, approximateEpsilon: ae, approximateDelta: ad,
                                                             zcdpEpsilon: ze, zcdpDelta: zd, rho: r), count: Int(n))
        }
        return result
    }

    public func status(dataset: String) throws -> BudgetStatus {
        guard let row = try session.run({ try await Self.row($0, dataset: dataset) }) else { throw DPError.unknownDataset(dataset) }
        return LedgerRules.status(dataset: dataset, row: row)
    }

    public func allStatuses() throws -> [BudgetStatus] {
        try session.run { c in
            let names = try await c.query("SELECT name FROM dp_datasets ORDER BY name COLLATE \"C\"", logger: PostgresSession.logger)
            var list: [String] = []
            for try await name in names.decode(String.self) { list.append(name) }
            var result: [BudgetStatus] = []
            for name in list {
                if let row = try await Self.row(c, dataset: name) { result.append(LedgerRules.status(dataset: name, row: row)) }
            }
            return result
        }
    }

    public func spends(dataset: String) throws -> [SpendRecord] {
        try session.run { c in
            let rows = try await c.query("""
                SELECT id, dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at, outcome,
                       data_sha256, result_sha256
                FROM dp_spends WHERE dataset = \(dataset) ORDER BY id
                """, logger: PostgresSession.logger)
            var result: [SpendRecord] = []
            for try await (id, ds, relation, e, d, r, mechanism, parameters, time, outcome, data, res) in rows.decode(
                (Int64, String, String, Int64, Int64, Int64?, String, String, String, String, String?, String?).self) {
                result.append(LedgerRules.record(id: id, dataset: ds, relation: relation, epsilon: e, delta: d, rho: r, mechanism: mechanism,
                                                 parameters: parameters, time: time, outcome: outcome, dataSHA256: data, resultSHA256: res))
            }
            return result
        }
    }

    public func charge(_ requests: [ChargeRequest]) throws -> [Int64] {
        try charge(requests, requestID: nil).receipt.charges
    }

    public func charge(_ requests: [ChargeRequest], requestID: String?) throws -> (receipt: ChargeReceipt, replayed: Bool) {
        if let requestID { try LedgerRules.validate(requestID: requestID) }
        let amounts = try requests.map { try LedgerRules.amount($0) }
        let fingerprint = LedgerRules.fingerprint(requests, amounts)
        var keys = requests.map { Self.lockKey($0.dataset) }
        if let requestID { keys.append("modelsec-request:" + requestID) }
        return try session.serializable(lockKeys: keys) { c in
            if let requestID {
                let existing = try await c.query("""
                    SELECT r.spend_id, r.fingerprint, s.created_at FROM dp_charge_requests r JOIN dp_spends s ON s.id = r.spend_id
                    WHERE r.request_id = \(requestID) ORDER BY r.position
                    """, logger: PostgresSession.logger)
                var found: [(Int64, String, String)] = []
                for try await row in existing.decode((Int64, String, String).self) { found.append(row) }
                if !found.isEmpty {
                    guard found.count == requests.count, found.allSatisfy({ $0.1 == fingerprint }) else {
                        throw DPError.requestIDReused(requestID: requestID)
                    }
                    return (ChargeReceipt(requestID: requestID, charges: found.map { $0.0 }, chargedAt: found[0].2), true)
                }
            }
            var rows: [String: LedgerRules.DatasetRow] = [:]
            var ids: [Int64] = []
            let time = LedgerRules.now()
            for (position, (request, amount)) in zip(requests, amounts).enumerated() {
                let current: LedgerRules.DatasetRow?
                if let cached = rows[request.dataset] { current = cached } else { current = try await Self.row(c, dataset: request.dataset) }
                rows[request.dataset] = try LedgerRules.admit(request, amount, row: current)
                let inserted = try await c.query("""
                    INSERT INTO dp_spends (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at, outcome)
                    VALUES (\(request.dataset), \(request.relation.rawValue), \(amount.epsilon), \(amount.delta), \(amount.rho),
                            \(request.mechanism), \(request.parameters), \(time), 'charged')
                    RETURNING id
                    """, logger: PostgresSession.logger)
                var id: Int64 = 0
                for try await value in inserted.decode(Int64.self) { id = value }
                ids.append(id)
                if let requestID {
                    let p = Int32(position)
                    try await c.query("""
                        INSERT INTO dp_charge_requests (request_id, position, spend_id, fingerprint)
                        VALUES (\(requestID), \(p), \(id), \(fingerprint))
                        """, logger: PostgresSession.logger)
                }
            }
            return (ChargeReceipt(requestID: requestID, charges: ids, chargedAt: time), false)
        }
    }

    public func complete(charge: Int64, outcome: SpendOutcome, dataSHA256: String?, resultSHA256: String?) throws {
        guard outcome == .released || outcome == .failed else { throw DPError.invalidQuery("a charge completes as released or failed") }
        let store = session.store
        try session.serializable(lockKeys: []) { c in
            let rows = try await c.query("""
                UPDATE dp_spends SET outcome = \(outcome.rawValue), data_sha256 = \(dataSHA256), result_sha256 = \(resultSHA256)
                WHERE id = \(charge) AND outcome = 'charged' RETURNING id
                """, logger: PostgresSession.logger)
            var n = 0
            for try await _ in rows.decode(Int64.self) { n += 1 }
            guard n == 1 else { throw DPError.ledger(path: store, reason: "charge #\(charge) is not awaiting completion") }
        }
    }
}

extension PostgresPrivacyLedger: LedgerImporting {
    public func importLedger(statuses: [BudgetStatus], spends: [SpendRecord]) throws {
        let totals = try statuses.map { try LedgerRules.total(dataset: $0.dataset, budget: $0.total) }
        let amounts = try spends.map { try LedgerRules.amount(of: $0) }
        try session.serializable(lockKeys: statuses.map { Self.lockKey($0.dataset) }) { c in
            let t = LedgerRules.now()
            for (s, (e, d)) in zip(statuses, totals) {
                try await c.query("""
                    INSERT INTO dp_datasets (name, relation, total_epsilon_nano, total_delta_femto, created_at, updated_at)
                    VALUES (\(s.dataset), \(s.relation.rawValue), \(e), \(d), \(t), \(t))
                    """, logger: PostgresSession.logger)
            }
            for (r, a) in zip(spends, amounts) {
                try await c.query("""
                    INSERT INTO dp_spends (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at,
                                           outcome, data_sha256, result_sha256)
                    VALUES (\(r.dataset), \(r.relation.rawValue), \(a.epsilon), \(a.delta), \(a.rho), \(r.mechanism), \(r.parameters),
                            \(r.time), \(r.outcome.rawValue), \(r.dataSHA256), \(r.resultSHA256))
                    """, logger: PostgresSession.logger)
            }
        }
    }
}
