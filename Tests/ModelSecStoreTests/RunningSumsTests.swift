@testable import DifferentialPrivacy
import Foundation
import GRDB
import ModelSecStore
@testable import ModelSecStorePostgres
import TestSupport
import XCTest

/// Schema version 6: each dataset's running sums, kept by a trigger on
/// both engines, filled from the existing charges on upgrade, checked by
/// `store status`, and right under concurrent multi-dataset charges.
final class RunningSumsTests: StoreEngineTestCase {
    /// One charge of each kind (pure, approximate, zCDP) on `d`, plus one on `e`.
    static let v4Rows = [
        "INSERT INTO %D (name, relation, total_epsilon_nano, total_delta_femto, created_at, updated_at) VALUES ('d', 'add-remove', 3000000000, 1000000000, 't', 't')",
        "INSERT INTO %D (name, relation, total_epsilon_nano, total_delta_femto, created_at, updated_at) VALUES ('e', 'replace-one', 1000000000, 0, 't', 't')",
        "INSERT INTO %S (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at, outcome) VALUES ('d', 'add-remove', 250000000, 0, NULL, 'm', '{}', 't', 'charged')",
        "INSERT INTO %S (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at, outcome) VALUES ('d', 'add-remove', 100000000, 100000, NULL, 'm', '{}', 't', 'failed')",
        "INSERT INTO %S (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at, outcome) VALUES ('d', 'add-remove', 500000000, 200000, 5000000000000, 'm', '{}', 't', 'charged')",
        "INSERT INTO %S (dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters, created_at, outcome) VALUES ('e', 'replace-one', 400000000, 0, NULL, 'm', '{}', 't', 'charged')",
    ]

    static func rows(datasets: String, spends: String) -> [String] {
        v4Rows.map { $0.replacingOccurrences(of: "%D", with: datasets).replacingOccurrences(of: "%S", with: spends) }
    }

    /// A version 4 store of each engine holding the same charges.
    func version4Stores() throws -> [StoreEngine] {
        let pg = try cluster()
        let stores = try emptyEngines()
        let path = String(stores[0].url.dropFirst("sqlite:".count))
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try LedgerSchema.create(db, statements: LedgerSchema.version4Statements, version: 4)
            for statement in Self.rows(datasets: "datasets", spends: "spends") { try db.execute(sql: statement) }
        }
        try queue.close()
        try stores[1].sql((PostgresSchema.version4 + ["INSERT INTO modelsec_schema (id, version, migrated_at) VALUES (1, 4, 't')"]
                           + Self.rows(datasets: "dp_datasets", spends: "dp_spends")).joined(separator: ";\n"), cluster: pg)
        return stores
    }

    /// Migrating a version 4 store sums its existing charges into the new
    /// columns: the statuses are those the charges give, on both engines.
    func testUpgradeFromVersion4FillsTheSumsFromTheCharges() throws {
        var statuses: [String: [BudgetStatus]] = [:]
        for engine in try version4Stores() {
            let r = try TestSupport.modelsec(["store", "migrate", "--store", engine.url, "--json"], environment: engine.environment)
            XCTAssertEqual(r.status, 0, "\(engine.name): \(r.stderrText)")
            let object = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
            XCTAssertEqual(object?["fromVersion"] as? Int, 4, engine.name)
            XCTAssertEqual(object?["toVersion"] as? Int, 7, engine.name)
            let status = try TestSupport.modelsec(["store", "status", "--store", engine.url, "--json"], environment: engine.environment)
            XCTAssertEqual(status.status, 0, "\(engine.name): \(status.stderrText)")
            let ledger = try engine.open()
            let d = try ledger.status(dataset: "d")
            XCTAssertEqual(d.releases, 3, engine.name)
            XCTAssertEqual(d.accounting.pureEpsilon, 0.25, accuracy: 1e-12, engine.name)
            XCTAssertEqual(d.accounting.approximateEpsilon, 0.1, accuracy: 1e-12, engine.name)
            XCTAssertEqual(d.accounting.approximateDelta, 1e-10, accuracy: 1e-22, engine.name)
            XCTAssertEqual(d.accounting.rho, 0.005, accuracy: 1e-15, engine.name)
            XCTAssertEqual(d.accounting.zcdpAsEpsilonDelta.epsilon, 0.5, accuracy: 1e-12, engine.name)
            XCTAssertEqual(try ledger.status(dataset: "e").spent.epsilon, 0.4, accuracy: 1e-12, engine.name)
            // The next charge is decided on the filled sums: 0.6 of e's 1.0 is left.
            XCTAssertThrowsError(try ledger.charge([ChargeRequest(dataset: "e", cost: PrivacyCost(epsilon: 0.7), relation: .replaceOne,
                                                                  mechanism: "m", parameters: "{}")]), engine.name)
            XCTAssertNoThrow(try ledger.charge([ChargeRequest(dataset: "e", cost: PrivacyCost(epsilon: 0.6), relation: .replaceOne,
                                                              mechanism: "m", parameters: "{}")]), engine.name)
            XCTAssertEqual(try ledger.status(dataset: "e").releases, 2, engine.name)
            statuses[engine.name] = try ledger.allStatuses()
        }
        XCTAssertEqual(statuses["sqlite"], statuses["postgres"])
    }

    /// Sums that no longer match the charges (written around the ledger)
    /// make `store status` fail naming the dataset; on PostgreSQL the sums
    /// cannot even be updated directly while the guarding trigger is on.
    func testStatusRefusesSumsThatDisagreeWithTheCharges() throws {
        let pg = try cluster()
        for engine in try engines() {
            let ledger = try engine.open()
            try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1), relation: nil)
            _ = try ledger.charge([ChargeRequest(dataset: "d", cost: PrivacyCost(epsilon: 0.5), relation: .addRemove, mechanism: "m", parameters: "{}")])
            var r = try TestSupport.modelsec(["store", "status", "--store", engine.url, "--json"], environment: engine.environment)
            XCTAssertEqual(r.status, 0, "\(engine.name): \(r.stderrText)")
            if engine.name == "sqlite" {
                try engine.sql("UPDATE datasets SET sum_pure_epsilon_nano = 0", cluster: nil)
            } else {
                XCTAssertThrowsError(try engine.sql("UPDATE dp_datasets SET sum_pure_epsilon_nano = 0", cluster: pg))
                XCTAssertEqual(try ledger.status(dataset: "d").spent.epsilon, 0.5, accuracy: 1e-12)
                // Only with every trigger off for the session (a superuser) can they be changed.
                try engine.sql("SET session_replication_role = replica; UPDATE dp_datasets SET sum_pure_epsilon_nano = 0", cluster: pg)
            }
            r = try TestSupport.modelsec(["store", "status", "--store", engine.url, "--json"], environment: engine.environment)
            XCTAssertEqual(r.status, 2, "\(engine.name): \(r.stdoutText)")
            XCTAssertEqual(errorCode(r), "store.schema-altered", engine.name)
            XCTAssertTrue(r.stderrText.contains("running sums of dataset \"d\""), r.stderrText)
        }
    }

    /// The PostgreSQL triggers that keep the sums must be present and enabled.
    func testDisabledSumsTriggerIsRefused() throws {
        let pg = try cluster()
        let engine = try engines()[1]
        try engine.sql("ALTER TABLE dp_spends DISABLE TRIGGER dp_spends_add_to_sums", cluster: pg)
        XCTAssertThrowsError(try engine.open()) { XCTAssertEqual(self.code($0), "store.schema-altered") }
    }

    /// A charge's time is ISO 8601 UTC with milliseconds, as ISO8601DateFormatter writes it,
    /// and is the time it was taken: between the clock read just before and just after, to the
    /// millisecond (exact whatever the machine's speed: no bound on how long the call takes).
    func testChargeTimeIsISO8601WithMilliseconds() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for _ in 0..<50 {
            let before = Date()
            let text = LedgerRules.now()
            let after = Date()
            XCTAssertNotNil(text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression), text)
            let parsed = try XCTUnwrap(formatter.date(from: text), text)
            // Milliseconds cut off: up to 1 ms before `before`; 0.1 ms slack for the parser's floating point.
            XCTAssertGreaterThanOrEqual(parsed.timeIntervalSince(before), -0.0011, "\(text) taken after \(before.timeIntervalSince1970)")
            XCTAssertLessThanOrEqual(parsed.timeIntervalSince(after), 0.0001, "\(text) taken before \(after.timeIntervalSince1970)")
            XCTAssertEqual(formatter.string(from: parsed), text)
        }
    }

    /// Threads with their own connections charge requests spanning two
    /// datasets (in either order) and single datasets at once: never over
    /// budget, all-or-nothing, and the sums equal the charges after.
    func testConcurrentMultiDatasetChargesKeepTheSumsExact() throws {
        for engine in try engines() {
            let setup = try engine.open()
            try setup.setTotal(dataset: "a", budget: PrivacyCost(epsilon: 2), relation: nil)
            try setup.setTotal(dataset: "b", budget: PrivacyCost(epsilon: 3), relation: nil)
            let results = Locked<[String: Int]>([:])
            let group = DispatchGroup()
            // All opened before any thread starts: opening sets PGPASSWORD, which threads must not race on.
            let ledgers = try (0..<8).map { _ in try engine.open() }
            for client in 0..<8 {
                group.enter()
                nonisolated(unsafe) let ledger = ledgers[client]
                Thread {
                    defer { group.leave() }
                    for i in 0..<12 {
                        let a = ChargeRequest(dataset: "a", cost: PrivacyCost(epsilon: 0.1), relation: .addRemove, mechanism: "m", parameters: "{}")
                        let b = ChargeRequest(dataset: "b", cost: PrivacyCost(epsilon: 0.1), relation: .addRemove, mechanism: "m", parameters: "{}")
                        let requests = [[a, b], [b, a], [b]][(client + i) % 3]
                        let key: String
                        do {
                            _ = try ledger.charge(requests, requestID: "c\(client)-\(i)")
                            key = requests.count == 2 ? "both" : "b"
                        } catch {
                            if case .budgetExceeded? = error as? DPError { key = "refused" } else { key = "error \(error)" }
                        }
                        results.withLock { $0[key, default: 0] += 1 }
                    }
                }.start()
            }
            XCTAssertEqual(group.wait(timeout: .now() + 300), .success, engine.name)
            let counts = results.withLock { $0 }
            XCTAssertTrue(counts.keys.allSatisfy { !$0.hasPrefix("error") }, "\(engine.name): \(counts)")
            let both = counts["both"] ?? 0, onlyB = counts["b"] ?? 0
            let ledger = try engine.open()
            let statusA = try ledger.status(dataset: "a"), statusB = try ledger.status(dataset: "b")
            XCTAssertEqual(statusA.releases, both, engine.name)
            XCTAssertEqual(statusB.releases, both + onlyB, engine.name)
            XCTAssertEqual(try ledger.spends(dataset: "a").count, both, engine.name)
            XCTAssertEqual(try ledger.spends(dataset: "b").count, both + onlyB, engine.name)
            // 96 attempts for 30 places on b: b fills exactly; a never passes its 20.
            XCTAssertEqual(statusB.spent.epsilon, 3.0, accuracy: 1e-12, "\(engine.name): \(counts)")
            XCTAssertEqual(both + onlyB, 30, "\(engine.name): \(counts)")
            XCTAssertLessThanOrEqual(both, 20, "\(engine.name): \(counts)")
            XCTAssertEqual(statusA.spent.epsilon, Double(both) * 0.1, accuracy: 1e-12, "\(engine.name): \(counts)")
            XCTAssertEqual(both + onlyB + (counts["refused"] ?? 0), 96, "\(engine.name): \(counts)")
            let r = try TestSupport.modelsec(["store", "status", "--store", engine.url, "--json"], environment: engine.environment)
            XCTAssertEqual(r.status, 0, "\(engine.name): \(r.stderrText)")
        }
    }
}
