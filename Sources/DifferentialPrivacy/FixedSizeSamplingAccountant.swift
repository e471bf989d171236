import Foundation

/// Rényi DP of DP-SGD steps on fixed-size batches: each step draws B of the
/// N examples uniformly without replacement (q = B/N), and neighbouring
/// datasets differ by replacing one example (N is public). With per-example
/// clipping to norm C, replacing an example moves the batch sum by up to 2C,
/// so the Gaussian step with standard deviation sigma C has L2 sensitivity 2
/// in clipping-norm units: base RDP eps(j) = j (2/sigma)^2 / 2 = 2j / sigma^2.
///
/// The subsampled bound is Theorem 9 of Wang, Balle and Kasiviswanathan,
/// "Subsampled Rényi Differential Privacy and Analytical Moments
/// Accountant" (AISTATS 2019), for integer orders alpha >= 2, with
/// eps(inf) = inf for the Gaussian:
/// eps'(alpha) <= ln(1 + q^2 C(alpha,2) min(4(e^{eps(2)} - 1), 2 e^{eps(2)})
///                     + sum_{j=3}^{alpha} 2 q^j C(alpha,j) e^{(j-1) eps(j)}) / (alpha - 1).
/// `dp_accounting` uses the same bound above order 256 and a slightly
/// tighter one (their Theorem 27) below; no tight accountant (a PLD) is
/// known to us for this scheme, so this sound bound is what modelsec uses.
public enum FixedSizeSamplingAccountant {
    /// The integer orders evaluated: 2 ... 63, 128, 256, 512, 1024.
    public static let orders: [Int] = Array(2..<64) + [128, 256, 512, 1024]

    /// Per-step RDP at each order (+infinity where it does not fit a double).
    public static func rdp(sampleRate q: Double, noiseMultiplier sigma: Double, orders: [Int] = orders) -> [Double] {
        precondition(q > 0 && q <= 1 && sigma > 0)
        let effective = sigma / 2
        func base(_ j: Int) -> Double { Double(j) / (2 * effective * effective) }
        return orders.map { alpha in
            precondition(alpha >= 2)
            if q == 1 { return base(alpha) }
            let logQ = log(q)
            let e2 = base(2)
            var logA = 0.0
            for j in 2...alpha {
                let term: Double
                if j == 2 {
                    term = 2 * logQ + SpecialFunctions.logBinomial(alpha, 2) + min(log(4) + log(expm1(e2)), e2 + log(2))
                } else {
                    term = log(2) + Double(j - 1) * base(j) + Double(j) * logQ + SpecialFunctions.logBinomial(alpha, j)
                }
                logA = SpecialFunctions.logAdd(logA, term)
            }
            let value = logA / Double(alpha - 1)
            return value.isFinite ? value : .infinity
        }
    }
}
