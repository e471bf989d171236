import DifferentialPrivacy
import Foundation
import ModelSecStore
import ModelSecStorePostgres
import TestSupport
import XCTest

/// The privacy ledger on both engines (SQLite and a real PostgreSQL): one
/// suite, identical expectations, error cases included.
final class LedgerEngineTests: StoreEngineTestCase {
    func request(_ dataset: String, _ epsilon: Double, delta: Double = 0, rho: Double? = nil,
                 relation: NeighbouringRelation = .addRemove, parameters: String = "{}") -> ChargeRequest {
        ChargeRequest(dataset: dataset, cost: PrivacyCost(epsilon: epsilon, delta: delta, rho: rho), relation: relation,
                      mechanism: "discrete-laplace", parameters: parameters)
    }

    /// Strips what legitimately differs between stores (times).
    func comparable(_ records: [SpendRecord]) -> [String] {
        records.map { "\($0.id) \($0.dataset) \($0.relation) \($0.cost) \($0.mechanism) \($0.parameters) \($0.outcome) \($0.dataSHA256 ?? "-") \($0.resultSHA256 ?? "-")" }
    }

    func testBudgetsChargesAndStatusAreIdenticalOnBothEngines() throws {
        var results: [String: [String]] = [:]
        for engine in try engines() {
            let ledger = try engine.open()
            try ledger.setTotal(dataset: "train", budget: PrivacyCost(epsilon: 2, delta: 1e-6), relation: nil)
            try ledger.setTotal(dataset: "survey", budget: PrivacyCost(epsilon: 1), relation: .replaceOne)
            let a = try ledger.charge(request("train", 0.5))
            let b = try ledger.charge([request("train", 0.25, delta: 1e-7, rho: 0.01), request("train", 0.1)])
            try ledger.complete(charge: a, outcome: .released, dataSHA256: String(repeating: "a", count: 64), resultSHA256: String(repeating: "b", count: 64))
            try ledger.complete(charge: b[0], outcome: .failed, dataSHA256: nil, resultSHA256: nil)
            _ = try ledger.charge(request("survey", 0.3, relation: .replaceOne))
            let statuses = try ledger.allStatuses()
            XCTAssertEqual(statuses.map(\.dataset), ["survey", "train"], engine.name)
            XCTAssertEqual(statuses[1].releases, 3, engine.name)
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            results[engine.name] = [String(decoding: try encoder.encode(statuses), as: UTF8.self)] + comparable(try ledger.spends(dataset: "train"))
        }
        XCTAssertEqual(results["sqlite"], results["postgres"])
    }

    func testRefusalsAreTheSameOnBothEngines() throws {
        var codes: [String: [String]] = [:]
        for engine in try engines() {
            let ledger = try engine.open()
            var seen: [String] = []
            func expect(_ body: () throws -> Void) { do { try body(); seen.append("no error") } catch { seen.append(code(error)) } }
            try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1), relation: nil)
            let id = try ledger.charge(request("d", 0.6))
            expect { _ = try ledger.charge(self.request("d", 0.5)) }                                   // over budget
            expect { _ = try ledger.charge(self.request("nope", 0.1)) }                                // unknown dataset
            expect { _ = try ledger.charge(self.request("d", 0.1, relation: .replaceOne)) }            // relation
            expect { try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1), relation: .replaceOne) }
            expect { try ledger.setTotal(dataset: "", budget: PrivacyCost(epsilon: 1), relation: nil) }
            expect { try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1, delta: 1), relation: nil) }
            expect { _ = try ledger.charge([self.request("d", 0.3), self.request("d", 0.3)]) }         // batch all-or-nothing
            expect { try ledger.complete(charge: id, outcome: .released, dataSHA256: nil, resultSHA256: String(repeating: "c", count: 64)) }
            expect { try ledger.complete(charge: id, outcome: .failed, dataSHA256: nil, resultSHA256: nil) }   // completed once
            expect { try ledger.complete(charge: 9999, outcome: .failed, dataSHA256: nil, resultSHA256: nil) }
            expect { _ = try ledger.status(dataset: "nope") }
            XCTAssertEqual(try ledger.status(dataset: "d").releases, 1, engine.name)
            codes[engine.name] = seen
        }
        XCTAssertEqual(codes["sqlite"], ["dp.budget-exceeded", "dp.unknown-dataset", "dp.relation-mismatch", "dp.relation-mismatch",
                                         "dp.invalid-query", "dp.invalid-query", "dp.budget-exceeded", "no error", "dp.ledger-unusable",
                                         "dp.ledger-unusable", "dp.unknown-dataset"])
        XCTAssertEqual(codes["sqlite"], codes["postgres"])
    }

    /// Idempotent by request id: a retry is never charged twice and gets the
    /// same receipt; the id reused for another charge is refused.
    func testRetriedRequestIDIsChargedOnceWithTheSameReceipt() throws {
        for engine in try engines() {
            let ledger = try engine.open()
            try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1), relation: nil)
            let first = try ledger.charge([request("d", 0.2), request("d", 0.1)], requestID: "job-7/attempt")
            XCTAssertFalse(first.replayed)
            let again = try ledger.charge([request("d", 0.2), request("d", 0.1)], requestID: "job-7/attempt")
            XCTAssertTrue(again.replayed, engine.name)
            XCTAssertEqual(again.receipt, first.receipt, engine.name)
            XCTAssertEqual(try ledger.status(dataset: "d").releases, 2, engine.name)
            XCTAssertThrowsError(try ledger.charge([request("d", 0.3)], requestID: "job-7/attempt"), engine.name) {
                XCTAssertEqual(code($0), "dp.request-id-reused")
            }
            XCTAssertThrowsError(try ledger.charge([request("d", 0.3)], requestID: "has space")) { XCTAssertEqual(code($0), "dp.invalid-query") }
            XCTAssertThrowsError(try ledger.charge([request("d", 0.3)], requestID: String(repeating: "x", count: 201))) {
                XCTAssertEqual(code($0), "dp.invalid-query")
            }
            // The scoped ledger refuses a replay before any release runs.
            let scoped = try RequestScopedLedger(ledger, requestID: "job-7/attempt")
            XCTAssertThrowsError(try scoped.charge([request("d", 0.2), request("d", 0.1)])) { error in
                guard case .requestReplayed(_, let charges, let outcomes)? = error as? DPError else { return XCTFail("\(error)") }
                XCTAssertEqual(charges, first.receipt.charges)
                XCTAssertEqual(outcomes, [.charged, .charged])
            }
            XCTAssertEqual(try ledger.status(dataset: "d").releases, 2, engine.name)
        }
    }

    /// Dataset names that look like SQL are data (bound parameters), on both engines.
    func testSQLLookingNamesAreBoundParameters() throws {
        let names = ["x'); DROP TABLE dp_spends; --", "'; DELETE FROM spends; --", "Robert\"; DROP TABLE datasets;--", "%_\\", "ünï ©ode"]
        for engine in try engines() {
            let ledger = try engine.open()
            for name in names {
                try ledger.setTotal(dataset: name, budget: PrivacyCost(epsilon: 1), relation: nil)
                _ = try ledger.charge([request(name, 0.4)], requestID: "r-\(names.firstIndex(of: name)!)")
                XCTAssertEqual(try ledger.status(dataset: name).dataset, name, engine.name)
            }
            XCTAssertEqual(try ledger.allStatuses().count, names.count, engine.name)
            for name in names { XCTAssertEqual(try ledger.spends(dataset: name).count, 1, engine.name) }
        }
    }

    /// A store migrated by a newer modelsec is refused with the version found.
    func testNewerSchemaIsRefusedNamingTheVersion() throws {
        let pg = try cluster()
        for engine in try engines() {
            if engine.name == "sqlite" { try engine.sql("PRAGMA user_version = 99", cluster: nil) } else {
                try engine.sql("UPDATE modelsec_schema SET version = 99", cluster: pg)
            }
            XCTAssertThrowsError(try engine.open(), engine.name) { error in
                XCTAssertEqual(error as? StoreError, .newerSchema(store: (try? StoreURL(parsing: engine.url).redacted) ?? "", found: 99,
                                                                   supported: SQLitePrivacyLedger.currentSchemaVersion),
                               engine.name)
            }
            for command in [["store", "status"], ["store", "migrate"], ["dp", "budget", "--show"]] {
                let r = try TestSupport.modelsec(command + ["--store", engine.url, "--json"], environment: engine.environment)
                XCTAssertEqual(r.status, 2, "\(engine.name) \(command): \(r.stderrText)")
                XCTAssertEqual(errorCode(r), "store.newer-schema", "\(engine.name) \(command)")
                XCTAssertTrue(r.stderrText.contains("version 99"), r.stderrText)
            }
        }
    }

    /// A store that was never migrated is refused (not silently created), on both engines.
    func testUnmigratedStoreIsRefusedAndMigrateIsIdempotent() throws {
        for engine in try emptyEngines() {
            XCTAssertThrowsError(try engine.open(), engine.name) { XCTAssertEqual(code($0), "store.no-schema", engine.name) }
            var r = try TestSupport.modelsec(["dp", "budget", "--store", engine.url, "--show", "--json"], environment: engine.environment)
            XCTAssertEqual(r.status, 2, r.stderrText)
            XCTAssertEqual(errorCode(r), "store.no-schema")
            r = try TestSupport.modelsec(["store", "status", "--store", engine.url, "--json"], environment: engine.environment)
            XCTAssertEqual(r.status, 0, r.stderrText)
            XCTAssertTrue(r.stdoutText.contains("\"state\":\"empty\"") || r.stdoutText.contains("\"state\" : \"empty\""), r.stdoutText)
            // Both engines reach version 7 (PostgreSQL through 5, the token
            // service's tables; an SQLite ledger file goes from 4 to 6).
            for expected in [(0, 7), (7, 7)] {
                r = try TestSupport.modelsec(["store", "migrate", "--store", engine.url, "--json"], environment: engine.environment)
                XCTAssertEqual(r.status, 0, r.stderrText)
                let object = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
                XCTAssertEqual(object?["fromVersion"] as? Int, expected.0, engine.name)
                XCTAssertEqual(object?["toVersion"] as? Int, expected.1, engine.name)
            }
            XCTAssertNoThrow(try engine.open())
        }
    }

    /// `store copy` moves a SQLite ledger into PostgreSQL (and refuses a non-empty destination).
    func testStoreCopyFromSQLiteToPostgres() throws {
        let stores = try engines()
        let sqlite = stores[0], postgres = stores[1]
        let source = try sqlite.open()
        try source.setTotal(dataset: "train", budget: PrivacyCost(epsilon: 3, delta: 1e-6), relation: nil)
        try source.setTotal(dataset: "survey", budget: PrivacyCost(epsilon: 1), relation: .replaceOne)
        let a = try source.charge(request("train", 0.5, parameters: "{\"q\":1}"))
        try source.complete(charge: a, outcome: .released, dataSHA256: String(repeating: "1", count: 64), resultSHA256: String(repeating: "2", count: 64))
        _ = try source.charge([request("train", 0.2, delta: 1e-7, rho: 0.003), request("survey", 0.25, relation: .replaceOne)])
        var r = try TestSupport.modelsec(["store", "copy", "--from", sqlite.url, "--to", postgres.url, "--json"], environment: postgres.environment)
        XCTAssertEqual(r.status, 0, r.stderrText)
        let copy = try postgres.open()
        XCTAssertEqual(try copy.allStatuses(), try source.allStatuses())
        XCTAssertEqual(comparable(try copy.spends(dataset: "train")), comparable(try source.spends(dataset: "train")))
        r = try TestSupport.modelsec(["store", "copy", "--from", sqlite.url, "--to", postgres.url, "--json"], environment: postgres.environment)
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(errorCode(r), "store.copy-target-not-empty")
    }
}

/// A PostgreSQL store whose protecting trigger was disabled is refused.
final class PostgresSchemaTests: StoreEngineTestCase {
    func testDisabledTriggerIsRefused() throws {
        let pg = try cluster()
        let engine = try engines()[1]
        XCTAssertNoThrow(try engine.open())
        try engine.sql("ALTER TABLE dp_spends DISABLE TRIGGER dp_spends_are_append_only", cluster: pg)
        XCTAssertThrowsError(try engine.open()) { XCTAssertEqual(self.code($0), "store.schema-altered") }
    }
}
