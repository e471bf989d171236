/// What happens to a row whose value is *invalid*, decided before any data
/// is read and applied to each row on its own, so that no single record can
/// make a release fail or change how the other records are treated.
///
/// A value is invalid when the row has a different number of fields from
/// the header (the column cannot be located reliably), when the field is
/// not valid UTF-8 or exceeds ``CSVReader/maxFieldBytes``, and, for the
/// numeric statistics, when the field is not a number (see ``NumberField``).
/// Numbers outside the bounds, including magnitudes beyond the double range
/// such as `1e400` and `inf`, are not invalid: they are clamped like any
/// other number.
public enum InvalidValueRule: Sendable, Equatable, CustomStringConvertible {
    /// The default. Numeric statistics: the value counts as -infinity and is
    /// clamped to the lower bound. Count: the row is counted. Histogram: the
    /// row falls in no declared category.
    case clamp
    /// The row is left out of the statistic entirely (it is not counted in
    /// n either). Changes the number of records, so it is refused under
    /// replace-one, where n is public.
    case drop
    /// The value is replaced by this text: a number (clamped to the bounds)
    /// for the numeric statistics, a category for a histogram; count counts
    /// the row.
    case impute(String)

    /// Parses `clamp`, `drop` or `impute=VALUE`.
    public init(argument: String) throws {
        switch argument {
        case "clamp": self = .clamp
        case "drop": self = .drop
        default:
            guard argument.hasPrefix("impute=") else {
                throw DPError.invalidQuery("the invalid-value rule must be clamp, drop or impute=VALUE")
            }
            self = .impute(String(argument.dropFirst("impute=".count)))
        }
    }

    /// `clamp`, `drop` or `impute=VALUE`.
    public var description: String {
        switch self {
        case .clamp: return "clamp"
        case .drop: return "drop"
        case .impute(let v): return "impute=\(v)"
        }
    }
}

/// The number syntax of a numeric cell. Accepted, after trimming spaces and
/// tabs: a decimal `[+-]digits[.digits][e[+-]digits]` (either side of the
/// point may be empty, not both) and `[+-]inf` / `[+-]infinity` in any case.
/// Everything else (empty, text, `nan`, hexadecimal floats, thousands
/// separators) is not a number. A decimal too large for a double parses as
/// an infinity (and is then clamped to a bound); one too small parses as 0.
public enum NumberField {
    /// The value of `text`, or nil if it is not a number.
    public static func parse(_ text: Substring) -> Double? {
        let bytes = Array(text.utf8)
        var start = 0, end = bytes.count
        while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
        while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
        guard start < end else { return nil }
        let body = bytes[start..<end]
        var i = body.startIndex
        var negative = false
        if body[i] == UInt8(ascii: "+") || body[i] == UInt8(ascii: "-") { negative = body[i] == UInt8(ascii: "-"); i += 1 }
        if body.endIndex - i <= 8, ["inf", "infinity"].contains(String(decoding: body[i...], as: UTF8.self).lowercased()) {
            return negative ? -.infinity : .infinity
        }
        guard isDecimal(body[i...]) else { return nil }
        return Double(String(decoding: body, as: UTF8.self))
    }

    /// The value of `text`, or nil if it is not a number.
    public static func parse(_ text: String) -> Double? { parse(Substring(text)) }

    private static func isDecimal(_ s: ArraySlice<UInt8>) -> Bool {
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        var i = s.startIndex
        var mantissaDigits = 0
        while i < s.endIndex && isDigit(s[i]) { i += 1; mantissaDigits += 1 }
        if i < s.endIndex && s[i] == UInt8(ascii: ".") {
            i += 1
            while i < s.endIndex && isDigit(s[i]) { i += 1; mantissaDigits += 1 }
        }
        guard mantissaDigits > 0 else { return false }
        if i < s.endIndex && (s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E")) {
            i += 1
            if i < s.endIndex && (s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-")) { i += 1 }
            var exponentDigits = 0
            while i < s.endIndex && isDigit(s[i]) { i += 1; exponentDigits += 1 }
            guard exponentDigits > 0 else { return false }
        }
        return i == s.endIndex
    }
}
