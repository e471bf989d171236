import BigInt
import Foundation

/// Integer-valued noise of a calibrated size: discrete Laplace (pure
/// epsilon-DP) or discrete Gaussian (rho-zCDP). The parameters are exact
/// rationals, rounded *up* from the calibrated value so the stated privacy
/// cost is never understated.
public struct IntegerNoise: Sendable {
    /// Which distribution.
    public enum Kind: String, Codable, Sendable {
        /// Discrete Laplace; `parameter` is the scale b (P ∝ exp(-|x|/b)).
        case discreteLaplace = "discrete-laplace"
        /// Discrete Gaussian; `parameter` is the variance sigma^2 (P ∝ exp(-x^2/(2 sigma^2))).
        case discreteGaussian = "discrete-gaussian"
    }
    /// The distribution.
    public let kind: Kind
    /// Scale (Laplace) or variance (Gaussian), exactly.
    public let parameter: Rational

    /// Denominator bits used when rounding calibrated parameters up.
    static let parameterBits = 24

    /// Discrete Laplace with scale = sensitivity / epsilon (epsilon-DP for a
    /// query with integer L1 sensitivity `sensitivity`).
    public static func laplace(sensitivity: Rational, epsilon: Rational) -> IntegerNoise {
        precondition(sensitivity.isPositive && epsilon.isPositive)
        return IntegerNoise(kind: .discreteLaplace, parameter: (sensitivity / epsilon).roundedUp(denominatorBits: parameterBits))
    }

    /// Discrete Gaussian with sigma^2 = sensitivity2^2 / (2 rho) (rho-zCDP
    /// for a query with L2 sensitivity whose square is `squaredSensitivity`).
    public static func gaussian(squaredSensitivity: Rational, rho: Double) -> IntegerNoise {
        precondition(squaredSensitivity.isPositive && rho > 0)
        // rho as an exact rational rounded *down* (so sigma^2 only grows).
        let exact = Rational(exactly: rho)!
        let rounded = exact.roundedDown(denominatorBits: 60)
        let rhoRational = rounded.isZero ? exact : rounded
        let sigma2 = (squaredSensitivity / (Rational(2) * rhoRational)).roundedUp(denominatorBits: parameterBits)
        return IntegerNoise(kind: .discreteGaussian, parameter: sigma2)
    }

    /// The rho actually achieved for a query with this squared L2 sensitivity.
    public func rho(squaredSensitivity: Rational) -> Double {
        (squaredSensitivity / (Rational(2) * parameter)).doubleValue
    }

    /// The epsilon actually achieved (Laplace) for a query with this L1 sensitivity.
    public func epsilon(sensitivity: Rational) -> Double { (sensitivity / parameter).doubleValue }

    /// One sample.
    public func sample<R: DPRandomSource>(using rng: inout R) -> BigInt {
        switch kind {
        case .discreteLaplace: return ExactSamplers.discreteLaplace(scale: parameter, using: &rng)
        case .discreteGaussian: return ExactSamplers.discreteGaussian(sigma2: parameter, using: &rng)
        }
    }

    /// The smallest integer k >= 0 with P[|X| <= k] >= level, computed in
    /// floating point (reporting only). Discrete Laplace: exact closed form
    /// P[|X| > k] = 2 p^{k+1} / (1 + p), p = exp(-1/b). Discrete Gaussian:
    /// the probability mass is summed for sigma <= 64; above that the normal
    /// quantile is used (the two CDFs differ by less than exp(-2 pi^2 sigma^2)).
    public func halfWidth(level: Double) -> Double {
        let alpha = 1 - level
        switch kind {
        case .discreteLaplace:
            let b = parameter.doubleValue
            let logP = -1 / b
            let p = exp(logP)
            let k = (log(alpha * (1 + p) / 2) / logP).rounded(.up) - 1
            return max(0, k)
        case .discreteGaussian:
            let sigma2 = parameter.doubleValue
            let sigma = sigma2.squareRoot()
            if sigma > 64 { return (Self.normalQuantile(1 - alpha / 2) * sigma).rounded(.up) }
            let limit = Int((sigma * 40).rounded(.up)) + 10
            var weights = [Double](repeating: 0, count: limit + 1)
            var total = 0.0
            for x in 0...limit {
                weights[x] = exp(-Double(x * x) / (2 * sigma2))
                total += x == 0 ? weights[x] : 2 * weights[x]
            }
            var inside = 0.0
            for x in 0...limit {
                inside += x == 0 ? weights[x] : 2 * weights[x]
                if inside / total >= level { return Double(x) }
            }
            return Double(limit)
        }
    }

    /// Phi^{-1}(p) by bisection on erfc (reporting only).
    static func normalQuantile(_ p: Double) -> Double {
        var lo = -40.0, hi = 40.0
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if 0.5 * erfc(-mid / 2.0.squareRoot()) < p { lo = mid } else { hi = mid }
        }
        return hi
    }
}

extension Rational {
    /// The largest rational with denominator 2^bits that is <= this value.
    func roundedDown(denominatorBits bits: Int) -> Rational {
        let scaled = Rational(numerator << bits, BigInt(denominator))
        return Rational(scaled.floor, BigInt(1) << bits)
    }
}
