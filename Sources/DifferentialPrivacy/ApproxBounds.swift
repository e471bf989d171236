import BigInt
import Foundation

/// Private clamping bounds (`--bounds auto`), in the style of Google's
/// ApproxBounds: a differentially private histogram over power-of-two bins
/// picks the range that holds the data.
///
/// Bins (193 in all): bin 0 holds |x| < 2^-32; positive bin i = e + 33
/// (e = -32 ... 63) holds [2^e, 2^{e+1}) (the top bin also everything
/// above, infinities included); negative bin -i holds (-2^{e+1}, -2^e].
/// Each row (after the contribution bound, invalid values left out) adds 1
/// to one bin, so adding or removing a person changes the bin counts by at
/// most K in L1 (2K under replace-one: a replaced row leaves one bin for
/// another). Every bin gets discrete Laplace noise of scale Δ/epsilon, which
/// makes the whole histogram epsilon-DP; everything after is post-processing:
/// a bin *passes* when its noisy count is at least the threshold
/// tau = ceil(b ln(193 / (beta (1 + a)))), b the scale, a = e^{-1/b}, chosen so
/// that an empty bin passes with probability a^tau/(1 + a) <= beta/193
/// (beta = 0.01, so all 193 empty bins stay below with probability >= 99%).
/// The lower bound is the lower edge of the lowest passing bin and the upper
/// bound the upper edge of the highest; if no bin passes, both come from
/// the bin with the largest noisy count (the lowest such bin on ties), so
/// the selection never fails whatever the data.
public struct ApproxBounds {
    /// The bin exponents: [2^e, 2^{e+1}) for e in this range.
    public static let exponents = -32...63
    /// Number of bins.
    public static let binCount = 2 * exponents.count + 1
    /// The probability bound for any empty bin passing the threshold.
    public static let falsePositiveBound = 0.01

    /// The epsilon spent on the histogram.
    public let epsilon: Double
    /// The histogram noise.
    let noise: IntegerNoise
    /// The pass threshold tau.
    public let threshold: Int64
    /// Exact bin counts, index = bin + binCount / 2.
    private(set) var counts = [Int64](repeating: 0, count: binCount)

    /// The histogram for `epsilon` with contribution bound K under `relation`;
    /// throws ``DPError/invalidQuery(_:)`` for an epsilon out of range.
    public init(epsilon: Double, maxRowsPerID: Int, relation: NeighbouringRelation) throws {
        guard epsilon.isFinite, StatisticSpec.epsilonRange.contains(epsilon), let eps = Rational(decimalOf: epsilon) else {
            throw DPError.invalidQuery("the epsilon of the bounds selection must be a finite number in [1e-100, 1e9]")
        }
        self.epsilon = epsilon
        let sensitivity = Rational(maxRowsPerID * (relation == .replaceOne ? 2 : 1))
        noise = IntegerNoise.laplace(sensitivity: sensitivity, epsilon: eps)
        let b = noise.parameter.doubleValue
        let a = exp(-1 / b)
        let tau = (b * log(Double(Self.binCount) / (Self.falsePositiveBound * (1 + a)))).rounded(.up)
        guard tau.isFinite, tau < 1e15 else {
            throw DPError.invalidQuery("the epsilon of the bounds selection is too small: its threshold would exceed the range of a count")
        }
        threshold = Int64(max(1, tau))
    }

    /// The bin of a value (nil for NaN).
    public static func bin(of x: Double) -> Int? {
        if x.isNaN { return nil }
        let m = abs(x)
        if m < 0x1p-32 { return 0 }
        let e = m.isInfinite ? exponents.upperBound : min(max(Int(m.exponent), exponents.lowerBound), exponents.upperBound)
        let i = e - exponents.lowerBound + 1
        return x < 0 ? -i : i
    }

    /// The lower and upper edges of a bin.
    public static func edges(of bin: Int) -> (lower: Double, upper: Double) {
        if bin == 0 { return (-0x1p-32, 0x1p-32) }
        let e = abs(bin) - 1 + exponents.lowerBound
        let low = Double(sign: .plus, exponent: e, significand: 1), high = Double(sign: .plus, exponent: e + 1, significand: 1)
        return bin > 0 ? (low, high) : (-high, -low)
    }

    /// Adds one numeric field (nil or unparsable: left out).
    public mutating func add(field: String?) {
        guard let field, let x = NumberField.parse(field), let b = Self.bin(of: x) else { return }
        counts[b + Self.binCount / 2] += 1
    }

    /// Draws the noise and picks the bounds.
    public func select<R: DPRandomSource>(using rng: inout R) -> ClosedRange<Double> {
        let noisy = counts.map { Saturating.double(BigInt($0) + noise.sample(using: &rng)) }
        let half = Self.binCount / 2
        let passing = noisy.indices.filter { noisy[$0] >= Double(threshold) }
        let lowBin: Int, highBin: Int
        if let first = passing.first, let last = passing.last {
            lowBin = first - half; highBin = last - half
        } else {
            let best = noisy.indices.max { noisy[$0] < noisy[$1] || (noisy[$0] == noisy[$1] && $0 > $1) }!
            lowBin = best - half; highBin = best - half
        }
        return Self.edges(of: lowBin).lower...Self.edges(of: highBin).upper
    }
}
