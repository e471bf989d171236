import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// Accounting checked against Google's `dp-accounting` (PyPI), an
/// independent implementation, in a virtual environment the test makes.
final class AccountingInteropTests: XCTestCase {
    static let grid: [(q: Double, sigma: Double, steps: Int, delta: Double)] = {
        var g: [(Double, Double, Int, Double)] = []
        for q in [0.001, 0.01, 0.1] {
            for sigma in [0.5, 0.8, 1.1, 2.0, 5.0] {
                for steps in [10, 1000, 20000] { g.append((q, sigma, steps, 1e-5)) }
            }
        }
        g.append((0.02, 1.0, 500, 1e-7))
        g.append((1.0, 3.0, 100, 1e-6))    // full batch (no subsampling)
        return g
    }()

    func python(_ script: String) throws -> String {
        let python = try TestSupport.python()
        let r = try TestSupport.run(python, ["-c", script])
        XCTAssertEqual(r.status, 0, r.stderrText)
        return r.stdoutText
    }

    func testDPSGDEpsilonMatchesDPAccounting() throws {
        let cases = Self.grid.map { "(\($0.q), \($0.sigma), \($0.steps), \($0.delta))" }.joined(separator: ",")
        let out = try python("""
        import dp_accounting as dpa
        for q, s, n, d in [\(cases)]:
            acc = dpa.rdp.RdpAccountant()
            acc.compose(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(s)), n)
            print(repr(float(acc.get_epsilon(d))))
        """)
        let expected = out.split(separator: "\n").map { Double($0)! }
        XCTAssertEqual(expected.count, Self.grid.count)
        for (c, theirs) in zip(Self.grid, expected) {
            let ours = DPSGDAccountant.epsilon(noiseMultiplier: c.sigma, sampleRate: c.q, steps: c.steps, delta: c.delta, method: .rdp).epsilon
            XCTAssertEqual(ours, theirs, accuracy: max(1e-9, 1e-3 * abs(theirs)), "q=\(c.q) sigma=\(c.sigma) steps=\(c.steps): ours \(ours) theirs \(theirs)")
        }
    }

    func testRDPOfSubsampledGaussianMatchesAtEveryOrder() throws {
        let out = try python("""
        from dp_accounting.rdp import rdp_privacy_accountant as r
        for x in r._compute_rdp_poisson_subsampled_gaussian(0.01, 1.3, r.DEFAULT_RDP_ORDERS): print(repr(float(x)))
        print(len(r.DEFAULT_RDP_ORDERS))
        """)
        let values = out.split(separator: "\n").map { Double($0)! }
        XCTAssertEqual(Int(values.last!), RDPAccountant.defaultOrders.count)
        let ours = RDPAccountant.rdpPoissonSubsampledGaussian(sampleRate: 0.01, noiseMultiplier: 1.3)
        for (i, (a, b)) in zip(ours, values.dropLast()).enumerated() where b.isFinite {
            XCTAssertEqual(a, b, accuracy: max(1e-12, 1e-3 * abs(b)), "order \(RDPAccountant.defaultOrders[i])")
        }
    }

    func testSmallestNoiseMultiplierMatchesCalibration() throws {
        let cases: [(eps: Double, q: Double, steps: Int, delta: Double)] = [(1, 0.01, 1000, 1e-5), (3, 0.004, 15000, 1e-5), (8, 0.1, 100, 1e-6)]
        let list = cases.map { "(\($0.eps), \($0.q), \($0.steps), \($0.delta))" }.joined(separator: ",")
        let out = try python("""
        import dp_accounting as dpa
        for e, q, n, d in [\(list)]:
            f = lambda s: dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(s)), n)
            s = dpa.calibrate_dp_mechanism(dpa.rdp.RdpAccountant, f, e, d, tol=1e-7)
            print(repr(float(s)))
        """)
        for (c, line) in zip(cases, out.split(separator: "\n")) {
            let theirs = Double(line)!
            let ours = try XCTUnwrap(DPSGDAccountant.smallestNoiseMultiplier(targetEpsilon: c.eps, sampleRate: c.q, steps: c.steps, delta: c.delta, method: .rdp))
            XCTAssertEqual(ours.noiseMultiplier, theirs, accuracy: 1e-3 * theirs)
            XCTAssertLessThanOrEqual(ours.epsilon, c.eps)
        }
    }

    func testZCDPConversionAgreesWithRDPOfGaussian() throws {
        // A Gaussian with noise multiplier s is rho = 1/(2 s^2) zCDP; dp_accounting's
        // RDP accountant converts the same curve over its discrete orders, so our
        // continuous optimum must be <= theirs and very close.
        let sigmas = [0.7, 1.0, 3.0, 10.0]
        let out = try python("""
        import dp_accounting as dpa
        for s in \(sigmas):
            acc = dpa.rdp.RdpAccountant(); acc.compose(dpa.GaussianDpEvent(s)); print(repr(float(acc.get_epsilon(1e-6))))
        """)
        for (s, line) in zip(sigmas, out.split(separator: "\n")) {
            let theirs = Double(line)!
            let ours = ZCDP.epsilon(rho: 1 / (2 * s * s), delta: 1e-6)
            XCTAssertLessThanOrEqual(ours, theirs * (1 + 1e-9))
            XCTAssertEqual(ours, theirs, accuracy: 0.01 * theirs)
            XCTAssertEqual(ZCDP.rho(epsilon: ours, delta: 1e-6), 1 / (2 * s * s), accuracy: 1e-6 / (s * s))
        }
    }

    func testAnalyticGaussianAgainstScipy() throws {
        let cases: [(eps: Double, delta: Double)] = [(0.1, 1e-5), (1, 1e-6), (4, 1e-9), (10, 1e-5)]
        let list = cases.map { "(\($0.eps), \($0.delta))" }.joined(separator: ",")
        var script = "from scipy.stats import norm\nimport math\n"
        for c in cases {
            let s = AnalyticGaussian.sigma(epsilon: c.eps, delta: c.delta)
            script += "e, s = \(c.eps), \(s)\nprint(repr(float(norm.cdf(1/(2*s) - e*s) - math.exp(e)*norm.cdf(-1/(2*s) - e*s))))\n"
        }
        _ = list
        let out = try python(script)
        for (c, line) in zip(cases, out.split(separator: "\n")) {
            let delta = Double(line)!
            // scipy's independent evaluation at our sigma hits the target delta.
            XCTAssertEqual(delta, c.delta, accuracy: 1e-4 * c.delta, "eps \(c.eps)")
        }
        // Monotone: more noise, smaller delta.
        XCTAssertLessThan(AnalyticGaussian.delta(sigma: 2, epsilon: 1), AnalyticGaussian.delta(sigma: 1, epsilon: 1))
    }

    func testAdvancedCompositionAgainstExactKOVFormula() throws {
        // Kairouz-Oh-Viswanath optimal composition evaluated with exact fractions in Python.
        let cases: [(eps: Double, delta: Double, k: Int, target: Double)] = [(0.1, 0, 50, 1e-5), (0.05, 1e-8, 200, 1e-5), (1, 0, 10, 1e-3)]
        var script = "from fractions import Fraction as F\nimport math\n"
        script += """
        def kov(eps, delta, k, target):
            best = k * eps
            e = math.exp(eps)
            for i in range(k // 2 + 1):
                di = sum(math.comb(k, l) * (math.exp((k - l) * eps) - math.exp((k - 2 * i + l) * eps)) for l in range(i)) / (1 + e) ** k
                total = 1 - (1 - delta) ** k * (1 - di)
                if total <= target: best = min(best, (k - 2 * i) * eps)
            return best

        """
        for c in cases { script += "print(repr(float(kov(\(c.eps), \(c.delta), \(c.k), \(c.target)))))\n" }
        let out = try python(script)
        for (c, line) in zip(cases, out.split(separator: "\n")) {
            let theirs = Double(line)!
            let ours = try XCTUnwrap(Composition.advanced(epsilon: c.eps, delta: c.delta, count: c.k, targetDelta: c.target))
            XCTAssertLessThanOrEqual(ours.delta, c.target)
            // Ours takes the minimum with DRV, so it is at most the KOV point and at most k * eps.
            XCTAssertLessThanOrEqual(ours.epsilon, theirs * (1 + 1e-9))
            XCTAssertLessThanOrEqual(ours.epsilon, Double(c.k) * c.eps * (1 + 1e-12))
            let drv = c.eps * (2 * Double(c.k) * log(1 / (c.target - Double(c.k) * c.delta))).squareRoot() + Double(c.k) * c.eps * expm1(c.eps)
            XCTAssertEqual(ours.epsilon, min(theirs, drv, Double(c.k) * c.eps), accuracy: 1e-9 * theirs)
        }
        XCTAssertEqual(Composition.basic([PrivacyCost(epsilon: 0.5, delta: 1e-6), PrivacyCost(epsilon: 0.25)]), PrivacyCost(epsilon: 0.75, delta: 1e-6))
        XCTAssertEqual(Composition.zcdp([0.1, 0.2]), 0.3, accuracy: 1e-15)
    }
}
