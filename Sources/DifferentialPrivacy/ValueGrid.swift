import BigInt

/// The power-of-two grid that clamped values are rounded to before they are
/// summed exactly, sized from the *width* of the bounds.
///
/// The spacing is g = 2^k with k = exponent(U - L) - ``bits``, so the bounds
/// span between 2^20 and 2^22 grid steps whatever their magnitude
/// (rounding error at most g/2 <= 2^-21 (U - L) per value). A value x in
/// [L, U] becomes the integer c(x) = round((x - M) / g), centred on M, a grid
/// point next to the midpoint. c is monotone, so c(L) <= c(x) <= c(U): the
/// sensitivities computed from c(L) and c(U) bound every record, rounding
/// included. Uncentred sums use r(x) = c(x) + M/g, with M/g an exact integer.
///
/// Every bound on sizes is checked when the grid is made (before any data
/// is read): |c| <= 2^21, |M/g| < 2^100, g a normal double.
struct ValueGrid {
    /// Bits of resolution across the bounds.
    static let bits = 20
    /// Smallest exponent of U - L for which g is a normal double.
    static let minimumWidthExponent = Int(Double.leastNormalMagnitude.exponent) + bits

    /// The bounds.
    let lower: Double, upper: Double
    /// g = 2^exponent.
    let exponent: Int
    /// The spacing g.
    let spacing: Double
    /// M, the grid point the values are centred on (an exact double).
    let origin: Double
    /// M / g, exactly.
    let originUnits: BigInt
    /// c(L) and c(U).
    let lowerUnits: Int64, upperUnits: Int64

    /// The grid for `bounds`; throws ``DPError/invalidQuery(_:)`` when the
    /// bounds are too close together for a normal-double grid.
    init(bounds: ClosedRange<Double>) throws {
        lower = bounds.lowerBound
        upper = bounds.upperBound
        let width = upper - lower
        guard width.isFinite, width > 0, Int(width.exponent) >= Self.minimumWidthExponent else {
            throw DPError.invalidQuery("bounds too close together: U - L must be at least 2^\(Self.minimumWidthExponent) (about 2.4e-302)")
        }
        exponent = Int(width.exponent) - Self.bits
        spacing = Double(sign: .plus, exponent: exponent, significand: 1)
        // mid / g < 2^75: U - L is at least half an ulp of max(|L|, |U|).
        let mid = lower / 2 + upper / 2
        let midUnits = (mid / spacing).rounded()
        guard midUnits.isFinite, midUnits.magnitude < 0x1p100 else {
            throw DPError.invalidQuery("bounds too far from zero for their width")
        }
        origin = midUnits * spacing
        originUnits = BigInt(midUnits)
        let lu = Self.centred(lower, origin: origin, spacing: spacing)
        let uu = Self.centred(upper, origin: origin, spacing: spacing)
        guard let l = lu, let u = uu, l < u else {
            throw DPError.invalidQuery("bounds cannot be represented on a grid")
        }
        lowerUnits = l
        upperUnits = u
    }

    private static func centred(_ x: Double, origin: Double, spacing: Double) -> Int64? {
        let units = ((x - origin) / spacing).rounded()
        guard units.isFinite, units.magnitude <= 0x1p22 else { return nil }
        return Int64(units)
    }

    /// c(x) for a value already clamped to the bounds, in [c(L), c(U)].
    func centred(_ x: Double) -> Int64 {
        // In range by monotonicity; the clamp makes the bound hold even if it did not.
        let units = ((x - origin) / spacing).rounded()
        guard units.isFinite else { return units > 0 ? upperUnits : lowerUnits }
        return min(max(Int64(max(min(units, 0x1p22), -0x1p22)), lowerUnits), upperUnits)
    }

    /// max(|c(L)|, |c(U)|).
    var maxAbsCentred: BigInt { max(BigInt(lowerUnits).magnitude, BigInt(upperUnits).magnitude).asSigned }

    /// max(|r(L)|, |r(U)|), r = c + M/g.
    var maxAbsUncentred: BigInt {
        max((BigInt(lowerUnits) + originUnits).magnitude, (BigInt(upperUnits) + originUnits).magnitude).asSigned
    }
}

extension BigUInt {
    /// The same value as a signed big integer.
    var asSigned: BigInt { BigInt(self) }
}
