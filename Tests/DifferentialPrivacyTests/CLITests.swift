import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// `modelsec dp …` end to end: outputs, exit codes, errors naming the line.
final class DPCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("dp-cli") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func testReleaseJSONForEveryStatistic() throws {
        let csv = try write("d.csv", "age,label\n" + (0..<300).map { "\(20 + $0 % 50),\(["cat", "dog"][$0 % 2])" }.joined(separator: "\n") + "\n")
        let runs: [[String]] = [
            ["--column", "age", "--statistic", "count", "--epsilon", "1"],
            ["--column", "age", "--statistic", "sum", "--bounds", "0,100", "--epsilon", "1"],
            ["--column", "age", "--statistic", "mean", "--bounds", "0,100", "--epsilon", "1", "--mechanism", "gaussian", "--delta", "1e-6"],
            ["--column", "age", "--statistic", "variance", "--bounds", "0,100", "--epsilon", "1", "--relation", "replace-one"],
            ["--column", "label", "--statistic", "histogram", "--categories", "cat,dog,bird", "--epsilon", "1"],
            ["--column", "age", "--statistic", "quantile", "--quantile", "0.5", "--bounds", "0,100", "--epsilon", "1"],
        ]
        for args in runs {
            let r = try TestSupport.modelsec(["dp", "release", "--input", csv] + args + ["--json"])
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderrText)")
            let release = try JSONDecoder().decode(DPRelease.self, from: r.stdout)
            XCTAssertEqual(release.statistic, args[3])
            XCTAssertGreaterThan(release.cost.epsilon, 0)
            XCTAssertFalse(release.components.isEmpty)
            if args[3] == "histogram" { XCTAssertEqual(release.histogram?.count, 3) } else { XCTAssertNotNil(release.value) }
        }
        let text = try TestSupport.modelsec(["dp", "release", "--input", csv, "--column", "age", "--statistic", "mean", "--bounds", "0,100", "--epsilon", "1"])
        XCTAssertEqual(text.status, 0)
        XCTAssertTrue(text.stdoutText.contains("95% CI"))
    }

    func testPrintedJSONReproducesTheRecordedDigest() throws {
        let csv = try write("d.csv", "v\n1\n2\n3\n")
        let db = dir.appendingPathComponent("l.db").path
        XCTAssertEqual(try TestSupport.modelsec(["dp", "budget", "--ledger", db, "--dataset", "d", "--set-total", "1"]).status, 0)
        let r = try TestSupport.modelsec(["dp", "release", "--input", csv, "--column", "v", "--statistic", "variance", "--bounds", "0,5",
                                          "--epsilon", "0.75", "--ledger", db, "--dataset", "d", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let release = try JSONDecoder().decode(DPRelease.self, from: r.stdout)
        let digest = try TestSupport.run("sha256sum", [], stdin: Data(try release.canonicalBytes())).stdoutText.prefix(64)
        XCTAssertEqual(try SQLitePrivacyLedger(path: db).spends(dataset: "d").map(\.resultSHA256), [String(digest)])
    }

    func testMalformedInputIsReportedWithItsLine() throws {
        let bad = try write("bad.csv", "a,b\n1,2\n\"3,4\n5,6\n")   // unterminated quote from line 3
        var r = try TestSupport.modelsec(["dp", "release", "--input", bad, "--column", "a", "--statistic", "sum", "--bounds", "0,9", "--epsilon", "1"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("bad.csv:3"), r.stderrText)
        let nan = try write("nan.csv", "a\n1\nNaN\n")
        r = try TestSupport.modelsec(["dp", "release", "--input", nan, "--column", "zz", "--statistic", "count", "--epsilon", "1"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("zz"))
        r = try TestSupport.modelsec(["dp", "release", "--input", dir.appendingPathComponent("missing.csv").path, "--column", "a", "--statistic", "count", "--epsilon", "1"])
        XCTAssertEqual(r.status, 2)
        let twice = try write("twice.csv", "a,a\n1,2\n")
        r = try TestSupport.modelsec(["dp", "release", "--input", twice, "--column", "a", "--statistic", "count", "--epsilon", "1"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("2 times"), r.stderrText)
    }

    func testUsageErrorsExitTwo() throws {
        let csv = try write("d.csv", "a\n1\n")
        for args in [["--statistic", "mean", "--epsilon", "1"],                       // no bounds
                     ["--statistic", "count", "--epsilon", "-1"],
                     ["--statistic", "count", "--epsilon", "1", "--delta", "1e-5"],   // laplace with delta
                     ["--statistic", "histogram", "--epsilon", "1"],                  // no categories
                     ["--statistic", "count", "--epsilon", "1", "--ledger", "x.db"]] {
            let r = try TestSupport.modelsec(["dp", "release", "--input", csv, "--column", "a"] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderrText)")
        }
    }

    func testBudgetAndSGDCommands() throws {
        let db = dir.appendingPathComponent("l.db").path
        var r = try TestSupport.modelsec(["dp", "budget", "--ledger", db, "--dataset", "x", "--set-total", "2", "--delta", "1e-6", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertEqual(try JSONDecoder().decode(BudgetStatus.self, from: r.stdout).total, PrivacyCost(epsilon: 2, delta: 1e-6))
        r = try TestSupport.modelsec(["dp", "budget", "--ledger", db, "--show", "--json"])
        // Every dataset, listed under "datasets" beside the ledger's path.
        struct Listed: Decodable { let ok: Bool; let ledger: String; let datasets: [BudgetStatus] }
        XCTAssertEqual(try JSONDecoder().decode(Listed.self, from: r.stdout).datasets.map(\.dataset), ["x"])
        r = try TestSupport.modelsec(["dp", "budget", "--ledger", db, "--show", "--set-total", "1"])
        XCTAssertEqual(r.status, 2)

        r = try TestSupport.modelsec(["dp", "sgd", "--noise-multiplier", "1.1", "--sample-rate", "0.01", "--epochs", "10", "--delta", "1e-5", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let result = try JSONDecoder().decode(DPSGDAccountant.Result.self, from: r.stdout)
        XCTAssertEqual(result.steps, 1000)
        XCTAssertEqual(result.epsilon, DPSGDAccountant.epsilon(noiseMultiplier: 1.1, sampleRate: 0.01, steps: 1000, delta: 1e-5).epsilon)
        r = try TestSupport.modelsec(["dp", "sgd", "--target-epsilon", "2", "--sample-rate", "0.01", "--steps", "1000", "--delta", "1e-5", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let inverse = try JSONDecoder().decode(DPSGDAccountant.Result.self, from: r.stdout)
        XCTAssertLessThanOrEqual(inverse.epsilon, 2)
        XCTAssertGreaterThan(DPSGDAccountant.epsilon(noiseMultiplier: inverse.noiseMultiplier * 0.999, sampleRate: 0.01, steps: 1000, delta: 1e-5).epsilon, 2)
        r = try TestSupport.modelsec(["dp", "sgd", "--noise-multiplier", "1", "--target-epsilon", "2", "--sample-rate", "0.01", "--steps", "10", "--delta", "1e-5"])
        XCTAssertEqual(r.status, 2)
    }
}
