import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// DP-SGD accountants beyond RDP: the PLD accountant for Poisson sampling
/// checked against `dp_accounting`'s PLDAccountant, and the accountants of
/// fixed-size and shuffled batches against `dp_accounting` and closed forms.
final class PLDAccountingTests: XCTestCase {
    func python(_ script: String) throws -> [Double] {
        let python = try TestSupport.python()
        let r = try TestSupport.run(python, ["-c", script])
        XCTAssertEqual(r.status, 0, r.stderrText)
        return r.stdoutText.split(separator: "\n").map { Double($0)! }
    }

    static let settings: [(q: Double, sigma: Double, steps: Int, delta: Double)] = [
        (256.0 / 60000, 1.1, 14063, 1e-5),   // MNIST: 60 epochs of batch 256
        (0.01, 1.0, 1000, 1e-5),
        (0.1, 2.0, 500, 1e-6),
        (0.001, 0.8, 20000, 1e-5),
        (1.0, 3.0, 100, 1e-6),               // full batch
    ]

    /// Regression (loose DP-SGD accounting): RDP overstated epsilon (2.60
    /// instead of 2.38 for MNIST); the PLD accountant agrees with
    /// dp_accounting's within 1% on every setting.
    func testPLDMatchesDPAccountingPLD() throws {
        let list = Self.settings.map { "(\($0.q), \($0.sigma), \($0.steps), \($0.delta))" }.joined(separator: ",")
        let theirs = try python("""
        import dp_accounting as dpa
        for q, s, n, d in [\(list)]:
            acc = dpa.pld.PLDAccountant()
            acc.compose(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(s)), n)
            print(repr(float(acc.get_epsilon(d))))
        """)
        XCTAssertEqual(theirs.count, Self.settings.count)
        for (c, expected) in zip(Self.settings, theirs) {
            let ours = DPSGDAccountant.epsilon(noiseMultiplier: c.sigma, sampleRate: c.q, steps: c.steps, delta: c.delta)
            XCTAssertEqual(ours.method, "pld")
            XCTAssertEqual(ours.epsilon, expected, accuracy: 0.01 * expected, "q=\(c.q) sigma=\(c.sigma) steps=\(c.steps)")
            let rdp = DPSGDAccountant.epsilon(noiseMultiplier: c.sigma, sampleRate: c.q, steps: c.steps, delta: c.delta, method: .rdp)
            XCTAssertLessThanOrEqual(ours.epsilon, rdp.epsilon * 1.001, "PLD is never looser than RDP")
        }
        let mnist = DPSGDAccountant.epsilon(noiseMultiplier: 1.1, sampleRate: 256.0 / 60000, steps: 14063, delta: 1e-5)
        XCTAssertEqual(mnist.epsilon, 2.38, accuracy: 0.01)
    }

    /// The discrete PLD dominates: its delta at the reported epsilon is the
    /// target, and a single Gaussian (q = 1, one step) matches the exact
    /// Gaussian curve delta = Phi(-eps s + 1/(2s)) - e^eps Phi(-eps s - 1/(2s)).
    func testSingleGaussianMatchesItsExactCurve() throws {
        for sigma in [0.5, 1.0, 4.0] {
            let ours = DPSGDAccountant.epsilon(noiseMultiplier: sigma, sampleRate: 1, steps: 1, delta: 1e-6).epsilon
            let exact = ShuffleAccountant.epsilon(noiseMultiplier: 2 * sigma, epochs: 1, delta: 1e-6)  // mu = 1/sigma
            XCTAssertGreaterThanOrEqual(ours, exact - 1e-9, "sigma \(sigma): never below the exact curve")
            XCTAssertLessThan(ours, exact + 1e-3, "sigma \(sigma)")
        }
    }

    /// Fixed-size batches (replace-one, sensitivity 2 clipping norms):
    /// never below dp_accounting's tighter bound for the same event, and
    /// within 1% of it.
    func testFixedSizeSamplingAgainstDPAccounting() throws {
        let cases: [(n: Int, b: Int, sigma: Double, steps: Int, delta: Double)] = [
            (60000, 256, 1.1, 14063, 1e-5), (10000, 100, 2.0, 1000, 1e-5), (1000, 10, 3.0, 500, 1e-5),
        ]
        let list = cases.map { "(\($0.n), \($0.b), \($0.sigma), \($0.steps), \($0.delta))" }.joined(separator: ",")
        let theirs = try python("""
        import dp_accounting as dpa
        from dp_accounting.rdp import rdp_privacy_accountant as r
        # The integer orders modelsec uses (the default fractional ones take minutes here).
        orders = list(range(2, 64)) + [128, 256, 512, 1024]
        for N, B, s, n, d in [\(list)]:
            acc = r.RdpAccountant(orders=orders, neighboring_relation=dpa.NeighboringRelation.REPLACE_ONE)
            acc.compose(dpa.SampledWithoutReplacementDpEvent(N, B, dpa.GaussianDpEvent(s / 2)), n)
            print(repr(float(acc.get_epsilon(d))))
        """)
        for (c, expected) in zip(cases, theirs) {
            let ours = DPSGDAccountant.epsilon(noiseMultiplier: c.sigma, sampleRate: Double(c.b) / Double(c.n), steps: c.steps,
                                               delta: c.delta, sampling: .fixedSize)
            XCTAssertEqual(ours.relation, .replaceOne)
            XCTAssertGreaterThanOrEqual(ours.epsilon, expected * (1 - 1e-9), "\(c)")
            XCTAssertLessThanOrEqual(ours.epsilon, expected * 1.01, "\(c)")
        }
    }

    /// Regression (amplification claimed for shuffling): shuffled batches
    /// are charged one Gaussian per epoch, checked against the closed form
    /// with scipy, and cost far more than Poisson sampling would claim.
    func testShuffleChargesOneGaussianPerEpoch() throws {
        let r = DPSGDAccountant.epsilon(noiseMultiplier: 1.1, sampleRate: 256.0 / 60000, steps: 14063, delta: 1e-5, sampling: .shuffle)
        XCTAssertEqual(r.epochs, 61, "14063 steps of 256 of 60000 touch 61 epochs")
        XCTAssertEqual(r.relation, .replaceOne)
        let deltas = try python("""
        from scipy.stats import norm
        import math
        mu = 2 * math.sqrt(61) / 1.1
        for e in [\(r.epsilon), \(r.epsilon * 0.999)]:
            print(repr(float(norm.cdf(-e / mu + mu / 2) - math.exp(e) * norm.cdf(-e / mu - mu / 2))))
        """)
        XCTAssertEqual(deltas[0], 1e-5, accuracy: 1e-8)
        XCTAssertGreaterThan(deltas[1], 1e-5)
        XCTAssertGreaterThan(r.epsilon, 10 * DPSGDAccountant.epsilon(noiseMultiplier: 1.1, sampleRate: 256.0 / 60000, steps: 14063, delta: 1e-5).epsilon)
    }

    /// `--sampling` and `--accountant` on the command line, with JSON.
    func testCommandLineSamplingAndAccountant() throws {
        let base = ["dp", "sgd", "--noise-multiplier", "1.1", "--sample-rate", "0.01", "--steps", "1000", "--delta", "1e-5", "--json"]
        var results: [String: DPSGDAccountant.Result] = [:]
        for extra in [[], ["--accountant", "rdp"], ["--sampling", "fixed-size"], ["--sampling", "shuffle"]] {
            let r = try TestSupport.modelsec(base + extra)
            XCTAssertEqual(r.status, 0, r.stderrText)
            results[extra.joined(separator: " ")] = try JSONDecoder().decode(DPSGDAccountant.Result.self, from: r.stdout)
        }
        XCTAssertEqual(results[""]?.method, "pld")
        XCTAssertEqual(results["--accountant rdp"]?.method, "rdp")
        XCTAssertNotNil(results["--accountant rdp"]?.optimalOrder)
        XCTAssertEqual(results["--sampling fixed-size"]?.sampling, .fixedSize)
        XCTAssertEqual(results["--sampling shuffle"]?.epochs, 10)
        XCTAssertLessThan(results[""]!.epsilon, results["--accountant rdp"]!.epsilon)
        let refused = try TestSupport.modelsec(base + ["--sampling", "shuffle", "--accountant", "pld"])
        XCTAssertEqual(refused.status, 2)
    }
}
