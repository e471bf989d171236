/// Exact decimal scaling in 64-bit integers, the fast path of the ledger's
/// unit conversion (``SQLitePrivacyLedger/units(_:_:roundUp:)``).
///
/// The ledger stores a cost as an integer count of 1e-9 (epsilon) or 1e-15
/// (delta, rho), computed exactly from the value's shortest round-tripping
/// decimal form, the number the user typed. ``Rational`` does that with
/// arbitrary-precision integers, which cost about 7% of a PostgreSQL
/// charge's client CPU; every value a person types fits 64-bit integers, so
/// this reads the same decimal form and does the same arithmetic without
/// allocating, and says nil (use ``Rational``) whenever anything would not
/// fit. No library offers exact decimal scaling of a double's shortest form,
/// hence this small hand-written parser.
package enum DecimalScaling {
    /// 10^0 ... 10^19 (10^19 is the largest power of ten below 2^64).
    static let powers: [UInt64] = (0...19).map { n in (0..<n).reduce(UInt64(1)) { p, _ in p * 10 } }

    /// `value` × 10^`k`, rounded up or down to an integer, exactly as
    /// `Rational(decimalOf: value) * 10^k` then ceiling or floor; nil when
    /// the value is negative or not finite, or when the digits, the power or
    /// the result do not fit 64 bits.
    package static func scaled(_ value: Double, powerOfTen k: Int, roundUp: Bool) -> Int64? {
        guard value.isFinite, value >= 0, (0...19).contains(k) else { return nil }
        var digits: UInt64 = 0, fractionDigits = 0, exponent = 0
        var seenPoint = false, seenDigit = false, inExponent = false, exponentNegative = false, exponentDigits = 0
        for byte in value.description.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9") where inExponent:
                exponentDigits += 1
                guard exponentDigits <= 3 else { return nil }
                exponent = exponent * 10 + Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let (times10, o1) = digits.multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
                guard !o1, !o2 else { return nil }
                digits = next
                seenDigit = true
                if seenPoint { fractionDigits += 1 }
            case UInt8(ascii: ".") where !seenPoint && !inExponent:
                seenPoint = true
            case UInt8(ascii: "e") where !inExponent && seenDigit, UInt8(ascii: "E") where !inExponent && seenDigit:
                inExponent = true
            case UInt8(ascii: "-") where inExponent && exponentDigits == 0 && !exponentNegative:
                exponentNegative = true
            case UInt8(ascii: "+") where inExponent && exponentDigits == 0 && !exponentNegative:
                break
            default:
                return nil
            }
        }
        guard seenDigit, !inExponent || exponentDigits > 0 else { return nil }
        let power = (exponentNegative ? -exponent : exponent) - fractionDigits + k
        if power >= 0 {
            guard power < powers.count else { return digits == 0 ? 0 : nil }
            let (result, overflow) = digits.multipliedReportingOverflow(by: powers[power])
            guard !overflow, result <= UInt64(Int64.max) else { return nil }
            return Int64(result)
        }
        guard -power < powers.count else { return digits == 0 || !roundUp ? 0 : 1 }
        let (quotient, remainder) = digits.quotientAndRemainder(dividingBy: powers[-power])
        return Int64(quotient + (roundUp && remainder != 0 ? 1 : 0))
    }
}
