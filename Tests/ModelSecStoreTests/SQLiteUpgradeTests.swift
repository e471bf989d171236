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

    /// An old ledger is recognised by the exact text SQLite keeps of each
    /// object, so the version 2 and 3 statements must never change by a byte.
    /// The pinned values are FNV-1a 64 of the statements joined with "\n;\n",
    /// as the text stood when these versions were current.
    func testFrozenSchemaTextIsUnchanged() {
        func fnv1a(_ statements: [String]) -> UInt64 {
            statements.joined(separator: "\n;\n").utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        }
        XCTAssertEqual(fnv1a(LedgerSchema.version2Statements), 0x2122_9e7b_b64b_0722)
        XCTAssertEqual(fnv1a(LedgerSchema.version3Statements), 0x5369_3f0b_c526_5e18)
    }
}
