import Foundation
import BigInt

/// An exact rational number `numerator / denominator` with a positive
/// denominator, always in lowest terms. Used for every quantity that decides
/// a random choice (noise scales, Bernoulli probabilities, exponents), so no
/// floating-point rounding can bias a sampler.
public struct Rational: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The numerator (carries the sign).
    public let numerator: BigInt
    /// The denominator, always positive.
    public let denominator: BigUInt

    /// `numerator / denominator`, reduced. The denominator must not be zero.
    public init(_ numerator: BigInt, _ denominator: BigInt = 1) {
        precondition(!denominator.isZero, "zero denominator")
        var n = numerator, d = denominator
        if d.sign == .minus { n = -n; d = -d }
        let g = BigInt(n.magnitude.greatestCommonDivisor(with: d.magnitude))
        if g > 1 { n /= g; d /= g }
        if n.isZero { d = 1 }
        self.numerator = n
        self.denominator = d.magnitude
    }

    /// An integer as a rational.
    public init(_ value: Int) { self.init(BigInt(value), 1) }

    /// `numerator / denominator` from machine integers.
    public init(_ numerator: Int, _ denominator: Int) { self.init(BigInt(numerator), BigInt(denominator)) }

    /// The exact value of a finite double (every finite double is a dyadic
    /// rational). Returns nil for NaN and infinities.
    public init?(exactly value: Double) {
        guard value.isFinite else { return nil }
        if value == 0 { self.init(0); return }
        let significand = BigInt(value.significandBitPattern | (value.isNormal ? (1 << 52) : 0))
        let exponent = Int(value.isNormal ? value.exponent : Double.leastNormalMagnitude.exponent) - 52
        let signed = value.sign == .minus ? -significand : significand
        if exponent >= 0 {
            self.init(signed << exponent, 1)
        } else {
            self.init(signed, BigInt(1) << (-exponent))
        }
    }

    /// Parses a plain decimal such as `1`, `0.25`, `-3.5e-2`. Returns nil for
    /// anything else (including `nan`, `inf`, hex floats).
    public init?(decimal text: String) {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let x = Int(s[s.index(after: e)...]), abs(x) < 400 else { return nil }
            exponent = x
            s = s[..<e]
        }
        var negative = false
        if s.first == "-" || s.first == "+" { negative = s.first == "-"; s = s.dropFirst() }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !(parts.allSatisfy { $0.isEmpty }) else { return nil }
        let whole = parts[0], frac = parts.count == 2 ? parts[1] : ""
        guard (whole + frac).allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        guard var n = BigInt(String(whole + frac).isEmpty ? "0" : String(whole + frac)) else { return nil }
        if negative { n = -n }
        exponent -= frac.count
        if exponent >= 0 {
            self.init(n * BigInt(10).power(exponent), 1)
        } else {
            self.init(n, BigInt(10).power(-exponent))
        }
    }

    /// The rational of a double's shortest round-tripping decimal form, i.e.
    /// the value a person typed (`0.1` is 1/10, not the nearest double).
    public init?(decimalOf value: Double) {
        guard value.isFinite else { return nil }
        self.init(decimal: "\(value)")
    }

    /// Exact comparison.
    public static func < (a: Rational, b: Rational) -> Bool {
        a.numerator * BigInt(b.denominator) < b.numerator * BigInt(a.denominator)
    }
    /// Exact sum.
    public static func + (a: Rational, b: Rational) -> Rational {
        Rational(a.numerator * BigInt(b.denominator) + b.numerator * BigInt(a.denominator), BigInt(a.denominator * b.denominator))
    }
    /// Exact difference.
    public static func - (a: Rational, b: Rational) -> Rational { a + (-b) }
    /// Negation.
    public static prefix func - (a: Rational) -> Rational { Rational(-a.numerator, BigInt(a.denominator)) }
    /// Exact product.
    public static func * (a: Rational, b: Rational) -> Rational {
        Rational(a.numerator * b.numerator, BigInt(a.denominator * b.denominator))
    }
    /// Exact quotient (the divisor must not be zero).
    public static func / (a: Rational, b: Rational) -> Rational {
        precondition(!b.numerator.isZero, "division by zero")
        return Rational(a.numerator * BigInt(b.denominator), b.numerator * BigInt(a.denominator))
    }

    /// Whether the value is zero.
    public var isZero: Bool { numerator.isZero }
    /// Whether the value is strictly positive.
    public var isPositive: Bool { numerator.sign == .plus && !numerator.isZero }
    /// The absolute value.
    public var magnitude: Rational { Rational(BigInt(numerator.magnitude), BigInt(denominator)) }

    /// The largest integer not above the value.
    public var floor: BigInt {
        let (q, r) = numerator.quotientAndRemainder(dividingBy: BigInt(denominator))
        return (r.sign == .minus && !r.isZero) ? q - 1 : q
    }
    /// The smallest integer not below the value.
    public var ceiling: BigInt { -((-self).floor) }

    /// The nearest double (for reporting only; never used to make a random choice).
    public var doubleValue: Double {
        // Scale so both parts fit comfortably in a double's exponent range.
        let shift = max(0, max(numerator.magnitude.bitWidth, denominator.bitWidth) - 1000)
        return Double(numerator >> shift) / Double(BigInt(denominator) >> shift)
    }

    /// The smallest rational with denominator `2^bits` that is >= this value:
    /// rounds a noise scale *up*, which only strengthens the privacy guarantee
    /// while keeping the samplers on small integers.
    public func roundedUp(denominatorBits bits: Int) -> Rational {
        let scaled = Rational(numerator << bits, BigInt(denominator))
        return Rational(scaled.ceiling, BigInt(1) << bits)
    }

    /// `n` or `n/d`.
    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }
}
