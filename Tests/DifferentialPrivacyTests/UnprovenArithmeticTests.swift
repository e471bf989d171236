import BigInt
@testable import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// Regression (issue #22, leak 3): variance with bounds 0,3e154 overflowed
/// to infinity on some columns only, after the noise was drawn; the JSON
/// encoder threw inside the ledger transaction, which rolled back: an
/// unlimited, free yes/no oracle on the data. Bounds that could overflow
/// are now refused before any record is read, every step after the noise
/// saturates, and the charge commits before the data is read.
final class UnprovenArithmeticTests: DPFileTestCase {
    func testBoundsThatCouldOverflowAreRefusedWhateverTheData() throws {
        let constant = try write("c.csv", "v\n" + Array(repeating: "3e154", count: 20).joined(separator: "\n") + "\n")
        let alternating = try write("a.csv", "v\n" + (0..<20).map { $0 % 2 == 0 ? "0" : "3e154" }.joined(separator: "\n") + "\n")
        let db = path("l.db")
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "10"]).status, 0)
        var outcomes: [String] = []
        for csv in [constant, alternating] {
            let r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "variance", "--bounds", "0,3e154",
                            "--epsilon", "1", "--ledger", db, "--dataset", "d", "--json"])
            XCTAssertEqual(r.status, 2, r.stdoutText)
            outcomes.append(r.stderrText.replacingOccurrences(of: csv, with: "FILE"))
        }
        XCTAssertEqual(outcomes[0], outcomes[1], "the outcome must not depend on the data")
        XCTAssertTrue(outcomes[0].contains("overflow"), outcomes[0])
        XCTAssertEqual(try charges(db, "d").count, 0, "refused before the charge, i.e. before any record is read")
        // The largest accepted variance bounds release a finite value for the worst column.
        let widest = try write("w.csv", "v\n" + (0..<20).map { $0 % 2 == 0 ? "0" : "6.6e153" }.joined(separator: "\n") + "\n")
        let r = try dp(["release", "--input", widest, "--column", "v", "--statistic", "variance", "--bounds", "0,6.6e153",
                        "--epsilon", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let value = try JSONDecoder().decode(DPRelease.self, from: r.stdout).value!
        XCTAssertTrue(value.isFinite && value > 0)
    }

    /// Every statistic, at the edges of what validation accepts, on the
    /// most extreme data, releases only finite numbers (so encoding cannot
    /// fail after the noise is drawn).
    func testEveryAcceptedQueryReleasesOnlyFiniteNumbers() throws {
        let big = 9.99e299
        let bounds: [ClosedRange<Double>] = [-big...big, 0...6.6e153, 1e300.nextDown.nextDown...1e300.nextDown,
                                             1...1.0.nextUp, 0...2.5e-302, -1...0]
        let data: [[Double]] = [[], [-.infinity, .infinity, .nan, 0], Array(repeating: big, count: 50), [-big, big, -big, big]]
        var released = 0
        for b in bounds {
            for statistic in [Statistic.sum, .mean, .variance, .quantile(q: 0.5, candidates: 5)] {
                for relation in NeighbouringRelation.allCases {
                    for (mechanism, epsilon, delta) in [(NoiseMechanism.laplace, 1e-3, 0.0), (.laplace, 1e9, 0), (.gaussian, 1e-3, 1e-9), (.gaussian, 1e9, 1e-9)] {
                        let spec = StatisticSpec(statistic: statistic, bounds: b, relation: relation, mechanism: mechanism, epsilon: epsilon, delta: delta)
                        guard let acc = try? StatisticAccumulator(spec: spec) else { continue }
                        for values in data {
                            let fresh = try StatisticAccumulator(spec: spec)
                            for v in values { fresh.add(v) }
                            var rng = SeededGenerator(seed: UInt64(released))
                            guard let r = try? fresh.release(using: &rng) else {
                                XCTAssertTrue(values.isEmpty && relation == .replaceOne, "only an empty replace-one mean/variance may fail")
                                continue
                            }
                            let json = try JSONSerialization.jsonObject(with: Data(try r.canonicalBytes()))
                            XCTAssertTrue(Self.allFinite(json), "\(spec)")
                            released += 1
                        }
                        _ = acc
                    }
                }
            }
        }
        XCTAssertGreaterThan(released, 300)
    }

    static func allFinite(_ json: Any) -> Bool {
        switch json {
        case let n as NSNumber: return n.doubleValue.isFinite
        case let a as [Any]: return a.allSatisfy(allFinite)
        case let d as [String: Any]: return d.values.allSatisfy(allFinite)
        default: return true
        }
    }

    /// The charge commits before the data is read: the records are only
    /// written to the file when the ledger is charged (the header is read
    /// first), and the release sees them, so it read them after the charge.
    func testTheChargeCommitsBeforeAnyRecordIsRead() throws {
        final class Recorder: PrivacyLedger {
            var events: [String] = []
            var onCharge: () -> Void = {}
            func setTotal(dataset: String, budget: PrivacyCost, relation: NeighbouringRelation?) throws {}
            func status(dataset: String) throws -> BudgetStatus { throw DPError.unknownDataset(dataset) }
            func allStatuses() throws -> [BudgetStatus] { [] }
            func spends(dataset: String) throws -> [SpendRecord] { [] }
            func charge(_ request: ChargeRequest) throws -> Int64 { events.append("charge"); onCharge(); return 1 }
            func charge(_ requests: [ChargeRequest]) throws -> [Int64] { try requests.map { try charge($0) } }
            func complete(charge: Int64, outcome: SpendOutcome, dataSHA256: String?, resultSHA256: String?) throws {
                events.append("complete \(outcome.rawValue)")
            }
        }
        let csv = try write("late.csv", "v\n")
        let ledger = Recorder()
        ledger.onCharge = {
            let handle = FileHandle(forWritingAtPath: csv)!
            handle.seekToEndOfFile()
            handle.write(Data("1\n2\n\"3\n".utf8))   // ends in a quoted field that is never closed
            try? handle.close()
        }
        var rng = SeededGenerator(seed: 1)
        XCTAssertThrowsError(try CSVRelease.release(path: csv, column: "v", spec: StatisticSpec(statistic: .count, epsilon: 1),
                                                    ledger: ledger, dataset: "d", using: &rng)) { error in
            guard case .failedAfterCharge = error as? DPError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(ledger.events, ["charge", "complete failed"])
        // A clean late file is released and completed with the digest of what was read.
        let clean = try write("clean.csv", "v\n")
        ledger.events = []
        ledger.onCharge = {
            let handle = FileHandle(forWritingAtPath: clean)!
            handle.seekToEndOfFile()
            handle.write(Data("1\n2\n3\n".utf8))
            try? handle.close()
        }
        let r = try CSVRelease.release(path: clean, column: "v", spec: StatisticSpec(statistic: .count, epsilon: 1e6),
                                       ledger: ledger, dataset: "d", using: &rng)
        XCTAssertEqual(r.value, 3)
        XCTAssertEqual(ledger.events, ["charge", "complete released"])
    }

    func testPostProcessingSaturatesInsteadOfOverflowing() throws {
        XCTAssertEqual(Saturating.double(BigInt(1) << 2000), .greatestFiniteMagnitude)
        XCTAssertEqual(Saturating.double(-(BigInt(1) << 2000)), -.greatestFiniteMagnitude)
        XCTAssertEqual(Saturating.multiply(1e300, 1e300), .greatestFiniteMagnitude)
        XCTAssertEqual(Saturating.subtract(-.greatestFiniteMagnitude, 1e300), -.greatestFiniteMagnitude)
        XCTAssertEqual(Saturating.divide(.greatestFiniteMagnitude, atLeastOne: 0.5), .greatestFiniteMagnitude)
        // A sum near the top of the double range stays finite, its interval ordered.
        let acc = try StatisticAccumulator(spec: StatisticSpec(statistic: .sum, bounds: -9e299...9e299, epsilon: 1e-3))
        for _ in 0..<1000 { acc.add(9e299) }
        var rng = SeededGenerator(seed: 3)
        let r = try acc.release(using: &rng)
        XCTAssertTrue(r.value!.isFinite)
        XCTAssertLessThanOrEqual(r.confidenceInterval95![0], r.confidenceInterval95![1])
        XCTAssertNoThrow(try r.canonicalBytes())
    }
}
