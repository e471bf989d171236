@testable import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// Per-person contribution limits (issue #22): with several rows per
/// person, a row-level guarantee silently under-protects people.
/// `--privacy-id COLUMN --max-rows-per-id K` keeps each person's first K
/// rows and multiplies every sensitivity by K.
final class ContributionBoundTests: DPFileTestCase {
    /// Releases of a count over `rows` (person ids), bounded to K rows per
    /// person when `bound` is set, `count` times.
    func counts(_ rows: [String], k: Int, bound: Bool, epsilon: Double, seed: UInt64, count: Int = 40_000) throws -> [Int] {
        let acc = try StatisticAccumulator(spec: StatisticSpec(statistic: .count, epsilon: epsilon, maxRowsPerID: k))
        var bounder = ContributionBounder(maxRowsPerID: k)
        for id in rows where !bound || bounder.admit(id) { acc.add(field: "1") }
        var rng = SeededGenerator(seed: seed)
        return try (0..<count).map { _ in Int(try acc.release(using: &rng).value!) }
    }

    func testSeveralRowsPerPersonAreProtectedOnlyWhenBounded() throws {
        let others = (0..<20).map { "p\($0)" }
        let withPerson = others + Array(repeating: "heavy", count: 10)
        // Unbounded, a row-level epsilon does not cover a person with 10 rows.
        let a = try counts(others, k: 1, bound: false, epsilon: 1, seed: 1)
        let b = try counts(withPerson, k: 1, bound: false, epsilon: 1, seed: 2)
        XCTAssertGreaterThan(Stats.violations(a, b, epsilon: 1), 0, "the under-protection the bound fixes")
        // Bounded to K = 3 rows per person, with sensitivity 3: within e^epsilon.
        let c = try counts(others, k: 3, bound: true, epsilon: 1, seed: 3)
        let d = try counts(withPerson, k: 3, bound: true, epsilon: 1, seed: 4)
        XCTAssertEqual(Stats.violations(c, d, epsilon: 1), 0)
        XCTAssertGreaterThan(Stats.violations(c, d, epsilon: 0.5), 0, "the check has power")
    }

    func testSensitivitiesScaleWithKAndRowsAreBoundedInFileOrder() throws {
        let csv = try write("v.csv", "id,minutes\n" + (0..<10).map { "a,\($0 * 10)" }.joined(separator: "\n") + "\nb,5\nc,7\n,99\n")
        var rng = SeededGenerator(seed: 8)
        let spec = StatisticSpec(statistic: .sum, bounds: 0...100, epsilon: 1e6, maxRowsPerID: 2)
        let r = try CSVRelease.release(path: csv, columns: .init(value: "minutes", privacyID: "id"), spec: spec, using: &rng)
        // a's first two rows (0, 10), b's 5, c's 7, the empty id's 99.
        XCTAssertEqual(r.value!, 121, accuracy: 1e-3)
        XCTAssertEqual(r.maxRowsPerID, 2)
        let single = try StatisticAccumulator(spec: StatisticSpec(statistic: .sum, bounds: 0...100, epsilon: 1))
        let double = try StatisticAccumulator(spec: StatisticSpec(statistic: .sum, bounds: 0...100, epsilon: 1, maxRowsPerID: 2))
        XCTAssertEqual(double.components[0].sensitivity, Rational(2) * single.components[0].sensitivity)
        let q1 = try StatisticAccumulator(spec: StatisticSpec(statistic: .quantile(q: 0.5, candidates: 11), bounds: 0...10, epsilon: 1))
        let q4 = try StatisticAccumulator(spec: StatisticSpec(statistic: .quantile(q: 0.5, candidates: 11), bounds: 0...10, epsilon: 1, maxRowsPerID: 4))
        XCTAssertEqual(q4.rankErrorBound95, 4 * q1.rankErrorBound95, accuracy: 1e-9)
    }

    func testContributionLimitsNeedAnIDColumnAndAddRemove() throws {
        let csv = try write("v.csv", "id,v\na,1\n")
        var r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "count", "--epsilon", "1", "--max-rows-per-id", "3"])
        XCTAssertEqual(r.status, 2)
        r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "count", "--epsilon", "1", "--privacy-id", "id",
                    "--max-rows-per-id", "3", "--relation", "replace-one"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("add-remove"), r.stderrText)
        r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "count", "--epsilon", "1", "--privacy-id", "nope"])
        XCTAssertEqual(r.status, 2)
        r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "mean", "--bounds", "0,2", "--epsilon", "1",
                    "--privacy-id", "id", "--max-rows-per-id", "3", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertEqual(try JSONDecoder().decode(DPRelease.self, from: r.stdout).components.map(\.sensitivity).first, 3)
    }
}
