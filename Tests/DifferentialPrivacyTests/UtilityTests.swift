import DifferentialPrivacy
import Foundation
import XCTest

/// Utility at a huge epsilon, where the noise is negligible: every
/// statistic must come out within a stated tolerance of the exact value on
/// the clamped data. Regression (issue #22, grid sized from max(|L|,|U|)):
/// variance with bounds 1000,1000.1 at epsilon 1e6 returned 0.0025 (the
/// largest possible) for a true 0.000835.
final class UtilityTests: XCTestCase {
    func released(_ spec: StatisticSpec, _ values: [Double], seed: UInt64 = 5) throws -> DPRelease {
        let acc = try StatisticAccumulator(spec: spec)
        for v in values { acc.add(v) }
        var rng = SeededGenerator(seed: seed)
        return try acc.release(using: &rng)
    }

    static func variance(_ x: [Double]) -> Double {
        let m = x.reduce(0, +) / Double(x.count)
        return x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count)
    }

    func testGridIsSizedFromTheWidthOfTheBounds() throws {
        let values = (0..<300).map { 1000 + 0.1 * Double($0 % 11) / 10 }
        let truth = Self.variance(values)
        XCTAssertEqual(truth, 0.0010, accuracy: 2e-4)
        for relation in NeighbouringRelation.allCases {
            let r = try released(StatisticSpec(statistic: .variance, bounds: 1000...1000.1, relation: relation, epsilon: 1e6), values)
            // Tolerance: 1e-3 of ((U - L)/2)^2 = 2.5e-6.
            XCTAssertEqual(r.value!, truth, accuracy: 2.5e-6, "\(relation)")
            let m = try released(StatisticSpec(statistic: .mean, bounds: 1000...1000.1, relation: relation, epsilon: 1e6), values)
            XCTAssertEqual(m.value!, values.reduce(0, +) / 300, accuracy: 1e-6)
        }
        // Far from zero, a narrow range keeps its resolution: 2^-20 of the width.
        let far = (0..<100).map { 1e12 + Double($0 % 5) }
        let r = try released(StatisticSpec(statistic: .variance, bounds: 1e12...(1e12 + 4), relation: .replaceOne, epsilon: 1e6), far)
        XCTAssertEqual(r.value!, 2, accuracy: 1e-3)
    }

    /// Every statistic, both relations, both mechanisms, at epsilon 1e6
    /// (delta 1e-6): count and histogram exact; sum within n * 2^-20 (U - L)
    /// plus 100 grid steps; mean within 1e-5 (U - L); variance within 1e-5
    /// (U - L)^2; quantile within one candidate step of an exact q-quantile.
    func testUtilityAtHugeEpsilonForEveryStatistic() throws {
        let values = (0..<400).map { Double(($0 * 37) % 101) - 20 }   // -20 ... 80, some clamped below by bounds -10...90
        let bounds = -10.0...90.0
        let clamped = values.map { min(max($0, -10), 90) }
        let width = 100.0
        let n = Double(values.count)
        var checked = 0
        for relation in NeighbouringRelation.allCases {
            for (mechanism, delta) in [(NoiseMechanism.laplace, 0.0), (.gaussian, 1e-6)] {
                func spec(_ s: Statistic) -> StatisticSpec {
                    StatisticSpec(statistic: s, bounds: bounds, relation: relation, mechanism: mechanism, epsilon: 1e6, delta: delta)
                }
                let label = "\(relation) \(mechanism)"
                XCTAssertEqual(try released(spec(.count), values).value, n, label)
                let sum = try released(spec(.sum), values)
                let g = pow(2, Double(sum.components[0].gridExponent!))
                XCTAssertEqual(sum.value!, clamped.reduce(0, +), accuracy: n * width * 0x1p-20 + 100 * g, label)
                XCTAssertEqual(try released(spec(.mean), values).value!, clamped.reduce(0, +) / n, accuracy: 1e-5 * width, label)
                XCTAssertEqual(try released(spec(.variance), values).value!, Self.variance(clamped), accuracy: 1e-5 * width * width, label)
                let histogram = try released(spec(.histogram(categories: ["a", "b"])), [])
                XCTAssertEqual(histogram.histogram!.map(\.count), [0, 0], label)
                checked += 5
                if mechanism == .laplace {
                    for q in [0.1, 0.5, 0.9] {
                        let v = try released(spec(.quantile(q: q, candidates: 1001)), values).value!
                        // v is optimal: #{x < v} is as close to q n as any candidate allows.
                        let step = width / 1000
                        let below = Double(clamped.filter { $0 < v }.count), belowNext = Double(clamped.filter { $0 < v + step }.count)
                        let belowPrev = Double(clamped.filter { $0 < v - step }.count)
                        XCTAssertTrue(abs(below - q * n) <= abs(belowNext - q * n) && abs(below - q * n) <= abs(belowPrev - q * n),
                                      "\(label) q=\(q): \(v)")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(checked, 26)
        // Histogram with data: exact bins.
        let acc = try StatisticAccumulator(spec: StatisticSpec(statistic: .histogram(categories: ["a", "b", "c"]), epsilon: 1e6))
        for f in ["a", "b", "b", "x", "c", "c", "c"] { acc.add(field: f) }
        var rng = SeededGenerator(seed: 2)
        XCTAssertEqual(try acc.release(using: &rng).histogram!.map(\.count), [1, 2, 3])
    }
}
