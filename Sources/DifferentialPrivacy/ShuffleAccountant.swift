import Foundation

/// DP-SGD on shuffled batches: each epoch is a uniformly random permutation
/// of the N examples cut into consecutive batches of B, and neighbouring
/// datasets differ by replacing one example.
///
/// Amplification by shuffling is *not* claimed: accounting a shuffled run
/// as if it were Poisson-sampled understates epsilon (Chua et al., "How
/// Private are DP-SGD Implementations?", ICML 2024), and no tight
/// accountant for shuffled batches is known. The sound bound used here:
/// conditioned on the permutations (which do not depend on the data), the
/// replaced example is in exactly one batch per epoch, whose clipped sum
/// moves by at most 2 clipping norms, and every other step is the same
/// function of the earlier outputs on both datasets. So an epoch is one
/// Gaussian mechanism with sensitivity/noise ratio 2/sigma, i.e.
/// (2/sigma)-Gaussian DP, and E epochs are mu-GDP with mu = 2 sqrt(E)/sigma
/// (Dong, Roth and Su, "Gaussian Differential Privacy", JRSS B 2022,
/// Corollary 3.3). mu-GDP is (epsilon, delta)-DP exactly for
/// delta = Phi(-epsilon/mu + mu/2) - e^epsilon Phi(-epsilon/mu - mu/2)
/// (their Corollary 2.13; Balle and Wang 2018, Theorem 8). Hiding the
/// permutation from the adversary can only help (a mixture of pairs is
/// dominated by the worst pair), so this is an upper bound; it is tight for
/// an adversary who knows the permutations.
public enum ShuffleAccountant {
    /// Epochs touched by `steps` steps at q = B/N: ceil(steps q) (a partial epoch counts in full).
    public static func epochs(steps: Int, sampleRate q: Double) -> Int {
        let e = (Double(steps) * q).rounded(.up)
        return e >= Double(Int.max / 2) ? Int.max / 2 : max(1, Int(e))
    }

    /// delta(epsilon) of mu-Gaussian DP.
    public static func delta(epsilon: Double, mu: Double) -> Double {
        let a = SpecialFunctions.logNormalCDF(-epsilon / mu + mu / 2)
        let b = epsilon + SpecialFunctions.logNormalCDF(-epsilon / mu - mu / 2)
        if !(b < a) { return 0 }
        return min(1, exp(a) * -expm1(b - a))
    }

    /// The smallest epsilon >= 0 with delta(epsilon) <= `delta` for E epochs
    /// at noise multiplier sigma (bisection to 1e-12 relative, rounded up).
    public static func epsilon(noiseMultiplier sigma: Double, epochs: Int, delta target: Double) -> Double {
        let mu = 2 * Double(epochs).squareRoot() / sigma
        guard mu.isFinite, mu > 0 else { return .infinity }
        if delta(epsilon: 0, mu: mu) <= target { return 0 }
        var hi = 1.0
        while delta(epsilon: hi, mu: mu) > target { hi *= 2; if !hi.isFinite || hi > 1e12 { return .infinity } }
        var lo = 0.0
        while hi - lo > 1e-12 * hi {
            let mid = (lo + hi) / 2
            if delta(epsilon: mid, mu: mu) > target { lo = mid } else { hi = mid }
        }
        return hi
    }
}
