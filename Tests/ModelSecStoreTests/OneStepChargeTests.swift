import DifferentialPrivacy
import Foundation
import ModelSecStore
@testable import ModelSecStorePostgres
import PostgresNIO
import TestSupport
import XCTest

/// PostgreSQL admits a one-request charge that fits under basic composition
/// in one statement (`OneStepCharge`); every other decision is Swift's.
/// These tests hold that shortcut to the rules: it must never admit what
/// SQLite (which always decides in Swift) refuses, must be what admits the
/// plain charges, and must leave the rest to Swift.
final class OneStepChargeTests: StoreEngineTestCase {
    func request(_ dataset: String, _ epsilon: Double, delta: Double = 0, rho: Double? = nil,
                 relation: NeighbouringRelation = .addRemove) -> ChargeRequest {
        ChargeRequest(dataset: dataset, cost: PrivacyCost(epsilon: epsilon, delta: delta, rho: rho), relation: relation,
                      mechanism: "gaussian", parameters: "{}")
    }

    /// A charge sequence built around each budget's edge (exactly the
    /// remaining budget, one ledger unit more, zCDP charges that only the
    /// zCDP total admits, other relations, unknown datasets, replays),
    /// run on both engines: the same outcome at every step and the same
    /// statuses and charges at the end.
    func testChargesAtTheBudgetEdgesAgreeOnBothEngines() throws {
        var outcomes: [String: [String]] = [:]
        var finals: [String: [String]] = [:]
        var oneStep = 0
        for engine in try engines() {
            let ledger = try engine.open()
            var generator = SplitMix64(seed: 0x5EED_0F_1ED6E5)
            var seen: [String] = []
            try ledger.setTotal(dataset: "pure", budget: PrivacyCost(epsilon: 1), relation: nil)
            try ledger.setTotal(dataset: "approx", budget: PrivacyCost(epsilon: 2, delta: 1e-5), relation: nil)
            try ledger.setTotal(dataset: "zcdp", budget: PrivacyCost(epsilon: 3, delta: 1e-6), relation: .replaceOne)
            var lastWithID: ([ChargeRequest], String)?
            func attempt(_ requests: [ChargeRequest], id: String?) {
                do {
                    let r = try ledger.charge(requests, requestID: id)
                    if let id { lastWithID = (requests, id) }
                    seen.append("ok \(r.receipt.charges) replayed=\(r.replayed)")
                } catch { seen.append(code(error)) }
            }
            // A second rho this large would overflow the rho sum (a signed 64-bit count of 1e-15).
            try ledger.setTotal(dataset: "rho", budget: PrivacyCost(epsilon: 10, delta: 1e-6), relation: nil)
            attempt([request("rho", 0.001, delta: 1e-9, rho: 5000)], id: "rho-1")
            attempt([request("rho", 0.001, delta: 1e-9, rho: 5000)], id: "rho-2")
            for step in 0..<240 {
                let remaining = try ledger.allStatuses().reduce(into: [String: PrivacyCost]()) { $0[$1.dataset] = $1.remaining }
                let id = step % 3 == 0 ? nil : "req-\(step)"
                switch generator.next() % 9 {
                case 0: // exactly what is left, in ledger units (1e-9)
                    attempt([request("pure", remaining["pure"]!.epsilon)], id: id)
                case 1: // one epsilon unit more than is left
                    attempt([request("pure", remaining["pure"]!.epsilon + 1e-9)], id: id)
                case 2: // a small approximate charge, sometimes the exact rest of delta
                    let left = remaining["approx"]!.delta
                    let delta = [1e-7, left, left + 1e-15][Int(generator.next() % 3)]
                    attempt([request("approx", 0.01 * Double(generator.next() % 30), delta: delta)], id: id)
                case 3, 4: // zCDP: basic composition runs out long before the zCDP total
                    attempt([request("zcdp", 0.25, delta: 1e-8, rho: 0.0004 * Double(1 + generator.next() % 4), relation: .replaceOne)], id: id)
                case 5: // the wrong relation, or no such dataset
                    attempt([request(generator.next() % 2 == 0 ? "pure" : "missing", 0.001, relation: .replaceOne)], id: id)
                case 6: // a replay: the last charge made with an id again, or another charge under an earlier id
                    if generator.next() % 2 == 0, let (requests, earlier) = lastWithID {
                        attempt(requests, id: earlier)
                    } else {
                        attempt([request("pure", 0.001)], id: "req-\(max(1, step - 1 - Int(generator.next() % 6)))")
                    }
                case 7: // two requests in one charge (decided in Swift)
                    attempt([request("approx", 0.01, delta: 1e-8), request("pure", 0.002)], id: id)
                default: // a small pure charge
                    attempt([request("pure", 0.001 * Double(generator.next() % 20))], id: id)
                }
            }
            outcomes[engine.name] = seen
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            finals[engine.name] = [String(decoding: try encoder.encode(try ledger.allStatuses()), as: UTF8.self)]
                + (try ["pure", "approx", "zcdp", "rho"].flatMap { d in try ledger.spends(dataset: d).map { "\($0.id) \($0.dataset) \($0.cost) \($0.outcome)" } })
            if let pg = ledger as? PostgresPrivacyLedger { oneStep = pg.chargesAdmittedInOneStep }
        }
        let sqlite = try XCTUnwrap(outcomes["sqlite"]), postgres = try XCTUnwrap(outcomes["postgres"])
        for (i, (a, b)) in zip(sqlite, postgres).enumerated() where a != b { XCTFail("step \(i): sqlite \(a), postgres \(b)") }
        XCTAssertEqual(sqlite.count, postgres.count)
        XCTAssertEqual(finals["sqlite"], finals["postgres"])
        // The sequence exercises every kind of outcome, and both ways of admitting.
        print("outcomes:", Dictionary(sqlite.map { ($0.hasPrefix("ok") ? String($0.suffix(14)) : $0, 1) }, uniquingKeysWith: +), "one step:", oneStep)
        let admitted = sqlite.filter { $0.hasPrefix("ok") && $0.hasSuffix("replayed=false") }.count
        XCTAssertEqual(Array(sqlite.prefix(2)), ["ok [1] replayed=false", "dp.budget-exceeded"])
        XCTAssertTrue(sqlite.contains("dp.relation-mismatch") && sqlite.contains("dp.unknown-dataset") && sqlite.contains("dp.request-id-reused"))
        XCTAssertTrue(sqlite.contains { $0.hasSuffix("replayed=true") })
        XCTAssertGreaterThan(oneStep, admitted / 3, "most single charges should be admitted in one statement")
        XCTAssertLessThan(oneStep, admitted, "multi-request and zCDP-only admissions are decided in Swift")
    }

    /// Plain one-request charges are admitted in one statement, replays and
    /// multi-request charges are not, and a row held by another transaction
    /// sends the charge the locking way (it is seen waiting for the row's
    /// lock, and succeeds once the holder is gone).
    func testPlainChargesTakeOneStatementAndLockedRowsWait() throws {
        let pg = try cluster()
        let engine = try engines().first { $0.name == "postgres" }!
        let ledger = try XCTUnwrap(try engine.open() as? PostgresPrivacyLedger)
        try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 10), relation: nil)
        var receipts: [ChargeReceipt] = []
        for i in 0..<20 { receipts.append(try ledger.charge([request("d", 0.1)], requestID: "one-\(i)").receipt) }
        XCTAssertEqual(ledger.chargesAdmittedInOneStep, 20)
        let again = try ledger.charge([request("d", 0.1)], requestID: "one-3")
        XCTAssertTrue(again.replayed)
        XCTAssertEqual(again.receipt, receipts[3])
        _ = try ledger.charge([request("d", 0.1), request("d", 0.1)], requestID: "two")
        XCTAssertEqual(ledger.chargesAdmittedInOneStep, 20)
        XCTAssertEqual(try ledger.status(dataset: "d").releases, 22)

        // Another session holds the dataset's row (for up to 60 s): NOWAIT refuses the
        // one-step lock, and the charge queues in the locking transaction. The holder is
        // ended only once the charge is seen waiting for the row's lock (not after a fixed
        // time: on 2 busy cores the charge can take any time to get there).
        let database = String(engine.url.split(separator: "/").last!.split(separator: "?").first!)
        let holder = try holdDatasetRow("d", database: database, sleep: "60", cluster: pg).process
        defer { if holder.isRunning { holder.terminate() }; holder.waitUntilExit() }
        let late = Locked<(result: Result<(receipt: ChargeReceipt, replayed: Bool), any Error>, ended: Date)?>(nil)
        let charged = DispatchSemaphore(value: 0)
        let lateRequest = request("d", 0.1)
        Thread {
            let result = Result { try ledger.charge([lateRequest], requestID: "late") }
            late.withLock { $0 = (result, Date()) }
            charged.signal()
        }.start()
        let waitingForLock = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            + "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        var waiting = false
        let deadline = Date().addingTimeInterval(60)
        while !waiting, Date() < deadline, late.withLock({ $0 == nil }) {
            waiting = ((try? pg.psql(waitingForLock, database: database)).flatMap { Int($0) } ?? 0) > 0
            if !waiting { usleep(20_000) }
        }
        XCTAssertTrue(waiting, "the late charge was never seen waiting for the row's lock")
        // Up to here the row was held (the holder sleeps 60 s): a charge that ends after this waited.
        let released = Date()
        let terminated = try pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                                     + "AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()", database: database)
        XCTAssertEqual(terminated, "t", "the holding session was ended")
        XCTAssertEqual(charged.wait(timeout: .now() + 60), .success, "the late charge did not end once the row was free")
        let (result, ended) = try XCTUnwrap(late.withLock { $0 })
        XCTAssertFalse(try result.get().replayed)
        XCTAssertGreaterThanOrEqual(ended.timeIntervalSince1970, released.timeIntervalSince1970,
                                    "the charge waited for the row: it ended \(released.timeIntervalSince(ended)) s before the row was released")
        XCTAssertEqual(ledger.chargesAdmittedInOneStep, 20)
        XCTAssertEqual(try ledger.status(dataset: "d").releases, 23)
    }

    /// Two dataset names Swift calls equal (canonically equivalent: K and
    /// KELVIN SIGN) are two datasets with two budgets: a charge to one is
    /// never checked against the other's budget, alone or in one charge with
    /// the other (review11 #1: both engines admitted 5.0 against a budget of 1).
    func testCanonicallyEquivalentDatasetNamesAreTwoBudgets() throws {
        let plain = "Kids", kelvin = "\u{212A}ids"
        XCTAssertEqual(plain, kelvin, "the premise: Swift's == calls them equal")
        for engine in try engines() {
            let ledger = try engine.open()
            try ledger.setTotal(dataset: plain, budget: PrivacyCost(epsilon: 1), relation: nil)
            try ledger.setTotal(dataset: kelvin, budget: PrivacyCost(epsilon: 100), relation: nil)
            XCTAssertThrowsError(try ledger.charge([request(kelvin, 0.1), request(plain, 5)], requestID: "mixed"), engine.name) {
                XCTAssertEqual(code($0), "dp.budget-exceeded", engine.name)
            }
            XCTAssertThrowsError(try ledger.charge([request(plain, 5)], requestID: "plain"), engine.name) {
                XCTAssertEqual(code($0), "dp.budget-exceeded", engine.name)
            }
            _ = try ledger.charge([request(kelvin, 5), request(plain, 0.5)], requestID: "both")
            let byName = Dictionary(try ledger.allStatuses().map { (Array($0.dataset.utf8), $0) }) { a, _ in a }
            XCTAssertEqual(byName[Array(plain.utf8)]?.spent.epsilon ?? -1, 0.5, accuracy: 1e-12, engine.name)
            XCTAssertEqual(byName[Array(kelvin.utf8)]?.spent.epsilon ?? -1, 5, accuracy: 1e-12, engine.name)
        }
    }

    /// A deferrable trigger on the ledger's tables would run at commit, after
    /// a charge's rows were read and its receipt given: such a store is
    /// refused when the ledger connects (review11 #2).
    func testADeferrableTriggerOnTheLedgerIsRefused() throws {
        let pg = try cluster()
        let engine = try engines().first { $0.name == "postgres" }!
        _ = try engine.open()
        try engine.sql("""
            CREATE FUNCTION late_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER late AFTER INSERT ON dp_spends DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION late_check();
            """, cluster: pg)
        XCTAssertThrowsError(try engine.open()) { error in
            XCTAssertEqual(code(error), "store.schema-altered")
            XCTAssertTrue("\(error)".contains("late"), "\(error)")
        }
    }

    /// The ledger's sessions run READ COMMITTED even when the database's
    /// default is SERIALIZABLE (review11 #2: under SERIALIZABLE a commit can
    /// fail after the statement's rows were read).
    func testSessionsRunReadCommittedWhateverTheDatabaseDefault() throws {
        let pg = try cluster()
        let engine = try engines().first { $0.name == "postgres" }!
        let database = String(engine.url.split(separator: "/").last!.split(separator: "?").first!)
        try pg.psql("ALTER DATABASE \(database) SET default_transaction_isolation = 'serializable'")
        XCTAssertEqual(try pg.psql("SHOW default_transaction_isolation", database: database), "serializable")
        let ledger = try XCTUnwrap(try engine.open() as? PostgresPrivacyLedger)
        let level = try ledger.session.run { c in
            var value = ""
            for try await v in try await c.query("SHOW transaction_isolation", logger: PostgresSession.logger).decode(String.self) { value = v }
            return value
        }
        XCTAssertEqual(level, "read committed")
    }
}
