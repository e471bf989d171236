import DifferentialPrivacy
import Foundation
import XCTest

/// The exact samplers against their exact distributions. Every test uses a
/// fixed seed and a rejection threshold with false-positive rate 1e-6, so the
/// suite is deterministic and a real bias fails it.
final class SamplerTests: XCTestCase {
    func testBernoulliRationalMatchesProbability() {
        var rng = SeededGenerator(seed: 1)
        for (n, d) in [(3, 7), (1, 1000), (999, 1000), (0, 5), (5, 5)] {
            let trials = 40_000
            var hits = 0
            for _ in 0..<trials where ExactSamplers.bernoulli(Rational(n, d), using: &rng) { hits += 1 }
            let p = Double(n) / Double(d)
            if p == 0 || p == 1 { XCTAssertEqual(Double(hits), p * Double(trials)); continue }
            let z = (Double(hits) - p * Double(trials)) / (Double(trials) * p * (1 - p)).squareRoot()
            XCTAssertLessThan(abs(z), Stats.z1e6 + 0.5, "Bernoulli(\(n)/\(d)): \(hits) of \(trials)")
        }
    }

    func testBernoulliExpMinusMatchesExp() {
        var rng = SeededGenerator(seed: 2)
        // Includes x > 1, x = 0, and a value whose denominator needs big integers.
        let cases: [Rational] = [Rational(0), Rational(1, 3), Rational(1), Rational(5, 2), Rational(7, 3),
                                 Rational(decimal: "0.6931471805599453094172321214581765680755")!]
        for x in cases {
            let trials = 60_000
            var hits = 0
            for _ in 0..<trials where ExactSamplers.bernoulliExpMinus(x, using: &rng) { hits += 1 }
            let p = exp(-x.doubleValue)
            if p == 1 { XCTAssertEqual(hits, trials); continue }
            let z = (Double(hits) - p * Double(trials)) / (Double(trials) * p * (1 - p)).squareRoot()
            XCTAssertLessThan(abs(z), Stats.z1e6 + 0.5, "Bernoulli(exp(-\(x))): \(hits) of \(trials), expected p = \(p)")
        }
    }

    func testDiscreteLaplaceChiSquare() {
        for (scale, seed) in [(Rational(3, 2), UInt64(3)), (Rational(7), 4), (Rational(decimal: "2.50000000000000000000000000001")!, 5)] {
            var rng = SeededGenerator(seed: seed)
            let n = 60_000
            var counts: [Int: Int] = [:]
            for _ in 0..<n { counts[Int(ExactSamplers.discreteLaplace(scale: scale, using: &rng)), default: 0] += 1 }
            let b = scale.doubleValue
            let (stat, df) = Stats.chiSquare(observed: counts, total: n, support: -Int(b * 25)...Int(b * 25),
                                             probability: Stats.discreteLaplacePMF(scale: b))
            XCTAssertGreaterThan(df, 3)
            XCTAssertLessThan(stat, Stats.chiSquareCritical(df: df), "discrete Laplace scale \(scale): chi2 \(stat) df \(df)")
        }
    }

    func testDiscreteGaussianChiSquare() {
        // sigma^2 = 2 (64-bit path), 10/3, 0.3 (sigma < 1), and a value that needs big integers.
        for (sigma2, seed) in [(Rational(2), UInt64(6)), (Rational(10, 3), 7), (Rational(3, 10), 8),
                               (Rational(decimal: "5.00000000000000000000000000000001")!, 9)] {
            var rng = SeededGenerator(seed: seed)
            let n = sigma2.denominator.bitWidth > 64 ? 15_000 : 50_000
            var counts: [Int: Int] = [:]
            for _ in 0..<n { counts[Int(ExactSamplers.discreteGaussian(sigma2: sigma2, using: &rng)), default: 0] += 1 }
            let s2 = sigma2.doubleValue
            let limit = Int(s2.squareRoot() * 12) + 3
            let (stat, df) = Stats.chiSquare(observed: counts, total: n, support: -limit...limit,
                                             probability: Stats.discreteGaussianPMF(sigma2: s2))
            XCTAssertGreaterThanOrEqual(df, 2)
            XCTAssertLessThan(stat, Stats.chiSquareCritical(df: df), "discrete Gaussian sigma2 \(sigma2): chi2 \(stat) df \(df)")
        }
    }

    func testSignSymmetry() {
        var rng = SeededGenerator(seed: 10)
        var positive = 0, negative = 0
        for _ in 0..<30_000 {
            let x = ExactSamplers.discreteLaplace(scale: Rational(5), using: &rng)
            if x > 0 { positive += 1 } else if x < 0 { negative += 1 }
            let y = ExactSamplers.discreteGaussian(sigma2: Rational(9), using: &rng)
            if y > 0 { positive += 1 } else if y < 0 { negative += 1 }
        }
        let total = Double(positive + negative)
        let z = (Double(positive) - total / 2) / (total / 4).squareRoot()
        XCTAssertLessThan(abs(z), Stats.z1e6, "positive \(positive) negative \(negative)")
    }

    func testVectorNoiseMomentsMatchTheory() {
        var rng = SeededGenerator(seed: 11)
        let n = 100_000
        var values = [Int64](repeating: 5, count: n)
        let sigma2 = 100.0
        ExactSamplers.addDiscreteGaussianNoise(to: &values, sigma2: Rational(100), using: &rng)
        let noise = values.map { Double($0 - 5) }
        let mean = noise.reduce(0, +) / Double(n)
        let variance = noise.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        // Exact variance of N_Z(0, 100) from its pmf.
        let pmf = Stats.discreteGaussianPMF(sigma2: sigma2)
        let exactVariance = (-200...200).reduce(0.0) { $0 + Double($1 * $1) * pmf($1) }
        XCTAssertLessThan(abs(mean), Stats.z1e6 * (exactVariance / Double(n)).squareRoot())
        // Var of the sample variance ~ (mu4 - sigma^4) / n; mu4 = 3 sigma^4 for a near-Gaussian.
        let sd = ((3 - 1) * exactVariance * exactVariance / Double(n)).squareRoot()
        XCTAssertLessThan(abs(variance - exactVariance), Stats.z1e6 * sd, "variance \(variance) vs \(exactVariance)")
    }

    func testSecureRandomSourceProducesVaryingOutput() {
        let source = SecureRandomSource()
        var seen = Set<UInt64>()
        for _ in 0..<2000 { seen.insert(source.next()) }
        XCTAssertEqual(seen.count, 2000)
    }

    func testRationalParsingAndRounding() {
        XCTAssertEqual(Rational(decimal: "0.1"), Rational(1, 10))
        XCTAssertEqual(Rational(decimal: "-2.5e-1"), Rational(-1, 4))
        XCTAssertEqual(Rational(decimalOf: 0.1), Rational(1, 10))
        XCTAssertEqual(Rational(exactly: 0.75), Rational(3, 4))
        XCTAssertNil(Rational(decimal: "nan"))
        XCTAssertNil(Rational(decimal: "1.2.3"))
        XCTAssertNil(Rational(exactly: .infinity))
        XCTAssertEqual(Rational(1, 3).roundedUp(denominatorBits: 2), Rational(1, 2))
        XCTAssertEqual(Rational(-7, 2).floor, -4)
        XCTAssertEqual(Rational(7, 2).ceiling, 4)
    }
}
