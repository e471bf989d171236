import DifferentialPrivacy
import ModelSecIO
import ModelSecStore
import PostgresNIO
import Synchronization

/// ``DifferentialPrivacy/PrivacyLedger`` in a shared PostgreSQL store.
///
/// Same rows, units and rules as ``DifferentialPrivacy/SQLitePrivacyLedger``
/// (every decision is ``DifferentialPrivacy/LedgerRules``'s, made in Swift
/// over the dataset row's running sums). A charge of one request that fits
/// its budget under basic composition is one round trip (``OneStepCharge``:
/// check, lock, insert, all in one statement); anything else, and any
/// charge that statement does not admit, is decided in Swift: one read of
/// the dataset rows (and of the request id's earlier receipt; the one-step
/// statement returns the same read when it admits nothing), the admission
/// decision, then one statement that locks the rows, checks that
/// they are still the rows the decision was made on (charge count, totals,
/// relation), and inserts the charges and request rows, all or nothing; a
/// trigger adds each charge to its dataset's sums in the same statement.
/// When a row changed in between (another charge got there first), the
/// charge is decided again inside a transaction that holds the rows' locks
/// from the read to the commit, so a busy dataset queues instead of
/// retrying. Deadlocks, serialization failures and a concurrent insert of
/// the same request id (SQLSTATE 40P01, 40001, 23505) are retried. All
/// values are bound parameters. The store must have been migrated
/// (`modelsec store migrate`).
public final class PostgresPrivacyLedger: PrivacyLedger, Sendable {
    let session: PostgresSession
    /// Datasets whose last optimistic charge from this ledger met a
    /// concurrent one: their next charges take the row locks first.
    private let contended = Mutex<[String: Int]>([:])
    /// How many charges of a dataset go the locking way after a conflict.
    static let lockingRun = 32
    /// How many busy datasets a ledger remembers at most.
    static let maximumRemembered = 1_000
    private let oneStepAdmissions = Atomic<Int>(0)

    /// How many of this ledger's charges were admitted in one round trip
    /// (``OneStepCharge``); for tests and benchmarks.
    package var chargesAdmittedInOneStep: Int { oneStepAdmissions.load(ordering: .relaxed) }

    /// The redacted store URL.
    public var storeName: String { session.store }

    /// Connects and checks the schema version; throws ``ModelSecStore/StoreError``.
    public init(_ location: PostgresLocation, password: String?) throws {
        session = try PostgresSession.connectCurrent(location, password: password)
    }

    deinit { session.close() }

    /// The dataset columns every read takes: relation, totals, then ``LedgerRules/sumColumns``.
    static let rowColumns = "relation, total_epsilon_nano, total_delta_femto, " + LedgerRules.sumColumns.joined(separator: ", ")

    public func setTotal(dataset: String, budget: PrivacyCost, relation: NeighbouringRelation?) throws {
        let (e, d) = try LedgerRules.total(dataset: dataset, budget: budget)
        try session.serializable(lockKeys: []) { c in
            let t = LedgerRules.now()
            let rows = try await c.query("""
                SELECT relation, charge_count FROM dp_datasets WHERE name = \(dataset) FOR UPDATE
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

    /// The rows of `names` (the datasets with a budget), by name.
    static func rows(_ c: PostgresConnection, names: [String]) async throws -> [String: LedgerRules.DatasetRow] {
        let rows = try await c.query("""
            SELECT name, \(unescaped: rowColumns) FROM dp_datasets WHERE name = ANY(\(names))
            """, logger: PostgresSession.logger)
        var result: [String: LedgerRules.DatasetRow] = [:]
        for try await (name, relation, te, td, n, s1, s2, s3, s4, s5, s6) in rows.decode(
            (String, String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            result[name] = LedgerRules.row(relation: relation, totalEpsilon: te, totalDelta: td, count: n, sums: [s1, s2, s3, s4, s5, s6])
        }
        return result
    }

    public func status(dataset: String) throws -> BudgetStatus {
        guard let row = try session.run({ try await Self.rows($0, names: [dataset])[dataset] }) else { throw DPError.unknownDataset(dataset) }
        return LedgerRules.status(dataset: dataset, row: row)
    }

    public func allStatuses() throws -> [BudgetStatus] {
        try session.run { c in
            let rows = try await c.query("""
                SELECT name, \(unescaped: Self.rowColumns) FROM dp_datasets ORDER BY name COLLATE "C"
                """, logger: PostgresSession.logger)
            var result: [BudgetStatus] = []
            for try await (name, relation, te, td, n, s1, s2, s3, s4, s5, s6) in rows.decode(
                (String, String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
                let row = LedgerRules.row(relation: relation, totalEpsilon: te, totalDelta: td, count: n, sums: [s1, s2, s3, s4, s5, s6])
                result.append(LedgerRules.status(dataset: name, row: row))
            }
            return result
        }
    }

    /// The first dataset whose running sums differ from the sums of its
    /// charges (nil: all agree); `store status` runs it.
    public func runningSumsMismatch() throws -> String? {
        try session.run { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: LedgerRules.sumsMismatch(datasets: "dp_datasets", spends: "dp_spends")),
                                         logger: PostgresSession.logger)
            var name: String?
            for try await value in rows.decode(String.self) { name = value }
            return name
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

    /// One charge's bound values.
    struct Charge: Sendable {
        var requests: [ChargeRequest]
        var amounts: [LedgerRules.Amount]
        var requestID: String?
        var fingerprint: String
        /// The distinct datasets, by their bytes (two names Swift calls equal
        /// are two datasets in the database), sorted.
        var datasets: [String]
    }

    public func charge(_ requests: [ChargeRequest], requestID: String?) throws -> (receipt: ChargeReceipt, replayed: Bool) {
        try session.wait { try await self.charge(requests, requestID: requestID) }
    }

    /// ``charge(_:requestID:)`` for async callers (a server, or many
    /// concurrent charges on few threads): the same transaction, rules and
    /// retries, without a blocked thread per charge. Receipts are
    /// ``DifferentialPrivacy/ChargeReceipt``s as from the blocking call.
    /// A ledger is one connection: concurrent charges on one ledger take
    /// turns; open a ledger per concurrent charger for them to run at once.
    public func charge(_ requests: [ChargeRequest], requestID: String?) async throws -> (receipt: ChargeReceipt, replayed: Bool) {
        if let requestID { try LedgerRules.validate(requestID: requestID) }
        let amounts = try requests.map { try LedgerRules.amount($0) }
        let charge = Charge(requests: requests, amounts: amounts, requestID: requestID,
                            fingerprint: LedgerRules.fingerprint(requests, amounts),
                            datasets: Set(requests.map { ExactString($0.dataset) }).sorted().map(\.string))
        let startLocked = contended.withLock { busy in charge.datasets.contains { (busy[$0] ?? 0) > 0 } }
        let (result, conflicted) = try await session.runAsync { c -> ((receipt: ChargeReceipt, replayed: Bool), Bool) in
            var locking = startLocked, conflicted = false, attempt = 0
            while true {
                attempt += 1
                do {
                    if !locking {
                        do {
                            if let result = try await Self.attempt(c, charge, locked: false) {
                                if result.oneStep { self.oneStepAdmissions.add(1, ordering: .relaxed) }
                                return ((result.receipt, result.replayed), conflicted)
                            }
                        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55P03" {
                            // A row is locked by another charge (NOWAIT): nothing was written.
                        }
                        // Another charge changed or holds a row between the read and the write.
                        conflicted = true
                        locking = true
                        continue
                    }
                    try await c.query("BEGIN", logger: PostgresSession.logger)
                    do {
                        let result = try await Self.attempt(c, charge, locked: true)
                        try await c.query("COMMIT", logger: PostgresSession.logger)
                        if let result { return ((result.receipt, result.replayed), conflicted) }
                    } catch {
                        _ = try? await c.query("ROLLBACK", logger: PostgresSession.logger)
                        throw error
                    }
                } catch {
                    guard Self.isRetryable(error), attempt < PostgresSession.maximumAttempts else {
                        if Self.isRetryable(error) { throw PostgresSession.RetryExhausted(attempts: attempt) }
                        throw error
                    }
                    conflicted = true
                    try await PostgresSession.backoff(attempt: attempt)
                }
            }
        }
        contended.withLock { busy in
            // Bounded: a long-running process charging many datasets forgets them all at once.
            if busy.count > Self.maximumRemembered { busy.removeAll() }
            for name in charge.datasets {
                let left = conflicted ? Self.lockingRun : (busy[name] ?? 0) - 1
                if left > 0 { busy[name] = left } else { busy[name] = nil }
            }
        }
        return result
    }

    /// A charge may be tried again: serialization failure, deadlock, or
    /// the same request id inserted by a concurrent charge (the retry
    /// finds its receipt).
    static func isRetryable(_ error: any Error) -> Bool {
        if PostgresSession.isRetryable(error) { return true }
        guard let error = error as? PSQLError, error.serverInfo?[.sqlState] == "23505" else { return false }
        return error.serverInfo?[.constraintName] == "dp_charge_requests_pkey"
    }

    /// One try: reads the rows (locking them when `locked`, inside the
    /// caller's transaction), decides, and writes if the rows are still
    /// the ones read. Nil: a row changed in between (never when `locked`).
    /// Unlocked, a one-request charge starts with ``OneStepCharge``, which
    /// admits it at once or reads the rows as the plain read does.
    /// Unlocked, every write is its own transaction and never waits for a
    /// row lock (`NOWAIT`: SQLSTATE 55P03 when a row is held), so a charge
    /// whose operation timed out is not committed later by a statement
    /// queued on a dataset's row; every statement that may wait for a row
    /// runs in the locking transaction, which commits only on the client's
    /// COMMIT. (An insert waits for another transaction inserting the same
    /// request id; a retry with that id then replays its receipt.)
    /// Every statement is prepared once per connection.
    static func attempt(_ c: PostgresConnection, _ charge: Charge, locked: Bool) async throws -> Attempt? {
        var rows: [ExactString: LedgerRules.DatasetRow] = [:]
        var found: [(id: Int64, fingerprint: String, time: String)] = []
        func take(_ row: ChargeRead.Row) {
            let (kind, a, b, n1, n2, n, s1, s2, s3, s4, s5, s6) = row
            if kind == "d" {
                rows[ExactString(a)] = LedgerRules.row(relation: b, totalEpsilon: n1, totalDelta: n2, count: n, sums: [s1, s2, s3, s4, s5, s6])
            } else {
                found.append((n1, a, b))
            }
        }
        var admitted: [Int64] = []
        if locked {
            for try await row in try await c.execute(ChargeReadLocking(names: charge.datasets, requestID: charge.requestID),
                                                     logger: PostgresSession.logger) { take(row) }
        } else if let fast = OneStepCharge(charge, time: LedgerRules.now()) {
            for try await row in try await c.execute(fast, logger: PostgresSession.logger) {
                if row.0 == "c" { admitted.append(row.3) } else { take(row) }
            }
            if !admitted.isEmpty {
                return Attempt(receipt: ChargeReceipt(requestID: charge.requestID, charges: admitted, chargedAt: fast.time), replayed: false,
                               oneStep: true)
            }
        } else {
            for try await row in try await c.execute(ChargeRead(names: charge.datasets, requestID: charge.requestID),
                                                     logger: PostgresSession.logger) { take(row) }
        }
        if let requestID = charge.requestID, !found.isEmpty {
            guard found.count == charge.requests.count, found.allSatisfy({ $0.fingerprint == charge.fingerprint }) else {
                throw DPError.requestIDReused(requestID: requestID)
            }
            return Attempt(receipt: ChargeReceipt(requestID: requestID, charges: found.map(\.id), chargedAt: found[0].time), replayed: true)
        }
        let read = rows
        for (request, amount) in zip(charge.requests, charge.amounts) {
            rows[ExactString(request.dataset)] = try LedgerRules.admit(request, amount, row: rows[ExactString(request.dataset)])
        }
        let time = LedgerRules.now()
        if charge.requests.isEmpty { return Attempt(receipt: ChargeReceipt(requestID: charge.requestID, charges: [], chargedAt: time), replayed: false) }
        // The rows the decision was made on (every dataset has one: admit refused the others).
        let write = ChargeWrite(charge: charge, expected: charge.datasets.map { read[ExactString($0)]! }, time: time)
        var ids: [Int64] = []
        if locked {
            for try await id in try await c.execute(ChargeWriteLocked(write: write), logger: PostgresSession.logger) { ids.append(id) }
        } else {
            for try await id in try await c.execute(write, logger: PostgresSession.logger) { ids.append(id) }
        }
        guard ids.count == charge.requests.count else { return nil }
        return Attempt(receipt: ChargeReceipt(requestID: charge.requestID, charges: ids, chargedAt: time), replayed: false)
    }

    /// What a successful try gives.
    struct Attempt {
        var receipt: ChargeReceipt
        var replayed: Bool
        /// Admitted by ``OneStepCharge`` (one round trip).
        var oneStep = false
    }

    public func complete(charge: Int64, outcome: SpendOutcome, dataSHA256: String?, resultSHA256: String?) throws {
        guard outcome == .released || outcome == .failed else { throw DPError.invalidQuery("a charge completes as released or failed") }
        let store = session.store
        try session.run { c in
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
        try session.serializable(lockKeys: []) { c in
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

/// The read of a charge: the datasets' rows (kind `d`: name, relation,
/// totals, count, sums) and the request id's earlier charges (kind `r`:
/// fingerprint, time, charge id, position), in one round trip.
struct ChargeRead: PostgresPreparedStatement {
    static let name = "modelsec_charge_read_v6"
    static let sql = text(lock: "")
    static let bindingDataTypes: [PostgresDataType] = [.textArray, .text]
    typealias Row = (String, String, String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64)
    var names: [String]
    var requestID: String?

    /// Every part is an index lookup whatever the parameters (the plan is
    /// generic): the time of an earlier charge is a correlated primary-key
    /// lookup, as a join let the planner scan every charge.
    static func text(lock: String) -> String {
        """
        WITH d AS (SELECT name, \(PostgresPrivacyLedger.rowColumns) FROM dp_datasets WHERE name = ANY($1) ORDER BY name\(lock))
        SELECT 'd', name, relation, total_epsilon_nano, total_delta_femto, \(LedgerRules.sumColumns.joined(separator: ", ")) FROM d
        UNION ALL
        SELECT 'r', r.fingerprint, (SELECT s.created_at FROM dp_spends s WHERE s.id = r.spend_id), r.spend_id, r.position::BIGINT,
               0, 0, 0, 0, 0, 0, 0
        FROM dp_charge_requests r WHERE r.request_id = $2
        ORDER BY 1, 5
        """
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 2)
        b.append(names)
        b.append(requestID)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The first try of a one-request charge, in one round trip: when the
/// charge fits the dataset's budget under basic composition (integer sums,
/// no overflow), the relation matches and the request id has no earlier
/// charge, the statement locks the row (`NOWAIT`), inserts the charge and
/// its request row, and returns the new id (kind `c`). Otherwise it writes
/// nothing and returns what ``ChargeRead`` returns (the dataset's row, the
/// request id's earlier charges), and the charge is decided in Swift as
/// usual.
///
/// This admits only charges ``DifferentialPrivacy/LedgerRules/admit(_:_:row:)``
/// admits: basic composition fitting is one of the two ways its `fits`
/// accepts, and every refusal (unknown dataset, other relation, a budget
/// that only the zCDP total fits or that nothing fits, a reused request id)
/// is left to Swift, which gives the same receipt or the same error as
/// without this statement. The row's latest committed version is the one
/// checked (PostgreSQL re-evaluates a locking read's conditions on the
/// newest row version), and the lock is held until the statement's commit,
/// so a concurrent charge cannot slip in between the check and the insert.
struct OneStepCharge: PostgresPreparedStatement {
    static let name = "modelsec_charge_one_step_v7"
    static let sql = """
        WITH prior AS (
            SELECT r.fingerprint, r.spend_id, r.position, (SELECT s.created_at FROM dp_spends s WHERE s.id = r.spend_id) AS created_at
            FROM dp_charge_requests r WHERE r.request_id = $2
        ), fits AS (
            SELECT name FROM dp_datasets
            WHERE name = $1 AND relation = $3 AND NOT EXISTS (SELECT 1 FROM prior)
              AND sum_pure_epsilon_nano::NUMERIC + sum_approximate_epsilon_nano + sum_zcdp_epsilon_nano + $4 <= total_epsilon_nano
              AND sum_approximate_delta_femto::NUMERIC + sum_zcdp_delta_femto + $5 <= total_delta_femto
              AND ($6::BIGINT IS NULL OR sum_rho_femto::NUMERIC + $6 <= 9223372036854775807)
            FOR UPDATE NOWAIT
        ), spent AS (
            INSERT INTO dp_spends (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at, outcome)
            SELECT name, $3, $4, $5, $6, $7, $8, $9, 'charged' FROM fits
            RETURNING id
        ), requested AS (
            INSERT INTO dp_charge_requests (request_id, position, spend_id, fingerprint)
            SELECT $2, 0, id, $10 FROM spent WHERE $2::TEXT IS NOT NULL
        )
        SELECT 'c', '', '', id, 0::BIGINT, 0::BIGINT, 0::BIGINT, 0::BIGINT, 0::BIGINT, 0::BIGINT, 0::BIGINT, 0::BIGINT FROM spent
        UNION ALL
        SELECT 'd', name, \(PostgresPrivacyLedger.rowColumns) FROM dp_datasets WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM spent)
        UNION ALL
        SELECT 'r', fingerprint, created_at, spend_id, position::BIGINT, 0, 0, 0, 0, 0, 0, 0 FROM prior
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .text, .int8, .int8, .int8, .text, .text, .text, .text]
    typealias Row = ChargeRead.Row
    let request: ChargeRequest
    let amount: LedgerRules.Amount
    let requestID: String?
    let fingerprint: String
    /// The charge's time, as stored and as the receipt gives it.
    let time: String

    /// The statement for `charge`, nil unless it is one request.
    init?(_ charge: PostgresPrivacyLedger.Charge, time: String) {
        guard charge.requests.count == 1 else { return nil }
        request = charge.requests[0]
        amount = charge.amounts[0]
        requestID = charge.requestID
        fingerprint = charge.fingerprint
        self.time = time
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 10)
        b.append(request.dataset)
        b.append(requestID)
        b.append(request.relation.rawValue)
        b.append(amount.epsilon)
        b.append(amount.delta)
        b.append(amount.rho)
        b.append(request.mechanism)
        b.append(request.parameters)
        b.append(time)
        b.append(fingerprint)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// ``ChargeRead`` taking the rows' locks (inside the locking transaction).
struct ChargeReadLocking: PostgresPreparedStatement {
    static let name = "modelsec_charge_read_locking_v6"
    static let sql = ChargeRead.text(lock: " FOR UPDATE")
    static let bindingDataTypes = ChargeRead.bindingDataTypes
    typealias Row = ChargeRead.Row
    var names: [String]
    var requestID: String?

    func makeBindings() throws -> PostgresBindings { try ChargeRead(names: names, requestID: requestID).makeBindings() }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The write of a charge, one statement: locks the dataset rows (sorted,
/// `NOWAIT`), checks each is still the row the decision was made on, and
/// only then inserts the charges (in request order) and request rows;
/// returns the new charge ids, none when a row changed.
struct ChargeWrite: PostgresPreparedStatement {
    static let name = "modelsec_charge_write_v6"
    static let sql = text(wait: false)
    static let bindingDataTypes: [PostgresDataType] = [.textArray, .textArray, .int8Array, .int8Array, .int8Array,
                                                       .textArray, .textArray, .int8Array, .int8Array, .int8Array, .textArray, .textArray,
                                                       .text, .int8, .text, .text]
    typealias Row = Int64
    var charge: PostgresPrivacyLedger.Charge
    var expected: [LedgerRules.DatasetRow]
    var time: String

    static func text(wait: Bool) -> String {
        """
        WITH expected AS (
            SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[]) AS e(name, relation, te, td, n)
        ), locked AS (
            SELECT d.name FROM dp_datasets d JOIN expected e ON e.name = d.name
            WHERE d.name = ANY($1::TEXT[]) AND d.relation = e.relation AND d.total_epsilon_nano = e.te AND d.total_delta_femto = e.td AND d.charge_count = e.n
            ORDER BY d.name FOR UPDATE OF d\(wait ? "" : " NOWAIT")
        ), spent AS (
            INSERT INTO dp_spends (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at, outcome)
            SELECT c.dataset, c.relation, c.e, c.d, NULLIF(c.r, -1), c.m, c.p, $13, 'charged'
            FROM unnest($6::TEXT[], $7::TEXT[], $8::BIGINT[], $9::BIGINT[], $10::BIGINT[], $11::TEXT[], $12::TEXT[])
                 WITH ORDINALITY AS c(dataset, relation, e, d, r, m, p, ord)
            WHERE (SELECT count(*) FROM locked) = $14
            ORDER BY c.ord
            RETURNING id
        ), requested AS (
            INSERT INTO dp_charge_requests (request_id, position, spend_id, fingerprint)
            SELECT $15, (row_number() OVER (ORDER BY id) - 1)::INTEGER, id, $16
            FROM spent WHERE $15::TEXT IS NOT NULL
        )
        SELECT id FROM spent ORDER BY id
        """
    }

    func makeBindings() throws -> PostgresBindings {
        let r = charge.requests, a = charge.amounts
        var b = PostgresBindings(capacity: 16)
        b.append(charge.datasets)
        b.append(expected.map(\.relation.rawValue))
        b.append(expected.map(\.totalEpsilon))
        b.append(expected.map(\.totalDelta))
        b.append(expected.map { Int64($0.count) })
        b.append(r.map(\.dataset))
        b.append(r.map(\.relation.rawValue))
        b.append(a.map(\.epsilon))
        b.append(a.map(\.delta))
        b.append(a.map { $0.rho ?? -1 })
        b.append(r.map(\.mechanism))
        b.append(r.map(\.parameters))
        b.append(time)
        b.append(Int64(charge.datasets.count))
        b.append(charge.requestID)
        b.append(charge.fingerprint)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64.self) }
}

/// ``ChargeWrite`` inside the locking transaction (it already holds the
/// rows, so it may wait).
struct ChargeWriteLocked: PostgresPreparedStatement {
    static let name = "modelsec_charge_write_locked_v6"
    static let sql = ChargeWrite.text(wait: true)
    static let bindingDataTypes = ChargeWrite.bindingDataTypes
    typealias Row = Int64
    var write: ChargeWrite

    func makeBindings() throws -> PostgresBindings { try write.makeBindings() }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64.self) }
}
