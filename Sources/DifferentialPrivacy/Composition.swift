import Foundation

/// Composition theorems for (epsilon, delta)-DP and zCDP.
public enum Composition {
    /// Basic composition: epsilons and deltas add up.
    public static func basic(_ costs: [PrivacyCost]) -> PrivacyCost {
        PrivacyCost(epsilon: costs.reduce(0) { $0 + $1.epsilon }, delta: costs.reduce(0) { $0 + $1.delta })
    }

    /// zCDP composition: the rhos add up.
    public static func zcdp(_ rhos: [Double]) -> Double { rhos.reduce(0, +) }

    /// Advanced composition of `count` mechanisms that are each
    /// (epsilon, delta)-DP, for a total delta of at most `targetDelta`
    /// (which must exceed 1 - (1 - delta)^count).
    ///
    /// Returns the smallest epsilon among three valid bounds:
    /// - basic composition (count * epsilon, when count * delta <= targetDelta);
    /// - Dwork, Rothblum and Vadhan (2010), with slack
    ///   delta' = targetDelta - count * delta:
    ///   epsilon * sqrt(2 k ln(1/delta')) + k epsilon (e^epsilon - 1);
    /// - the optimal homogeneous composition theorem of Kairouz, Oh and
    ///   Viswanath (2015, Theorem 3.3): for i = 0 ... floor(k/2) the
    ///   composition is ((k - 2i) epsilon, 1 - (1 - delta)^k (1 - delta_i))-DP
    ///   with delta_i = sum_{l < i} C(k, l) (e^{(k-l)eps} - e^{(k-2i+l)eps}) / (1 + e^eps)^k;
    ///   the largest i whose total delta fits is taken (exact at those points).
    /// Returns nil when no bound achieves `targetDelta`.
    public static func advanced(epsilon: Double, delta: Double, count: Int, targetDelta: Double) -> PrivacyCost? {
        precondition(epsilon >= 0 && delta >= 0 && count >= 1 && targetDelta >= 0)
        let k = Double(count)
        var best: PrivacyCost?
        func offer(_ e: Double, _ d: Double) {
            guard d <= targetDelta, e.isFinite else { return }
            if best == nil || e < best!.epsilon { best = PrivacyCost(epsilon: e, delta: d) }
        }
        offer(k * epsilon, min(1, k * delta))
        let slack = targetDelta - k * delta
        if slack > 0 {
            offer(epsilon * (2 * k * log(1 / slack)).squareRoot() + k * epsilon * expm1(epsilon), targetDelta)
        }
        // Kairouz-Oh-Viswanath: delta_i grows with i; binary search the largest i that fits.
        func totalDelta(_ i: Int) -> Double {
            let logDen = k * SpecialFunctions.logAdd(0, epsilon)
            var logSum = -Double.infinity
            for l in 0..<i {
                let term = SpecialFunctions.logBinomial(count, l) + Double(count - l) * epsilon
                    + log(-expm1(-2 * Double(i - l) * epsilon))
                logSum = SpecialFunctions.logAdd(logSum, term)
            }
            let deltaI = exp(logSum - logDen)
            // 1 - (1-delta)^k (1 - delta_i)
            return -expm1(k * log1p(-delta) + log1p(-min(deltaI, 1)))
        }
        if epsilon > 0 {
            var lo = 0, hi = count / 2
            if totalDelta(0) <= targetDelta {
                while lo < hi {
                    let mid = (lo + hi + 1) / 2
                    if totalDelta(mid) <= targetDelta { lo = mid } else { hi = mid - 1 }
                }
                offer(Double(count - 2 * lo) * epsilon, totalDelta(lo))
            }
        }
        return best
    }
}
