import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// Regression (issue #22, leak 1): releases under add-remove and under
/// replace-one were charged against one budget as if comparable. A
/// dataset's relation is now fixed when its budget is set, and a release
/// under the other relation is refused before any record is read.
final class MixedRelationTests: DPFileTestCase {
    func testMixedNeighbouringRelationsOnOneBudgetAreRefused() throws {
        let csv = try write("d.csv", "v\n" + (0..<40).map { "\($0 % 9)" }.joined(separator: "\n") + "\n")
        let db = path("l.db")
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "5"]).status, 0)
        var r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "count", "--epsilon", "0.5",
                        "--ledger", db, "--dataset", "d"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        // A replace-one mean (whose notes and interval reveal the exact n) on the add-remove dataset.
        r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "mean", "--bounds", "0,9", "--epsilon", "0.5",
                    "--relation", "replace-one", "--ledger", db, "--dataset", "d", "--json"])
        XCTAssertEqual(r.status, 2, r.stdoutText)
        // With --json stdout carries only the failure envelope (docs/cli-json.md): nothing released.
        let refusal = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        XCTAssertEqual(refusal?["ok"] as? Bool, false, r.stdoutText)
        XCTAssertEqual(Set(refusal?.keys.map { $0 } ?? []), ["ok", "error"], "nothing may be released")
        XCTAssertTrue(r.stderrText.contains("add-remove") && r.stderrText.contains("replace-one"), r.stderrText)
        XCTAssertEqual(try charges(db, "d").count, 1, "a refused release is not charged")
        // The relation cannot be changed once the dataset has charges.
        r = try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "5", "--relation", "replace-one"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("fixed"), r.stderrText)
        // Re-setting the total without --relation keeps it.
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "6"]).status, 0)
        XCTAssertEqual(try SQLitePrivacyLedger(path: db).status(dataset: "d").relation, .addRemove)
    }

    func testAReplaceOneDatasetTakesItsRelationAndRefusesTheOther() throws {
        let csv = try write("d.csv", "v\n1\n2\n3\n")
        let db = path("l.db")
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "s", "--set-total", "3", "--relation", "replace-one"]).status, 0)
        var r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "mean", "--bounds", "0,5", "--epsilon", "1",
                        "--ledger", db, "--dataset", "s", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertEqual(try JSONDecoder().decode(DPRelease.self, from: r.stdout).relation, .replaceOne, "the dataset's relation is the default")
        r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "count", "--epsilon", "1",
                    "--relation", "add-remove", "--ledger", db, "--dataset", "s"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(try charges(db, "s").map(\.relation), [.replaceOne])
        // The library refuses the same way.
        let ledger = try SQLitePrivacyLedger(path: db)
        XCTAssertThrowsError(try ledger.charge(ChargeRequest(dataset: "s", cost: PrivacyCost(epsilon: 0.1), relation: .addRemove,
                                                            mechanism: "m", parameters: "{}"))) { error in
            guard case .relationMismatch = error as? DPError else { return XCTFail("\(error)") }
        }
        // A dataset without charges may still change its relation.
        try ledger.setTotal(dataset: "fresh", budget: PrivacyCost(epsilon: 1), relation: .replaceOne)
        try ledger.setTotal(dataset: "fresh", budget: PrivacyCost(epsilon: 1), relation: .addRemove)
        XCTAssertEqual(try ledger.status(dataset: "fresh").relation, .addRemove)
    }
}
