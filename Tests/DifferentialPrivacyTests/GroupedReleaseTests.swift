import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// Grouped statistics with private partition selection (issue #22):
/// counts, sums and means per value of a column whose values are not public.
final class GroupedReleaseTests: DPFileTestCase {
    func grouped(_ spec: StatisticSpec, _ rows: [(String, String?)]) throws -> GroupedAccumulator {
        let acc = try GroupedAccumulator(spec: spec)
        for (g, v) in rows { acc.add(group: g, field: v) }
        return acc
    }

    func testGroupsAboveTheThresholdAreReleasedExactlyAtHugeEpsilon() throws {
        let rows = Array(repeating: ("cat", "2"), count: 40) + Array(repeating: ("dog", "4"), count: 25) + [("rare", "9")]
        for statistic in [Statistic.count, .sum, .mean] {
            let acc = try grouped(StatisticSpec(statistic: statistic, bounds: 0...10, epsilon: 1e6, delta: 1e-6, groupBy: true), rows)
            // tau = K + 1 + ceil(b (ln(K/delta) + epsilon)), b = K / epsilon_count: 4 (count) or 5 (sum, mean).
            XCTAssertEqual(acc.threshold, statistic == .count ? 4 : 5)
            var rng = SeededGenerator(seed: 4)
            let r = try acc.release(using: &rng)
            XCTAssertEqual(r.groups!.map(\.key), ["cat", "dog"], "\(statistic): a group of one record stays hidden")
            XCTAssertEqual(r.groups!.map(\.count), [40, 25])
            switch statistic {
            case .sum:
                XCTAssertEqual(r.groups![0].value!, 80, accuracy: 1e-3)
                XCTAssertEqual(r.groups![1].value!, 100, accuracy: 1e-3)
            case .mean:
                XCTAssertEqual(r.groups![0].value!, 2, accuracy: 1e-3)
                XCTAssertEqual(r.groups![1].value!, 4, accuracy: 1e-3)
            default: XCTAssertEqual(r.groups!.map(\.value), [nil, nil])
            }
            XCTAssertEqual(r.cost, PrivacyCost(epsilon: 1e6, delta: 1e-6))
        }
    }

    /// A group that one person creates appears with probability at most
    /// delta e^-epsilon; a present group's count keeps the e^epsilon bound.
    func testPartitionSelectionBoundsTheChanceOfANewGroup() throws {
        let epsilon = 1.0, delta = 0.05
        let spec = StatisticSpec(statistic: .count, epsilon: epsilon, delta: delta, groupBy: true)
        let base = Array(repeating: ("a", "1"), count: 30)
        let without = try grouped(spec, base), with = try grouped(spec, base + [("new", "1")])
        let runs = 20_000
        var rng = SeededGenerator(seed: 11)
        var appeared = 0
        for _ in 0..<runs where try with.release(using: &rng).groups!.contains(where: { $0.key == "new" }) { appeared += 1 }
        let bound = delta * exp(-epsilon)
        XCTAssertLessThan(Double(appeared) / Double(runs), bound + Stats.z1e6 * (bound / Double(runs)).squareRoot(), "\(appeared)")
        XCTAssertGreaterThan(appeared, 0, "the selection is randomised, not a fixed cut")
        // Empirical privacy of the grouped count of a group present in both neighbours.
        func counts(_ acc: GroupedAccumulator, seed: UInt64) throws -> [Int] {
            var rng = SeededGenerator(seed: seed)
            return try (0..<40_000).map { _ in Int(try acc.release(using: &rng).groups!.first { $0.key == "a" }?.count ?? -1) }
        }
        let plusOne = try grouped(spec, base + [("a", "1")])
        let a = try counts(without, seed: 12), b = try counts(plusOne, seed: 13)
        XCTAssertEqual(Stats.eventViolations(a, b, epsilon: epsilon, delta: delta), 0)
        XCTAssertGreaterThan(Stats.eventViolations(a, b, epsilon: epsilon / 3, delta: 0), 0, "the check has power")
    }

    func testGroupedReleaseThroughTheCommandLine() throws {
        let csv = try write("v.csv", "id,dx,minutes\n" + (0..<900).map { "p\($0 % 100),\(["flu", "cold", "flu"][$0 % 3]),\($0 % 60)" }.joined(separator: "\n") + "\n")
        let db = path("l.db")
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "v", "--set-total", "10", "--delta", "1e-5"]).status, 0)
        var r = try dp(["release", "--input", csv, "--column", "minutes", "--statistic", "mean", "--bounds", "0,60", "--group-by", "dx",
                        "--epsilon", "5", "--delta", "1e-6", "--privacy-id", "id", "--max-rows-per-id", "9",
                        "--ledger", db, "--dataset", "v", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let release = try JSONDecoder().decode(DPRelease.self, from: r.stdout)
        XCTAssertEqual(release.groupBy, "dx")
        XCTAssertEqual(release.groups?.map(\.key), ["cold", "flu"])
        XCTAssertNotNil(release.partitionThreshold)
        XCTAssertEqual(try charges(db, "v").map(\.cost), [PrivacyCost(epsilon: 5, delta: 1e-6)])
        for args in [["--statistic", "count", "--epsilon", "1"],                                            // no delta
                     ["--statistic", "variance", "--bounds", "0,60", "--epsilon", "1", "--delta", "1e-6"],  // unsupported
                     ["--statistic", "count", "--epsilon", "1", "--delta", "1e-6", "--relation", "replace-one"],
                     ["--statistic", "count", "--epsilon", "1", "--delta", "1e-6", "--mechanism", "gaussian"]] {
            r = try dp(["release", "--input", csv, "--column", "minutes", "--group-by", "dx"] + args)
            XCTAssertEqual(r.status, 2, "\(args)")
        }
    }
}
