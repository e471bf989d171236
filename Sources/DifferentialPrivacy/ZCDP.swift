import Foundation

/// Zero-concentrated differential privacy (Bun and Steinke 2016) and its
/// conversion to (epsilon, delta)-DP.
public enum ZCDP {
    /// rho of the (discrete or continuous) Gaussian mechanism with L2
    /// sensitivity `sensitivity` and noise variance `sigma2`:
    /// rho = sensitivity^2 / (2 sigma2) (Canonne, Kamath and Steinke 2020,
    /// Theorem 14, for the discrete Gaussian).
    public static func rho(sensitivity: Double, sigma2: Double) -> Double {
        sensitivity * sensitivity / (2 * sigma2)
    }

    /// The smallest epsilon such that rho-zCDP implies (epsilon, delta)-DP,
    /// by the improved conversion of Canonne, Kamath and Steinke (2020,
    /// Proposition 12 / Corollary 13), which treats rho-zCDP as RDP of order
    /// alpha with value alpha * rho and minimises over alpha > 1:
    /// epsilon = alpha rho + (ln(1/delta) + (alpha - 1) ln(1 - 1/alpha) - ln(alpha)) / (alpha - 1).
    public static func epsilon(rho: Double, delta: Double) -> Double {
        precondition(rho >= 0 && delta > 0 && delta < 1)
        if rho == 0 { return 0 }
        func f(_ a: Double) -> Double {
            a * rho + (log(1 / delta) + (a - 1) * log1p(-1 / a) - log(a)) / (a - 1)
        }
        let simple = rho + 2 * (rho * log(1 / delta)).squareRoot()
        // f is convex in alpha on (1, inf); golden-section search on a bracket.
        var lo = 1.0 + 1e-9, hi = max(2.0, 2 * (log(1 / delta) / rho).squareRoot() + 2)
        // A rho so small that the bracket overflows: the simple bound is all a double can state.
        guard hi.isFinite, (hi * 4).isFinite else { return simple }
        while f(hi * 2) < f(hi) { hi *= 2 }
        let g = (5.0.squareRoot() - 1) / 2
        for _ in 0..<200 {
            let m1 = hi - g * (hi - lo), m2 = lo + g * (hi - lo)
            if f(m1) < f(m2) { hi = m2 } else { lo = m1 }
        }
        let best = f((lo + hi) / 2)
        return best.isNaN ? simple : max(0, min(best, simple))
    }

    /// The largest rho whose conversion gives at most `epsilon` at `delta`
    /// (bisection on the monotone map rho -> epsilon, after a geometric
    /// search for the bracket). Returns 0 when no positive double rho
    /// qualifies (epsilon far below delta's scale, e.g. epsilon = delta = 1e-300).
    public static func rho(epsilon: Double, delta: Double) -> Double {
        precondition(epsilon > 0 && delta > 0 && delta < 1)
        var hi = max(epsilon, 1.0)
        while self.epsilon(rho: hi, delta: delta) <= epsilon { hi *= 2 }
        var lo = hi / 2
        while lo > 0 && self.epsilon(rho: lo, delta: delta) > epsilon { hi = lo; lo /= 2 }
        if lo == 0 { return 0 }
        for _ in 0..<100 {
            let mid = (lo + hi) / 2
            if self.epsilon(rho: mid, delta: delta) <= epsilon { lo = mid } else { hi = mid }
        }
        return lo
    }
}
