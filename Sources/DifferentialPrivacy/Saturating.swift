import BigInt

/// Saturating conversions and arithmetic for the post-processing of noisy
/// values. The noise has unbounded support, so a noisy integer can (with
/// vanishing probability) exceed the double range; every step after the
/// noise is drawn goes through these functions, so a release is always
/// finite (and JSON-encodable) whatever the data and the noise. Saturating
/// is a function of the noisy value alone, i.e. post-processing.
enum Saturating {
    /// x with infinities replaced by the largest finite double of the same sign.
    @inline(__always)
    static func finite(_ x: Double) -> Double {
        if x == .infinity { return .greatestFiniteMagnitude }
        if x == -.infinity { return -.greatestFiniteMagnitude }
        precondition(!x.isNaN, "NaN in post-processing")
        return x
    }

    /// The nearest double to an integer, saturated. (BigInt's own conversion
    /// returns +infinity for every integer beyond the double range, whatever
    /// its sign, so the sign is applied here.)
    static func double(_ x: BigInt) -> Double {
        let magnitude = finite(Double(BigInt(x.magnitude)))
        return x.sign == .minus ? -magnitude : magnitude
    }

    /// a + b, saturated.
    static func add(_ a: Double, _ b: Double) -> Double { finite(a + b) }
    /// a - b, saturated.
    static func subtract(_ a: Double, _ b: Double) -> Double { finite(a - b) }
    /// a * b, saturated.
    static func multiply(_ a: Double, _ b: Double) -> Double { finite(a * b) }
    /// a / b for b >= 1, saturated.
    static func divide(_ a: Double, atLeastOne b: Double) -> Double { finite(a / max(b, 1)) }

    /// x clamped to [lo, hi].
    static func clamp(_ x: Double, _ lo: Double, _ hi: Double) -> Double { min(max(x, lo), hi) }
}
