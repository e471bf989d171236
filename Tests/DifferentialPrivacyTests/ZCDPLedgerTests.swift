import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// The ledger composes charges in their own units (pure epsilon, zCDP rho,
/// approximate (epsilon, delta)) and converts to (epsilon, delta) only to
/// compare and report; older ledgers are upgraded.
final class ZCDPLedgerTests: DPFileTestCase {
    func gaussian(_ epsilon: Double, _ delta: Double) -> PrivacyCost {
        PrivacyCost(epsilon: epsilon, delta: delta, rho: ZCDP.rho(epsilon: epsilon, delta: delta))
    }

    func charge(_ ledger: SQLitePrivacyLedger, _ dataset: String, _ cost: PrivacyCost, mechanism: String = "discrete-gaussian") throws {
        let _: Int = try ledger.spend(ChargeRequest(dataset: dataset, cost: cost, relation: .addRemove, mechanism: mechanism, parameters: "{}")) {
            (0, [1], nil)
        }
    }

    /// Regression (budgets in the wrong units): k Gaussian releases were
    /// charged k (epsilon, delta); they compose as k rho.
    func testKGaussianReleasesAreChargedAsKRho() throws {
        let ledger = try SQLitePrivacyLedger(path: path("l.db"))
        try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1, delta: 1e-5))
        let one = gaussian(0.3, 1e-6)
        for _ in 0..<8 { try charge(ledger, "d", one) }   // basic composition would allow 3
        let status = try ledger.status(dataset: "d")
        XCTAssertEqual(status.accounting.rule, "zcdp")
        XCTAssertEqual(status.accounting.rho, 8 * one.rho!, accuracy: 8e-15)
        XCTAssertEqual(status.accounting.zcdpAsEpsilonDelta.epsilon, 2.4, accuracy: 1e-9)
        let expected = ZCDP.epsilon(rho: 8 * one.rho!, delta: 1e-5)
        XCTAssertEqual(status.spent.epsilon, expected, accuracy: 1e-8)
        XCTAssertLessThan(status.spent.epsilon, 1)
        XCTAssertEqual(status.spent.delta, 1e-5)
        XCTAssertLessThan(status.spent.epsilon, 8 * 0.3, "k rho is tighter than k (epsilon, delta)")
        let left = try XCTUnwrap(status.accounting.remainingRho)
        XCTAssertEqual(left, ZCDP.rho(epsilon: 1, delta: 1e-5) - 8 * one.rho!, accuracy: 1e-9)
        // Keep charging until the zCDP total no longer fits.
        var n = 8
        while (try? charge(ledger, "d", one)) != nil { n += 1 }
        let most = Int((ZCDP.rho(epsilon: 1, delta: 1e-5) / one.rho!).rounded(.down))
        XCTAssertTrue(n == most || n == most - 1, "\(n) charges of rho \(one.rho!) fit; the budget holds \(most)")
        XCTAssertThrowsError(try charge(ledger, "d", one)) { XCTAssertEqual(($0 as? DPError)?.code, "dp.budget-exceeded") }
    }

    /// A release that fills the budget exactly still fits (the basic total
    /// is never worse than before).
    func testGaussianReleaseThatFillsTheBudgetFits() throws {
        let ledger = try SQLitePrivacyLedger(path: path("l.db"))
        try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1, delta: 1e-5))
        try charge(ledger, "d", gaussian(1, 1e-5))
        XCTAssertThrowsError(try charge(ledger, "d", PrivacyCost(epsilon: 1e-9), mechanism: "discrete-laplace"))
    }

    /// Pure charges add to epsilon; Gaussian ones are converted once with
    /// the delta left by approximate charges.
    func testMixedPureApproximateAndGaussianCharges() throws {
        let ledger = try SQLitePrivacyLedger(path: path("l.db"))
        try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 2, delta: 1e-5))
        try charge(ledger, "d", PrivacyCost(epsilon: 0.4), mechanism: "discrete-laplace")
        try charge(ledger, "d", PrivacyCost(epsilon: 0.2, delta: 4e-6), mechanism: "discrete-laplace+partition-selection")
        let one = gaussian(0.5, 1e-6)
        for _ in 0..<4 { try charge(ledger, "d", one) }
        let status = try ledger.status(dataset: "d")
        XCTAssertEqual(status.accounting.pureEpsilon, 0.4, accuracy: 1e-12)
        XCTAssertEqual(status.accounting.approximateEpsilon, 0.2, accuracy: 1e-12)
        XCTAssertEqual(status.accounting.approximateDelta, 4e-6, accuracy: 1e-20)
        XCTAssertEqual(status.accounting.rule, "zcdp")
        // The conversion gets delta 1e-5 - 4e-6.
        let expected = 0.6 + ZCDP.epsilon(rho: 4 * one.rho!, delta: 6e-6)
        XCTAssertEqual(status.spent.epsilon, expected, accuracy: 1e-8)
        XCTAssertLessThan(status.spent.epsilon, 0.6 + 4 * 0.5)
        XCTAssertEqual(try ledger.spends(dataset: "d").map { $0.cost.rho != nil }, [false, false, true, true, true, true])
    }

    /// Without a delta left for the conversion a Gaussian charge falls back
    /// to its (epsilon, delta), which must fit by basic composition.
    func testNoDeltaLeftMeansBasicComposition() throws {
        let ledger = try SQLitePrivacyLedger(path: path("l.db"))
        try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 5, delta: 2e-6))
        try charge(ledger, "d", PrivacyCost(epsilon: 0.1, delta: 2e-6), mechanism: "discrete-laplace+partition-selection")
        XCTAssertThrowsError(try charge(ledger, "d", gaussian(0.5, 1e-6)))
        XCTAssertEqual(try ledger.status(dataset: "d").accounting.rule, "basic")
        XCTAssertNil(try ledger.status(dataset: "d").accounting.remainingRho)
    }

    /// A version 2 ledger (before rho) opens and is upgraded in place; its
    /// Gaussian charges keep counting as the (epsilon, delta) they were.
    func testVersion2LedgerIsUpgraded() throws {
        let db = path("v2.db")
        try sql(db, LedgerSchemaFixture.version2 + [
            "PRAGMA application_id = \(0x4D53_4C47)", "PRAGMA user_version = 2",
            "INSERT INTO datasets VALUES ('d', 'add-remove', 1000000000, 10000000000, 't0', 't0')",
            "INSERT INTO spends (dataset, relation, epsilon_nano, delta_femto, mechanism, parameters, created_at, outcome, result_sha256) VALUES ('d', 'add-remove', 300000000, 1000000000, 'discrete-gaussian', '{}', 't1', 'released', '\(String(repeating: "a", count: 64))')",
            "INSERT INTO spends (dataset, relation, epsilon_nano, delta_femto, mechanism, parameters, created_at, outcome) VALUES ('d', 'add-remove', 100000000, 0, 'discrete-laplace', '{}', 't2', 'failed')",
        ])
        let ledger = try SQLitePrivacyLedger(path: db)
        let status = try ledger.status(dataset: "d")
        XCTAssertEqual(status.spent.epsilon, 0.4, accuracy: 1e-12)
        XCTAssertEqual(status.accounting.approximateEpsilon, 0.3, accuracy: 1e-12)
        XCTAssertEqual(status.accounting.rho, 0)
        let spends = try ledger.spends(dataset: "d")
        XCTAssertEqual(spends.map(\.outcome), [.released, .failed])
        XCTAssertEqual(spends[0].resultSHA256, String(repeating: "a", count: 64))
        XCTAssertEqual(try sql(db, ["PRAGMA user_version"]), "[(7,)]")
        // Upgraded ledgers keep their protections.
        XCTAssertTrue(try sql(db, ["SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"]).contains("spends_complete_once"))
        try charge(ledger, "d", gaussian(0.3, 1e-6))
        XCTAssertNotNil(try ledger.spends(dataset: "d").last?.cost.rho)
    }

    /// The CLI reports the composition rule and the rho still available.
    func testBudgetShowReportsUnits() throws {
        let db = path("l.db")
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "1", "--delta", "1e-5"]).status, 0)
        let csv = try write("d.csv", "v\n" + (0..<200).map { "\($0 % 10)" }.joined(separator: "\n") + "\n")
        for _ in 0..<4 {
            let r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "sum", "--bounds", "0,10", "--epsilon", "0.3",
                            "--mechanism", "gaussian", "--delta", "1e-6", "--ledger", db, "--dataset", "d"])
            XCTAssertEqual(r.status, 0, r.stderrText)
        }
        let r = try dp(["budget", "--ledger", db, "--show", "--json"])
        // Every dataset, listed under "datasets" in the CLI's JSON envelope (docs/cli-json.md).
        struct Envelope: Decodable { let datasets: [BudgetStatus] }
        let status = try XCTUnwrap(try JSONDecoder().decode(Envelope.self, from: r.stdout).datasets.first)
        XCTAssertEqual(status.accounting.rule, "zcdp")
        XCTAssertLessThan(status.spent.epsilon, 1)
        XCTAssertTrue(try dp(["budget", "--ledger", db, "--show"]).stdoutText.contains("zcdp composition"))
        let unknown = try dp(["budget", "--ledger", db, "--dataset", "nope", "--show"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderrText.contains("--set-total"), "the CLI adds the hint the library leaves out")
    }
}
