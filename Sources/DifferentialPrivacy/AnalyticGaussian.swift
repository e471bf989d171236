import Foundation

/// The analytic Gaussian mechanism of Balle and Wang (ICML 2018): the exact
/// (epsilon, delta) curve of the continuous Gaussian mechanism, and the
/// smallest sigma achieving a target (epsilon, delta).
public enum AnalyticGaussian {
    /// The smallest delta for which N(0, sigma^2) noise on a query with L2
    /// sensitivity `sensitivity` is (epsilon, delta)-DP (Balle and Wang,
    /// Theorem 8): Phi(D/(2s) - e s/D) - e^e Phi(-D/(2s) - e s/D).
    public static func delta(sigma: Double, epsilon: Double, sensitivity: Double = 1) -> Double {
        let a = sensitivity / (2 * sigma), b = epsilon * sigma / sensitivity
        let first = SpecialFunctions.logNormalCDF(a - b)
        let second = epsilon + SpecialFunctions.logNormalCDF(-a - b)
        if second >= first { return 0 }
        return exp(SpecialFunctions.logSub(first, second))
    }

    /// The smallest sigma (to a relative precision of 1e-12, rounded up) for
    /// which the Gaussian mechanism is (epsilon, delta)-DP.
    public static func sigma(epsilon: Double, delta target: Double, sensitivity: Double = 1) -> Double {
        precondition(epsilon > 0 && target > 0 && target < 1 && sensitivity > 0)
        var lo = sensitivity * 1e-6, hi = sensitivity
        while delta(sigma: hi, epsilon: epsilon, sensitivity: sensitivity) > target { lo = hi; hi *= 2 }
        while delta(sigma: lo, epsilon: epsilon, sensitivity: sensitivity) <= target && lo > 1e-300 { hi = lo; lo /= 2 }
        while (hi - lo) > hi * 1e-12 {
            let mid = (lo + hi) / 2
            if delta(sigma: mid, epsilon: epsilon, sensitivity: sensitivity) <= target { hi = mid } else { lo = mid }
        }
        return hi
    }
}
