import Foundation

/// Rényi differential privacy accounting for the Poisson-subsampled Gaussian
/// mechanism (DP-SGD), following Mironov, Talwar and Zhang, "Rényi
/// Differential Privacy of the Sampled Gaussian Mechanism" (2019), with the
/// RDP-to-(epsilon, delta) conversion of Canonne, Kamath and Steinke (2020,
/// Proposition 12) / Asoodeh et al. (2020) that Opacus and Google's
/// `dp_accounting` use. Independently written; results are checked against
/// `dp_accounting` in the test suite.
public enum RDPAccountant {
    /// The Rényi orders used by `dp_accounting`'s `RdpAccountant` by default:
    /// 1.1, 1.2, ..., 10.9, then 11 ... 63, then 128, 256, 512, 1024.
    public static let defaultOrders: [Double] = {
        var orders: [Double] = []
        for x in 1..<100 { orders.append(1 + Double(x) / 10) }
        for x in 11..<64 { orders.append(Double(x)) }
        orders.append(contentsOf: [128, 256, 512, 1024])
        return orders
    }()

    /// RDP of one step of the Gaussian mechanism with noise multiplier
    /// `noiseMultiplier` (sigma / L2 sensitivity) applied to a Poisson
    /// sample with rate `sampleRate`, at each order in `orders`.
    public static func rdpPoissonSubsampledGaussian(sampleRate q: Double, noiseMultiplier sigma: Double,
                                                     orders: [Double] = defaultOrders) -> [Double] {
        precondition(q >= 0 && q <= 1 && sigma >= 0)
        return orders.map { alpha in
            if q == 0 { return 0 }
            if sigma == 0 || alpha.isInfinite { return .infinity }
            if q == 1 { return alpha / (2 * sigma * sigma) }
            let logA = alpha == alpha.rounded() ? logAInteger(q: q, sigma: sigma, alpha: Int(alpha))
                                                : logAFractional(q: q, sigma: sigma, alpha: alpha)
            return logA / (alpha - 1)
        }
    }

    /// log A_alpha for integer alpha:
    /// A = sum_{k=0}^{alpha} C(alpha, k) (1-q)^{alpha-k} q^k exp((k^2 - k) / (2 sigma^2)).
    static func logAInteger(q: Double, sigma: Double, alpha: Int) -> Double {
        var logA = -Double.infinity
        for k in 0...alpha {
            let term = SpecialFunctions.logBinomial(alpha, k) + Double(k) * log(q) + Double(alpha - k) * log1p(-q)
                + Double(k * k - k) / (2 * sigma * sigma)
            logA = SpecialFunctions.logAdd(logA, term)
        }
        return logA
    }

    /// log A_alpha for fractional alpha (Mironov et al. 2019, Section 3.3),
    /// splitting the integral at z0 = s^2 ln(1/q - 1) + 1/2:
    /// A <= sum_i |C(alpha, i)| [ (1-q)^{alpha-i} q^i e^{(i^2-i)/(2s^2)} erfc((i - z0)/(sqrt2 s)) / 2
    ///                          + (1-q)^i q^{alpha-i} e^{(j^2-j)/(2s^2)} erfc((z0 - j)/(sqrt2 s)) / 2 ], j = alpha - i.
    /// The generalised binomial coefficients of a fractional order change
    /// sign; like `dp_accounting` we add their absolute values, which can
    /// only overstate A (so epsilon is never understated) and keeps every
    /// term positive for log-domain summation. Terms are added until both
    /// series decrease and are below e^-30 of the total; an order whose
    /// series has not converged after 1000 terms is excluded (infinite RDP),
    /// as `dp_accounting` does (this only happens at tiny noise, epsilon > 100).
    static func logAFractional(q: Double, sigma: Double, alpha: Double) -> Double {
        var lower = -Double.infinity, upper = -Double.infinity
        let z0 = sigma * sigma * log(1 / q - 1) + 0.5
        let s2 = sigma * sigma, root2s = 2.0.squareRoot() * sigma
        let logQ = log(q), log1mQ = log1p(-q), logHalf = log(0.5)
        var lastLower = -Double.infinity, lastUpper = -Double.infinity
        for i in 0..<1000 {
            let di = Double(i), j = alpha - di
            let logCoefficient = lgamma(alpha + 1) - lgamma(di + 1) - lgamma(j + 1)
            let s0 = logCoefficient + di * logQ + j * log1mQ + (di * di - di) / (2 * s2)
                + logHalf + SpecialFunctions.logErfc((di - z0) / root2s)
            let s1 = logCoefficient + j * logQ + di * log1mQ + (j * j - j) / (2 * s2)
                + logHalf + SpecialFunctions.logErfc((z0 - j) / root2s)
            lower = SpecialFunctions.logAdd(lower, s0)
            upper = SpecialFunctions.logAdd(upper, s1)
            let total = SpecialFunctions.logAdd(lower, upper)
            if s0 < lastLower && s1 < lastUpper && max(s0, s1) < total - 30 { return total }
            lastLower = s0; lastUpper = s1
        }
        return .infinity
    }

    /// The smallest epsilon such that the RDP curve (`orders`, `rdp`) implies
    /// (epsilon, delta)-DP, minimised over the orders:
    /// epsilon = rdp + ln(1 - 1/alpha) - ln(delta alpha) / (alpha - 1),
    /// with the same guards as `dp_accounting` (orders <= 1.01 are skipped,
    /// and epsilon is 0 when delta^2 + expm1(-rdp) > 0).
    /// Returns the epsilon and the order that achieved it.
    public static func epsilon(orders: [Double], rdp: [Double], delta: Double) -> (epsilon: Double, order: Double) {
        precondition(orders.count == rdp.count && delta >= 0)
        if delta == 0 { return (rdp.allSatisfy { $0 == 0 } ? 0 : .infinity, 0) }
        var best = (epsilon: Double.infinity, order: orders.first ?? 0)
        for (a, r) in zip(orders, rdp) {
            let e: Double
            if r < 0 { e = 0 }
            else if delta * delta + expm1(-r) > 0 { e = 0 }
            else if a > 1.01 { e = r + log1p(-1 / a) - log(delta * a) / (a - 1) }
            else { e = .infinity }
            if e < best.epsilon { best = (e, a) }
        }
        return (max(0, best.epsilon), best.order)
    }
}
