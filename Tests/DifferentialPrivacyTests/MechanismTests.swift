import DifferentialPrivacy
import Foundation
import XCTest

/// Statistics and mechanisms: noise moments, confidence intervals, the
/// empirical privacy loss on neighbouring inputs, validation.
final class MechanismTests: XCTestCase {
    func accumulator(_ spec: StatisticSpec, values: [Double]) throws -> StatisticAccumulator {
        let acc = try StatisticAccumulator(spec: spec)
        for v in values { acc.add(v) }
        return acc
    }

    func releases(_ acc: StatisticAccumulator, count: Int, seed: UInt64) throws -> [DPRelease] {
        var rng = SeededGenerator(seed: seed)
        return try (0..<count).map { _ in try acc.release(using: &rng) }
    }

    // MARK: moments

    func testLaplaceCountNoiseMomentsMatchTheory() throws {
        let acc = try accumulator(StatisticSpec(statistic: .count, epsilon: 0.5), values: Array(repeating: 1, count: 10))
        let noise = try releases(acc, count: 20_000, seed: 21).map { $0.value! - 10 }
        let b = 2.0, p = exp(-1 / b)
        let pmf = Stats.discreteLaplacePMF(scale: b)
        let variance = 2 * p / ((1 - p) * (1 - p))
        let mu4 = (-400...400).reduce(0.0) { $0 + pow(Double($1), 4) * pmf($1) }
        let n = Double(noise.count)
        let mean = noise.reduce(0, +) / n
        let sampleVariance = noise.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        XCTAssertLessThan(abs(mean), Stats.z1e6 * (variance / n).squareRoot())
        XCTAssertLessThan(abs(sampleVariance - variance), Stats.z1e6 * ((mu4 - variance * variance) / n).squareRoot(),
                          "sample variance \(sampleVariance) vs \(variance)")
    }

    func testGaussianSumNoiseVarianceMatchesCalibration() throws {
        let spec = StatisticSpec(statistic: .sum, bounds: 0...1, mechanism: .gaussian, epsilon: 1, delta: 1e-5)
        let acc = try accumulator(spec, values: [0.25, 0.5, 0.75])
        let rel = try releases(acc, count: 8_000, seed: 22)
        let component = rel[0].components[0]
        let g = pow(2.0, Double(component.gridExponent!))
        let sigma2 = component.parameterValue * g * g
        // sigma from zCDP: rho = Delta^2 / (2 sigma^2) with the conversion of the requested (eps, delta).
        let rho = ZCDP.rho(epsilon: 1, delta: 1e-5)
        XCTAssertEqual(rel[0].cost.rho!, rho, accuracy: rho * 1e-6)
        XCTAssertLessThanOrEqual(ZCDP.epsilon(rho: rel[0].cost.rho!, delta: 1e-5), 1)
        let noise = rel.map { $0.value! - 1.5 }
        let n = Double(noise.count)
        let mean = noise.reduce(0, +) / n
        let v = noise.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        XCTAssertLessThan(abs(mean), Stats.z1e6 * (sigma2 / n).squareRoot())
        XCTAssertLessThan(abs(v - sigma2), Stats.z1e6 * (2 * sigma2 * sigma2 / n).squareRoot(), "variance \(v) vs \(sigma2)")
    }

    func testConfidenceIntervalsCoverTheTruth() throws {
        let values = (0..<50).map { Double($0 % 10) }   // mean 4.5, variance 8.25
        let cases: [(StatisticSpec, Double)] = [
            (StatisticSpec(statistic: .count, epsilon: 0.3), 50),
            (StatisticSpec(statistic: .sum, bounds: 0...10, epsilon: 0.5), 225),
            (StatisticSpec(statistic: .mean, bounds: 0...10, epsilon: 1), 4.5),
            (StatisticSpec(statistic: .mean, bounds: 0...10, relation: .replaceOne, mechanism: .gaussian, epsilon: 1, delta: 1e-6), 4.5),
            (StatisticSpec(statistic: .variance, bounds: 0...10, epsilon: 2), 8.25),
        ]
        for (i, (spec, truth)) in cases.enumerated() {
            let rel = try releases(try accumulator(spec, values: values), count: 2_000, seed: 30 + UInt64(i))
            let covered = rel.filter { r in
                let ci = r.confidenceInterval95!
                return ci[0] - 1e-9 <= truth && truth <= ci[1] + 1e-9
            }.count
            // Coverage >= 95%: binomial lower tail at 1e-6.
            let expected = 0.95 * 2000, sd = (2000 * 0.95 * 0.05).squareRoot()
            XCTAssertGreaterThan(Double(covered), expected - Stats.z1e6 * sd, "\(spec.statistic.name): coverage \(covered)/2000")
        }
    }

    // MARK: empirical privacy loss

    func violations(_ a: [Int], _ b: [Int], epsilon: Double) -> Int { Stats.violations(a, b, epsilon: epsilon) }
    func eventViolations(_ a: [Int], _ b: [Int], epsilon: Double, delta: Double) -> Int {
        Stats.eventViolations(a, b, epsilon: epsilon, delta: delta)
    }

    func testEmpiricalPrivacyLossOfGaussianCount() throws {
        let spec = StatisticSpec(statistic: .count, mechanism: .gaussian, epsilon: 1, delta: 1e-5)
        let a = try outcomes(spec, Array(repeating: 0, count: 30), seed: 47, count: 40_000)
        let b = try outcomes(spec, Array(repeating: 0, count: 31), seed: 48, count: 40_000)
        XCTAssertEqual(eventViolations(a, b, epsilon: 1, delta: 1e-5), 0)
        XCTAssertEqual(violations(a, b, epsilon: 1), 0)
        XCTAssertGreaterThan(eventViolations(a, b, epsilon: 0.1, delta: 1e-5), 0)
    }

    func outcomes(_ spec: StatisticSpec, _ values: [Double], seed: UInt64, count: Int = 60_000, bucket: Double = 1) throws -> [Int] {
        try releases(try accumulator(spec, values: values), count: count, seed: seed).map { Int(($0.value! / bucket).rounded(.down)) }
    }

    func testEmpiricalPrivacyLossOfCount() throws {
        let spec = StatisticSpec(statistic: .count, epsilon: 1)
        let a = try outcomes(spec, Array(repeating: 0, count: 20), seed: 40)
        let b = try outcomes(spec, Array(repeating: 0, count: 21), seed: 41)
        XCTAssertEqual(violations(a, b, epsilon: 1), 0)
        // The test has power: the same samples violate a claim of half the epsilon.
        XCTAssertGreaterThan(violations(a, b, epsilon: 0.5), 0)
    }

    func testEmpiricalPrivacyLossOfMeanReplaceOne() throws {
        let spec = StatisticSpec(statistic: .mean, bounds: 0...1, relation: .replaceOne, epsilon: 1)
        let base = Array(repeating: 0.0, count: 5)
        let a = try outcomes(spec, base, seed: 42, bucket: 0.05)
        let b = try outcomes(spec, [1.0] + base.dropFirst(), seed: 43, bucket: 0.05)
        XCTAssertEqual(violations(a, b, epsilon: 1), 0)
        XCTAssertGreaterThan(violations(a, b, epsilon: 0.5), 0)
    }

    /// Sum under add-remove on the width-sized grid: adding one record at
    /// the upper bound stays within e^epsilon.
    func testEmpiricalPrivacyLossOfSum() throws {
        let spec = StatisticSpec(statistic: .sum, bounds: 0...1, epsilon: 1)
        let base = Array(repeating: 0.5, count: 5)
        let a = try outcomes(spec, base, seed: 48, bucket: 0.25)
        let b = try outcomes(spec, base + [1], seed: 49, bucket: 0.25)
        XCTAssertEqual(violations(a, b, epsilon: 1), 0)
        XCTAssertGreaterThan(violations(a, b, epsilon: 0.5), 0)
    }

    func testEmpiricalPrivacyLossOfQuantile() throws {
        let spec = StatisticSpec(statistic: .quantile(q: 0.5, candidates: 11), bounds: 0...10, epsilon: 1)
        let data = [1.0, 2, 3, 4, 5, 6, 7]
        let a = try outcomes(spec, data, seed: 44, count: 12_000)
        let b = try outcomes(spec, data + [10], seed: 45, count: 12_000)
        XCTAssertEqual(violations(a, b, epsilon: 1), 0)
        // The sampler is the exact exponential mechanism: chi-square against
        // weights exp(-eps |#{x < c} - q n| / 2) over candidates c = 0 ... 10.
        var weights: [Double] = []
        for c in 0...10 {
            let below = Double(data.filter { $0 < Double(c) }.count)
            let utility = -abs(below - 0.5 * Double(data.count))
            weights.append(exp(utility / 2))
        }
        let total = weights.reduce(0, +)
        var counts: [Int: Int] = [:]
        for x in a { counts[x, default: 0] += 1 }
        let (stat, df) = Stats.chiSquare(observed: counts, total: a.count, support: 0...10) { weights[$0] / total }
        XCTAssertLessThan(stat, Stats.chiSquareCritical(df: df))
    }

    func testQuantileConcentratesOnTheTrueQuantile() throws {
        let data = (0..<1000).map { Double($0 % 100) }
        let spec = StatisticSpec(statistic: .quantile(q: 0.25, candidates: 101), bounds: 0...100, epsilon: 2)
        let rel = try releases(try accumulator(spec, values: data), count: 200, seed: 46)
        let median = rel.map { $0.value! }.sorted()[100]
        XCTAssertEqual(median, 25, accuracy: 2)
        XCTAssertNotNil(rel[0].rankErrorBound95)
    }

    // MARK: histogram and validation

    func testHistogramDropsUndeclaredCategoriesAndNoisesEachBin() throws {
        let acc = try StatisticAccumulator(spec: StatisticSpec(statistic: .histogram(categories: ["a", "b"]), epsilon: 2))
        for _ in 0..<30 { acc.add(field: "a") }
        for _ in 0..<500 { acc.add(field: "c") }
        let rel = try releases(acc, count: 3_000, seed: 50)
        let meanA = rel.map { $0.histogram![0].count }.reduce(0, +) / 3000
        let meanB = rel.map { $0.histogram![1].count }.reduce(0, +) / 3000
        XCTAssertEqual(meanA, 30, accuracy: 0.2)
        XCTAssertEqual(meanB, 0, accuracy: 0.2)
        XCTAssertEqual(rel[0].histogram!.map(\.category), ["a", "b"])
    }

    func testValidationRejectsBadQueriesAndValues() throws {
        XCTAssertThrowsError(try StatisticAccumulator(spec: StatisticSpec(statistic: .sum, epsilon: 1)))   // no bounds
        XCTAssertThrowsError(try StatisticAccumulator(spec: StatisticSpec(statistic: .count, epsilon: 0)))
        XCTAssertThrowsError(try StatisticAccumulator(spec: StatisticSpec(statistic: .count, epsilon: .nan)))
        XCTAssertThrowsError(try StatisticAccumulator(spec: StatisticSpec(statistic: .count, epsilon: 1, delta: 1e-5)))   // laplace + delta
        XCTAssertThrowsError(try StatisticAccumulator(spec: StatisticSpec(statistic: .count, mechanism: .gaussian, epsilon: 1)))
        XCTAssertThrowsError(try StatisticAccumulator(spec: StatisticSpec(statistic: .mean, bounds: 0...Double.infinity, epsilon: 1)))
        XCTAssertThrowsError(try StatisticAccumulator(spec: StatisticSpec(statistic: .histogram(categories: []), epsilon: 1)))
    }

    func testExtremeBudgetsUseTheBigIntegerPaths() throws {
        for spec in [StatisticSpec(statistic: .count, epsilon: 1e-15),
                     StatisticSpec(statistic: .count, mechanism: .gaussian, epsilon: 1e-9, delta: 1e-12),
                     StatisticSpec(statistic: .sum, bounds: -1e9...1e9, epsilon: 1e-6)] {
            let rel = try releases(try accumulator(spec, values: [1, 2, 3]), count: 3, seed: 70)
            XCTAssertTrue(rel.allSatisfy { $0.value!.isFinite })
            XCTAssertGreaterThan(rel[0].noiseHalfWidth95!, 1e5)
        }
        // Huge epsilon: tiny noise, still exact and finite.
        let rel = try releases(try accumulator(StatisticSpec(statistic: .count, epsilon: 1e6), values: [1, 2, 3]), count: 20, seed: 71)
        XCTAssertTrue(rel.allSatisfy { $0.value == 3 })
    }

    func testClampingBoundsTheInfluenceOfOutliers() throws {
        let spec = StatisticSpec(statistic: .mean, bounds: 0...10, relation: .replaceOne, epsilon: 50)
        let rel = try releases(try accumulator(spec, values: [5, 5, 5, 1e12]), count: 200, seed: 60)
        let mean = rel.map { $0.value! }.reduce(0, +) / 200
        XCTAssertEqual(mean, 6.25, accuracy: 0.1)   // the outlier counts as 10
    }
}
