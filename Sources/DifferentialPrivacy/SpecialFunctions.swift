import Foundation

/// Numerically careful helpers for the accountants (log-domain sums, the
/// log of the complementary error function, log binomial coefficients).
enum SpecialFunctions {
    /// log(exp(a) + exp(b)).
    static func logAdd(_ a: Double, _ b: Double) -> Double {
        if a == -.infinity { return b }
        if b == -.infinity { return a }
        let m = max(a, b)
        return m + log1p(exp(min(a, b) - m))
    }

    /// log(exp(a) - exp(b)) for a >= b.
    static func logSub(_ a: Double, _ b: Double) -> Double {
        if b == -.infinity { return a }
        if a == b { return -.infinity }
        return a + log1p(-exp(b - a))
    }

    /// log(erfc(x)), accurate for large positive x where erfc underflows.
    static func logErfc(_ x: Double) -> Double {
        if x < 20 { return log(erfc(x)) }
        // Asymptotic expansion: erfc(x) ~ exp(-x^2)/(x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6)).
        let x2 = x * x
        let series = 1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2)
        return -x2 - log(x) - 0.5 * log(Double.pi) + log(series)
    }

    /// log of the standard normal CDF.
    static func logNormalCDF(_ x: Double) -> Double {
        logErfc(-x / 2.0.squareRoot()) - log(2.0)
    }

    /// log C(n, k) for integers.
    static func logBinomial(_ n: Int, _ k: Int) -> Double {
        lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1))
    }
}
