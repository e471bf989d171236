/// A duration written the way operators type it: `30s`, `15m`, `24h`, `7d`,
/// or several such parts together (`1h30m`). Whole seconds only.
public struct TokenDuration: Sendable, Equatable, Comparable, CustomStringConvertible {
    /// The length in seconds.
    public let seconds: Int64

    /// A duration of `seconds` seconds.
    public init(seconds: Int64) { self.seconds = seconds }

    /// Parses `30s`, `15m`, `24h`, `7d` or combinations such as `1h30m`; nil
    /// for anything else (a bare number, negative values, unknown units,
    /// values that overflow).
    public init?(parsing text: String) {
        var total: Int64 = 0
        var number: Int64? = nil
        for char in text {
            if let digit = char.wholeNumberValue, char.isASCII {
                let (times, o1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (plus, o2) = times.addingReportingOverflow(Int64(digit))
                if o1 || o2 { return nil }
                number = plus
                continue
            }
            let unit: Int64
            switch char {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            guard let value = number else { return nil }
            let (part, o1) = value.multipliedReportingOverflow(by: unit)
            let (sum, o2) = total.addingReportingOverflow(part)
            if o1 || o2 { return nil }
            total = sum
            number = nil
        }
        guard number == nil, !text.isEmpty else { return nil }
        seconds = total
    }

    /// Hours, minutes and seconds, e.g. `24h`, `15m`, `1h30m`, `0s`.
    public var description: String {
        if seconds == 0 { return "0s" }
        var rest = seconds, out = ""
        for (unit, suffix) in [(Int64(3600), "h"), (60, "m"), (1, "s")] where rest >= unit {
            out += "\(rest / unit)\(suffix)"
            rest %= unit
        }
        return out
    }

    public static func < (lhs: TokenDuration, rhs: TokenDuration) -> Bool { lhs.seconds < rhs.seconds }
}
