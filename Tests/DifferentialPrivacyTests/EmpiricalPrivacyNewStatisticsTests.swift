import DifferentialPrivacy
import Foundation
import XCTest

/// Empirical privacy of the private-bounds selection and the clipped
/// vector sum: thousands of releases on neighbouring datasets, outcome
/// frequencies within e^epsilon (+ delta for the Gaussian), and the same
/// samples violate a smaller claim (the test has power). Slow tier
/// (`make test-slow` matches "EmpiricalPrivacy").
final class EmpiricalPrivacyNewStatisticsTests: XCTestCase {
    /// Neighbours differ by one row in a bin near the threshold: the chosen
    /// bounds (post-processing of an epsilon-DP histogram) stay within e^epsilon.
    func testEmpiricalPrivacyOfBoundsSelection() throws {
        func outcomes(rowsNearThreshold: Int, seed: UInt64) throws -> [Int] {
            var selector = try ApproxBounds(epsilon: 1, maxRowsPerID: 1, relation: .addRemove)
            for _ in 0..<40 { selector.add(field: "100") }
            for _ in 0..<rowsNearThreshold { selector.add(field: "3") }
            var rng = SeededGenerator(seed: seed)
            return (0..<20_000).map { _ in
                let b = selector.select(using: &rng)
                return Int(b.lowerBound.exponent) * 1000 + Int(b.upperBound.exponent) + (b.lowerBound < 0 ? 500_000 : 0)
            }
        }
        let threshold = try ApproxBounds(epsilon: 1, maxRowsPerID: 1, relation: .addRemove).threshold
        let a = try outcomes(rowsNearThreshold: Int(threshold) - 1, seed: 71)
        let b = try outcomes(rowsNearThreshold: Int(threshold), seed: 72)
        XCTAssertGreaterThan(Set(a).count, 1, "both selections occur")
        XCTAssertEqual(Stats.violations(a, b, epsilon: 1), 0)
        XCTAssertGreaterThan(Stats.violations(a, b, epsilon: 0.3), 0)
    }

    /// Adding one row of norm C to a clipped vector sum: each coordinate's
    /// release (post-processing of the vector) is (epsilon, delta)-close.
    func testEmpiricalPrivacyOfVectorSum() throws {
        func outcomes(rows: Int, seed: UInt64) throws -> [Int] {
            let acc = try VectorAccumulator(kind: .vectorSum, dimension: 2, clipNorm: 1, epsilon: 1, delta: 1e-5)
            for _ in 0..<rows { acc.add(fields: ["0.6", "0.8"]) }
            var rng = SeededGenerator(seed: seed)
            return (0..<20_000).map { _ in Int((acc.release(columns: ["x", "y"], using: &rng).vector![1] / 0.5).rounded(.down)) }
        }
        let a = try outcomes(rows: 5, seed: 81)
        let b = try outcomes(rows: 6, seed: 82)
        XCTAssertEqual(Stats.eventViolations(a, b, epsilon: 1, delta: 1e-5), 0)
        XCTAssertEqual(Stats.violations(a, b, epsilon: 1), 0)
        XCTAssertGreaterThan(Stats.eventViolations(a, b, epsilon: 0.05, delta: 1e-5), 0)
    }
}
