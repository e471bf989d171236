@testable import DifferentialPrivacy
import Foundation
import GRDB
import ModelSecStore
import ModelSecStorePostgres
import TestSupport
import XCTest

/// A version 3 SQLite ledger (before request ids): `--ledger` upgrades it
/// in place, `--store` refuses it until `store migrate`, and the upgrade
/// keeps every row and adds the request-id table with its triggers.
final class SQLiteUpgradeTests: XCTestCase {
    func testVersion3LedgerIsUpgradedOnlyByMigrate() throws {
        let dir = try TestSupport.makeTemporaryDirectory("upgrade")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v3.db").path
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try LedgerSchema.create(db, statements: LedgerSchema.version3Statements, version: 3)
            try db.execute(sql: """
                INSERT INTO datasets (name, relation, total_epsilon_nano, total_delta_femto, created_at, updated_at)
                VALUES ('d', 'add-remove', 1000000000, 0, 't', 't')
                """)
            try db.execute(sql: """
                INSERT INTO spends (dataset, relation, epsilon_nano, delta_femto, mechanism, parameters, created_at, outcome)
                VALUES ('d', 'add-remove', 250000000, 0, 'discrete-laplace', '{}', 't', 'charged')
                """)
        }
        try queue.close()
        let url = try StoreURL(parsing: "sqlite:" + path)
        XCTAssertEqual(try LedgerStores.status(url).state, "older")
        XCTAssertThrowsError(try LedgerStores.open(url)) {
            XCTAssertEqual($0 as? StoreError, .olderSchema(store: "sqlite:" + path, found: 3, current: 7))
        }
        let (from, to) = try LedgerStores.migrate(url)
        XCTAssertEqual([from, to], [3, 7])
        let ledger = try LedgerStores.open(url)
        XCTAssertEqual(try ledger.status(dataset: "d").spent.epsilon, 0.25, accuracy: 1e-12)
        let first = try ledger.charge([ChargeRequest(dataset: "d", cost: PrivacyCost(epsilon: 0.5), relation: .addRemove,
                                                     mechanism: "m", parameters: "{}")], requestID: "after-upgrade")
        XCTAssertTrue(try ledger.charge([ChargeRequest(dataset: "d", cost: PrivacyCost(epsilon: 0.5), relation: .addRemove,
                                                      mechanism: "m", parameters: "{}")], requestID: "after-upgrade").replayed)
        XCTAssertEqual(first.receipt.charges, [2])
        // The request rows are append-only.
        let check = try DatabaseQueue(path: path)
        XCTAssertThrowsError(try check.write { try $0.execute(sql: "DELETE FROM charge_requests") })
        XCTAssertThrowsError(try check.write { try $0.execute(sql: "UPDATE charge_requests SET request_id = 'x'") })
    }
}
