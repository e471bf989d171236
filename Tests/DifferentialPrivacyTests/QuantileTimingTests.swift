import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// The quantile's running time depends on the data with the default
/// (rejection) sampler (issue #22: 2.1 s for a constant column, 2.9-7.1 s
/// for spread ones). `--quantile-sampler fixed-work` samples permute-and-flip
/// with the same work for every candidate. Work is measured here as the
/// number of random words drawn, which (unlike wall time) is reproducible.
final class QuantileTimingTests: DPFileTestCase {
    /// A seeded source that counts the words it hands out.
    final class CountingSource: DPRandomSource {
        var inner: SeededGenerator
        var words = 0
        init(seed: UInt64) { inner = SeededGenerator(seed: seed) }
        func next() -> UInt64 { words += 1; return inner.next() }
    }

    func spec(_ sampler: QuantileSampler, candidates: Int = 101, epsilon: Double = 1) -> StatisticSpec {
        StatisticSpec(statistic: .quantile(q: 0.5, candidates: candidates), bounds: 0...100, epsilon: epsilon, quantileSampler: sampler)
    }

    /// Mean and variance of the words drawn per release.
    func work(_ spec: StatisticSpec, _ values: [Double], runs: Int, seed: UInt64) throws -> (mean: Double, variance: Double) {
        let acc = try StatisticAccumulator(spec: spec)
        for v in values { acc.add(v) }
        let source = CountingSource(seed: seed)
        var rng = source
        var counts: [Double] = []
        for _ in 0..<runs {
            let before = source.words
            _ = try acc.release(using: &rng)
            counts.append(Double(source.words - before))
        }
        let mean = counts.reduce(0, +) / Double(runs)
        return (mean, counts.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(runs - 1))
    }

    func testFixedWorkSamplingDoesNotDependOnTheData() throws {
        let constant = Array(repeating: 50.0, count: 2000)
        let spread = (0..<2000).map { Double($0 % 100) }
        // The default sampler: one proposal for a constant column, about m for a spread one.
        let a = try work(spec(.rejection), constant, runs: 200, seed: 1), b = try work(spec(.rejection), spread, runs: 200, seed: 2)
        XCTAssertGreaterThan(b.mean, 5 * a.mean, "the data dependence the fixed-work sampler removes: \(a.mean) vs \(b.mean)")
        // Fixed work: the same distribution of work whatever the data.
        let c = try work(spec(.fixedWork), constant, runs: 200, seed: 3), d = try work(spec(.fixedWork), spread, runs: 200, seed: 4)
        XCTAssertLessThan(abs(c.mean - d.mean), Stats.z1e6 * ((c.variance + d.variance) / 200).squareRoot(), "\(c.mean) vs \(d.mean)")
        XCTAssertGreaterThan(c.mean, 101 * 65, "every candidate gets B = 65 draws")
    }

    /// The exact permute-and-flip distribution, by enumerating orders, against samples.
    func testFixedWorkSamplerDrawsThePermuteAndFlipDistribution() throws {
        let data = [1.0, 2, 2, 3, 7, 8]
        let candidates = 5   // 0, 2.5, 5, 7.5, 10
        let epsilon = 0.8
        let s = StatisticSpec(statistic: .quantile(q: 0.5, candidates: candidates), bounds: 0...10, epsilon: epsilon, quantileSampler: .fixedWork)
        let points = (0..<candidates).map { 10 * Double($0) / Double(candidates - 1) }
        let utility = points.map { c in -abs(Double(data.filter { $0 < c }.count) - 0.5 * Double(data.count)) }
        let best = utility.max()!
        let p = utility.map { exp(epsilon * ($0 - best) / 2) }
        var pmf = [Double](repeating: 0, count: candidates)
        func permutations(_ items: [Int]) -> [[Int]] {
            items.count <= 1 ? [items] : items.indices.flatMap { i in permutations(Array(items[..<i] + items[(i + 1)...])).map { [items[i]] + $0 } }
        }
        let orders = permutations(Array(0..<candidates))
        for order in orders {
            var reach = 1.0
            for j in order { pmf[j] += reach * p[j] / Double(orders.count); reach *= 1 - p[j] }
        }
        XCTAssertEqual(pmf.reduce(0, +), 1, accuracy: 1e-12)
        let acc = try StatisticAccumulator(spec: s)
        for v in data { acc.add(v) }
        var rng = SeededGenerator(seed: 31)
        var counts: [Int: Int] = [:]
        let runs = 6_000
        for _ in 0..<runs { counts[points.firstIndex(of: try acc.release(using: &rng).value!)!, default: 0] += 1 }
        let (stat, df) = Stats.chiSquare(observed: counts, total: runs, support: 0...(candidates - 1)) { pmf[$0] }
        XCTAssertLessThan(stat, Stats.chiSquareCritical(df: df), "\(counts) vs \(pmf)")
    }

    func testEmpiricalPrivacyLossOfFixedWorkQuantile() throws {
        let s = StatisticSpec(statistic: .quantile(q: 0.5, candidates: 11), bounds: 0...10, epsilon: 1, quantileSampler: .fixedWork)
        func outcomes(_ data: [Double], seed: UInt64) throws -> [Int] {
            let acc = try StatisticAccumulator(spec: s)
            for v in data { acc.add(v) }
            var rng = SeededGenerator(seed: seed)
            return try (0..<6_000).map { _ in Int(try acc.release(using: &rng).value!) }
        }
        let data = [1.0, 2, 3, 4, 5, 6, 7]
        let a = try outcomes(data, seed: 32), b = try outcomes(data + [10], seed: 33)
        XCTAssertEqual(Stats.violations(a, b, epsilon: 1), 0)
    }

    func testFixedWorkFromTheCommandLine() throws {
        let csv = try write("d.csv", "v\n" + (0..<200).map { "\($0 % 50)" }.joined(separator: "\n") + "\n")
        var r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "quantile", "--bounds", "0,50", "--epsilon", "2",
                        "--quantile-sampler", "fixed-work", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let release = try JSONDecoder().decode(DPRelease.self, from: r.stdout)
        XCTAssertEqual(release.mechanism, "permute-and-flip")
        XCTAssertEqual(release.value!, 25, accuracy: 5)
        r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "mean", "--bounds", "0,50", "--epsilon", "2",
                    "--quantile-sampler", "fixed-work"])
        XCTAssertEqual(r.status, 2)
    }
}
