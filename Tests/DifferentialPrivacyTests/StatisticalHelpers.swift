import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// The statistical tests' deterministic generator (TestSupport's SplitMix64),
/// so they are reproducible. Production code never sees it.
typealias SeededGenerator = SplitMix64
extension SplitMix64: DPRandomSource {}

enum Stats {
    /// Google-style approximate-DP check on outcome frequencies: for every
    /// outcome o, P1(o) <= e^eps P2(o) (and symmetrically), allowing a
    /// sampling margin of 4.75 standard errors per outcome. Returns the
    /// number of outcomes that violate it.
    static func violations(_ a: [Int], _ b: [Int], epsilon: Double) -> Int {
        var ca: [Int: Int] = [:], cb: [Int: Int] = [:]
        for x in a { ca[x, default: 0] += 1 }
        for x in b { cb[x, default: 0] += 1 }
        let n = Double(a.count), e = exp(epsilon)
        var bad = 0
        for o in Set(ca.keys).union(cb.keys) {
            let p1 = Double(ca[o] ?? 0) / n, p2 = Double(cb[o] ?? 0) / n
            for (x, y) in [(p1, p2), (p2, p1)] {
                let se = (x * (1 - x) / n + e * e * y * (1 - y) / n).squareRoot() + 1 / n
                if x - e * y > Stats.z1e6 * se { bad += 1 }
            }
        }
        return bad
    }

    /// The same check on threshold events {o >= t} and {o <= t}, with an
    /// additive delta: P1(E) <= e^eps P2(E) + delta, both directions.
    static func eventViolations(_ a: [Int], _ b: [Int], epsilon: Double, delta: Double) -> Int {
        let sa = a.sorted(), sb = b.sorted()
        let n = Double(a.count), e = exp(epsilon)
        func atLeast(_ s: [Int], _ t: Int) -> Double {
            var lo = 0, hi = s.count
            while lo < hi { let m = (lo + hi) / 2; if s[m] < t { lo = m + 1 } else { hi = m } }
            return Double(s.count - lo) / n
        }
        var bad = 0
        for t in Set(a).union(b) {
            let events = [(atLeast(sa, t), atLeast(sb, t)), (1 - atLeast(sa, t + 1), 1 - atLeast(sb, t + 1))]
            for (p1, p2) in events {
                for (x, y) in [(p1, p2), (p2, p1)] {
                    let se = (x * (1 - x) / n + e * e * y * (1 - y) / n).squareRoot() + 1 / n
                    if x - e * y - delta > Stats.z1e6 * se { bad += 1 }
                }
            }
        }
        return bad
    }

    /// One-sided standard normal quantile for a false-positive rate of 1e-6.
    static let z1e6 = 4.7534

    /// Chi-square critical value at false-positive rate 1e-6 (Wilson-Hilferty).
    static func chiSquareCritical(df: Int) -> Double {
        let k = Double(df)
        let t = 1 - 2 / (9 * k) + z1e6 * (2 / (9 * k)).squareRoot()
        return k * t * t * t
    }

    /// Pearson's chi-square of `observed` against `probability(x)`, bins with
    /// expected count < 5 merged into one "rest" bin. Returns (statistic, df).
    static func chiSquare(observed: [Int: Int], total: Int, support: ClosedRange<Int>, probability: (Int) -> Double) -> (Double, Int) {
        var stat = 0.0, bins = 0, restExpected = 0.0, restObserved = 0
        var inSupport = 0
        for x in support {
            let e = probability(x) * Double(total)
            let o = observed[x] ?? 0
            inSupport += o
            if e < 5 { restExpected += e; restObserved += o; continue }
            stat += (Double(o) - e) * (Double(o) - e) / e
            bins += 1
        }
        restObserved += total - inSupport
        let supportMass = support.reduce(0.0) { $0 + probability($1) }
        restExpected += max(0, 1 - supportMass) * Double(total)
        if restExpected > 0 {
            stat += (Double(restObserved) - restExpected) * (Double(restObserved) - restExpected) / restExpected
            bins += 1
        } else {
            XCTAssertEqual(restObserved, 0, "samples outside the support")
        }
        return (stat, bins - 1)
    }

    /// Discrete Laplace pmf with scale b.
    static func discreteLaplacePMF(scale b: Double) -> (Int) -> Double {
        let p = exp(-1 / b)
        return { x in (1 - p) / (1 + p) * pow(p, Double(abs(x))) }
    }

    /// Discrete Gaussian pmf with variance parameter sigma2 (normalised numerically).
    static func discreteGaussianPMF(sigma2: Double) -> (Int) -> Double {
        let limit = Int(sigma2.squareRoot() * 50) + 50
        var z = 0.0
        for x in -limit...limit { z += exp(-Double(x * x) / (2 * sigma2)) }
        return { x in exp(-Double(x * x) / (2 * sigma2)) / z }
    }
}
