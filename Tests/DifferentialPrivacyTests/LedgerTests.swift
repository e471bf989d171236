import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// The SQLite privacy ledger, in-process and across concurrent processes.
final class LedgerTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("dp-ledger") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func request(_ dataset: String, _ cost: PrivacyCost, _ parameters: String = "{}", relation: NeighbouringRelation = .addRemove) -> ChargeRequest {
        ChargeRequest(dataset: dataset, cost: cost, relation: relation, mechanism: "discrete-laplace", parameters: parameters)
    }

    func testSpendRecordsAndRefusesOverBudget() throws {
        let ledger = try SQLitePrivacyLedger(path: dir.appendingPathComponent("l.db").path)
        try ledger.setTotal(dataset: "train", budget: PrivacyCost(epsilon: 1, delta: 1e-6))
        XCTAssertThrowsError(try ledger.status(dataset: "other")) { XCTAssertEqual($0 as? DPError, .unknownDataset("other")) }

        // 0.1 + 0.2 + 0.7 = 1 exactly in the ledger's integer units (not in doubles).
        for e in [0.1, 0.2, 0.7] {
            let value: Int = try ledger.spend(request("train", PrivacyCost(epsilon: e), "{\"e\":\(e)}")) {
                (42, Array("result \(e)".utf8), String(repeating: "ab", count: 32))
            }
            XCTAssertEqual(value, 42)
        }
        var called = false
        XCTAssertThrowsError(try ledger.spend(request("train", PrivacyCost(epsilon: 1e-9))) { () -> (Int, [UInt8], String?) in
            called = true
            return (0, [], nil)
        }) { error in
            guard case .budgetExceeded = error as? DPError else { return XCTFail("\(error)") }
            XCTAssertEqual((error as? DPError)?.category, .verificationFailed)
        }
        XCTAssertFalse(called, "a refused release must not read the data or draw noise")

        let status = try ledger.status(dataset: "train")
        XCTAssertEqual(status.releases, 3)
        XCTAssertEqual(status.spent.epsilon, 1, accuracy: 1e-12)
        XCTAssertEqual(status.remaining.epsilon, 0)
        let spends = try ledger.spends(dataset: "train")
        XCTAssertEqual(spends.map(\.mechanism), ["discrete-laplace", "discrete-laplace", "discrete-laplace"])
        XCTAssertEqual(spends.map(\.outcome), [.released, .released, .released])
        XCTAssertEqual(spends[0].parameters, "{\"e\":0.1}")
        XCTAssertEqual(spends[0].dataSHA256, String(repeating: "ab", count: 32))
        // Digest of the released bytes, checked with an independent tool.
        let file = dir.appendingPathComponent("r")
        try Data("result 0.1".utf8).write(to: file)
        let sum = try TestSupport.run("sha256sum", [file.path]).stdoutText.prefix(64)
        XCTAssertEqual(spends[0].resultSHA256, String(sum))
    }

    /// Regression (uncharged failures after the data is read): a release
    /// that fails after the charge keeps the charge, recorded as failed.
    func testFailureAfterTheChargeStaysCharged() throws {
        struct Boom: Error {}
        let ledger = try SQLitePrivacyLedger(path: dir.appendingPathComponent("l.db").path)
        try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 5, delta: 1e-6))
        XCTAssertThrowsError(try ledger.spend(request("d", PrivacyCost(epsilon: 1))) { () -> (Int, [UInt8], String?) in throw Boom() }) { error in
            guard case .failedAfterCharge = error as? DPError else { return XCTFail("\(error)") }
            XCTAssertEqual((error as? DPError)?.category, .invalidInput)
        }
        let status = try ledger.status(dataset: "d")
        XCTAssertEqual(status.releases, 1)
        XCTAssertEqual(status.spent.epsilon, 1)
        XCTAssertEqual(try ledger.spends(dataset: "d").map(\.outcome), [.failed])
        XCTAssertThrowsError(try ledger.spend(request("d", PrivacyCost(epsilon: 1, delta: 2e-6))) { (1, [], nil) })
        _ = try ledger.spend(request("d", PrivacyCost(epsilon: 1, delta: 1e-6))) { (1, [], nil) }
        XCTAssertEqual(try ledger.status(dataset: "d").remaining.delta, 0)
        XCTAssertEqual(try ledger.allStatuses().map(\.dataset), ["d"])
        // A charge completes once; a second completion is refused by the ledger.
        let id = try ledger.charge(request("d", PrivacyCost(epsilon: 1)))
        try ledger.complete(charge: id, outcome: .failed, dataSHA256: nil, resultSHA256: nil)
        XCTAssertThrowsError(try ledger.complete(charge: id, outcome: .released, dataSHA256: nil, resultSHA256: String(repeating: "0", count: 64)))
    }

    func testReleaseThroughLedgerFromCSV() throws {
        let csv = dir.appendingPathComponent("data.csv")
        try "x,y\n1,a\n2,b\n3,c\n".write(to: csv, atomically: true, encoding: .utf8)
        let ledger = try SQLitePrivacyLedger(path: dir.appendingPathComponent("l.db").path)
        try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1))
        var rng = SecureRandomSource()
        let spec = StatisticSpec(statistic: .sum, bounds: 0...5, epsilon: 0.6)
        let release = try CSVRelease.release(path: csv.path, column: "x", spec: spec, ledger: ledger, dataset: "d", using: &rng)
        let spends = try ledger.spends(dataset: "d")
        XCTAssertEqual(spends.count, 1)
        let digest = try TestSupport.run("sha256sum", [], stdin: Data(try release.canonicalBytes())).stdoutText.prefix(64)
        XCTAssertEqual(spends[0].resultSHA256, String(digest))
        XCTAssertEqual(spends[0].dataSHA256, String(try TestSupport.run("sha256sum", [csv.path]).stdoutText.prefix(64)))
        XCTAssertEqual(spends[0].relation, .addRemove)
        XCTAssertThrowsError(try CSVRelease.release(path: csv.path, column: "x", spec: spec, ledger: ledger, dataset: "d", using: &rng))
        XCTAssertEqual(try ledger.spends(dataset: "d").count, 1)
    }

    /// Many `modelsec dp release` processes at once against one ledger never
    /// overspend: with a budget for exactly 5 releases, exactly 5 succeed.
    func testConcurrentProcessesNeverOverspend() throws {
        let db = dir.appendingPathComponent("shared.db").path
        let csv = dir.appendingPathComponent("data.csv")
        try ("v\n" + (0..<2000).map { "\($0 % 7)" }.joined(separator: "\n") + "\n").write(to: csv, atomically: true, encoding: .utf8)
        var r = try TestSupport.modelsec(["dp", "budget", "--ledger", db, "--dataset", "d", "--set-total", "0.5"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let workers = 12
        let results = Locked([Int32](repeating: -1, count: workers))
        let input = csv.path
        DispatchQueue.concurrentPerform(iterations: workers) { i in
            let result = try? TestSupport.modelsec(["dp", "release", "--input", input, "--column", "v", "--statistic", "mean",
                                                    "--bounds", "0,10", "--epsilon", "0.1", "--ledger", db, "--dataset", "d", "--json"])
            results.withLock { $0[i] = result?.status ?? -2 }
        }
        let statuses = results.withLock { $0 }
        XCTAssertEqual(statuses.filter { $0 == 0 }.count, 5, "\(statuses)")
        XCTAssertEqual(statuses.filter { $0 == 1 }.count, workers - 5, "\(statuses)")
        r = try TestSupport.modelsec(["dp", "budget", "--ledger", db, "--dataset", "d", "--show", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        struct Report: Decodable { var status: BudgetStatus; var releases: [SpendRecord] }
        let report = try JSONDecoder().decode(Report.self, from: r.stdout)
        XCTAssertEqual(report.releases.count, 5)
        XCTAssertLessThanOrEqual(report.status.spent.epsilon, 0.5 + 1e-12)
        XCTAssertEqual(Set(report.releases.map(\.resultSHA256)).count, 5)
    }
}
