import Foundation

/// Privacy loss distribution (PLD) accounting for DP-SGD with Poisson
/// sampling: each step is the Gaussian mechanism (L2 sensitivity 1, noise
/// standard deviation sigma) on a Poisson sample of rate q, under the
/// add/remove relation.
///
/// The two directions are accounted separately and the larger epsilon is
/// reported, as `dp_accounting` does:
/// - remove: P = (1 - q) N(0, s^2) + q N(1, s^2), Q = N(0, s^2);
/// - add:    P = N(0, s^2), Q = (1 - q) N(0, s^2) + q N(1, s^2).
/// Each direction's exact hockey-stick divergence delta(epsilon) is
/// evaluated on a grid of spacing h (default 1e-4) and discretised with
/// pessimistic connect-the-dots (``PrivacyLossDistribution``); the
/// composition over the steps is one FFT power with a Chernoff-bounded
/// window. Every approximation is pessimistic, so the epsilon reported
/// is an upper bound (up to floating-point error of the FFT, far below
/// the deltas of interest). Checked against `dp_accounting`'s
/// `PLDAccountant` in the test suite.
public enum PLDAccountant {
    /// The default grid spacing of privacy losses (as `dp_accounting`).
    public static let defaultDiscretization = 1e-4

    /// Standard normal tail P[Z > z], as a logarithm (accurate in the far tail).
    static func logNormalTail(_ z: Double) -> Double { SpecialFunctions.logNormalCDF(-z) }

    /// Privacy loss of the remove direction at output x:
    /// ln(1 - q + q e^{(2x - 1)/(2 s^2)}) (increasing in x).
    static func removeLoss(_ x: Double, q: Double, sigma: Double) -> Double {
        let c = (2 * x - 1) / (2 * sigma * sigma)
        if c < 0 { return log1p(q * expm1(c)) }
        return log(q) + c + log1p((1 - q) * exp(-c) / q)
    }

    /// Exact hockey-stick divergence of the remove direction:
    /// for epsilon <= ln(1 - q): 1 - e^epsilon; otherwise with
    /// x = s^2 ln((e^epsilon - 1 + q)/q) + 1/2 (the output where the loss is epsilon),
    /// delta = q [P(Z > (x - 1)/s) - e^{(2x - 1)/(2 s^2)} P(Z > x/s)].
    static func removeDelta(_ epsilon: Double, q: Double, sigma: Double) -> Double {
        let shifted = expm1(epsilon) + q
        if shifted <= 0 { return -expm1(epsilon) }
        let s2 = sigma * sigma
        let x = s2 * (log(shifted) - log(q)) + 0.5
        let a = logNormalTail((x - 1) / sigma)
        let b = (2 * x - 1) / (2 * s2) + logNormalTail(x / sigma)
        if !(b < a) { return 0 }
        return min(1, q * exp(a) * -expm1(b - a))
    }

    /// Privacy loss of the add direction at output x (decreasing in x): minus the remove loss.
    static func addLoss(_ x: Double, q: Double, sigma: Double) -> Double { -removeLoss(x, q: q, sigma: sigma) }

    /// Exact hockey-stick divergence of the add direction: 0 for
    /// epsilon >= -ln(1 - q); otherwise with x = s^2 ln((e^{-epsilon} - 1 + q)/q) + 1/2
    /// and c = (2x - 1)/(2 s^2),
    /// delta = q e^{epsilon} [e^c P(Z < x/s) - P(Z < (x - 1)/s)].
    static func addDelta(_ epsilon: Double, q: Double, sigma: Double) -> Double {
        let shifted = expm1(-epsilon) + q
        if shifted <= 0 { return 0 }
        let s2 = sigma * sigma
        let x = s2 * (log(shifted) - log(q)) + 0.5
        let c = (2 * x - 1) / (2 * s2)
        let first = c + SpecialFunctions.logNormalCDF(x / sigma)
        let second = SpecialFunctions.logNormalCDF((x - 1) / sigma)
        if !(second < first) { return 0 }
        return min(1, q * exp(epsilon + first) * -expm1(second - first))
    }

    /// How far into the Gaussian tails the grid reaches (P[Z > 10] is about 7.6e-24).
    static let tailStandardDeviations = 10.0

    /// One direction's per-step PLD on a grid of spacing h, or nil if the
    /// grid would exceed ``PrivacyLossDistribution/maxPoints``.
    static func stepPLD(remove: Bool, q: Double, sigma: Double, h: Double) -> PrivacyLossDistribution? {
        let z = tailStandardDeviations
        let lowLoss: Double, highLoss: Double
        if remove {
            // P's mass below -z s and above 1 + z s is negligible; below goes up to the first point, above to infinity.
            lowLoss = max(removeLoss(-z * sigma, q: q, sigma: sigma), q < 1 ? log1p(-q) : -Double.infinity)
            highLoss = removeLoss(1 + z * sigma, q: q, sigma: sigma)
        } else {
            lowLoss = addLoss(z * sigma, q: q, sigma: sigma)
            highLoss = min(addLoss(-z * sigma, q: q, sigma: sigma), q < 1 ? -log1p(-q) : Double.infinity)
        }
        guard lowLoss.isFinite, highLoss.isFinite else { return nil }
        let first = (lowLoss / h).rounded(.down), last = (highLoss / h).rounded(.up)
        guard last - first + 1 <= Double(PrivacyLossDistribution.maxPoints), abs(first) < 1e15, abs(last) < 1e15 else { return nil }
        let lower = Int(first), count = Int(last) - lower + 1
        let deltas = (0..<count).map { i -> Double in
            let epsilon = Double(lower + i) * h
            return remove ? removeDelta(epsilon, q: q, sigma: sigma) : addDelta(epsilon, q: q, sigma: sigma)
        }
        return PrivacyLossDistribution.connectTheDots(discretization: h, lowerIndex: lower, deltas: deltas)
    }

    /// The epsilon of `steps` Poisson-subsampled Gaussian steps at `delta`,
    /// and the grid spacing finally used (the default is doubled while a
    /// grid or a composition window would exceed 2^22 points). nil when no
    /// spacing up to 1 fits (an astronomically long or noiseless run).
    public static func epsilon(noiseMultiplier sigma: Double, sampleRate q: Double, steps: Int, delta: Double,
                               discretization: Double = defaultDiscretization) -> (epsilon: Double, discretization: Double)? {
        precondition(sigma > 0 && q > 0 && q <= 1 && steps >= 1 && delta > 0 && delta < 1 && discretization > 0)
        var worst = 0.0, used = discretization
        for remove in [true, false] {
            var h = discretization
            while true {
                if h > 1 { return nil }
                if let one = stepPLD(remove: remove, q: q, sigma: sigma, h: h), let composed = one.selfComposed(steps) {
                    worst = max(worst, composed.epsilon(delta: delta))
                    used = max(used, h)
                    break
                }
                h *= 2
            }
        }
        return (worst, used)
    }
}
