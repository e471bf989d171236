/// Integer arguments of protocol 0 opcodes, read as CPython's `_pickle`
/// reads them, so that no argument Python accepts makes the scanner give up
/// on a stream (a file the scanner cannot parse is only reported, and in a
/// directory walk a file with an unlisted name that does not parse is
/// skipped: any argument Python reads and the scanner does not was a way to
/// hide a pickle).
///
/// - `PUT` and `GET`: `PyLong_FromString(line, NULL, 10)`, then a
///   non-negative `Py_ssize_t`;
/// - `LONG`: a trailing `L` removed, then `PyLong_FromString(line, NULL, 0)`;
/// - `INT`: `00` and `01` are the booleans; otherwise C `strtol(line, &end, 0)`
///   when it reads the whole line, and `PyLong_FromString(line, NULL, 0)` when not.
enum PythonInteger {
    /// A parsed integer: its value when it fits an `Int`, or `large`.
    enum Value: Equatable {
        case small(Int)
        case large
    }

    /// Python's whitespace for numbers (`Py_ISSPACE`, also C `isspace`):
    /// space, tab, line feed, vertical tab, form feed, carriage return.
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    /// `int(text, base)` for `base` 10 or 0 (`PyLong_FromString`): surrounding
    /// whitespace, a sign, for base 0 a `0x`/`0o`/`0b` prefix (an underscore
    /// may follow it) and no leading zeros in a non-zero decimal, single
    /// underscores between digits. Nil when Python raises `ValueError`.
    static func parse(_ text: [UInt8], base: Int) -> Value? { parse(text[...], base: base) }

    /// ``parse(_:base:)`` of bytes in place (the scanner's arguments are slices of its read window).
    static func parse(_ text: ArraySlice<UInt8>, base: Int) -> Value? {
        precondition(base == 10 || base == 0)
        var start = text.startIndex, end = text.endIndex
        while start < end, isSpace(text[start]) { start += 1 }
        while end > start, isSpace(text[end - 1]) { end -= 1 }
        var negative = false
        if start < end, text[start] == UInt8(ascii: "+") || text[start] == UInt8(ascii: "-") {
            negative = text[start] == UInt8(ascii: "-")
            start += 1
        }
        var radix = 10
        var prefixed = false
        if base == 0, end - start >= 2, text[start] == UInt8(ascii: "0") {
            switch text[start + 1] | 0x20 {
            case UInt8(ascii: "x"): radix = 16; prefixed = true
            case UInt8(ascii: "o"): radix = 8; prefixed = true
            case UInt8(ascii: "b"): radix = 2; prefixed = true
            default: break
            }
            if prefixed {
                start += 2
                if start < end, text[start] == UInt8(ascii: "_") { start += 1 }   // "0x_1f"
            }
        }
        guard start < end else { return nil }
        var digits = 0, value = 0, overflow = false, allZero = true
        var previousUnderscore = true   // no leading underscore
        for byte in text[start..<end] {
            if byte == UInt8(ascii: "_") {
                if previousUnderscore { return nil }
                previousUnderscore = true
                continue
            }
            guard let digit = digitValue(byte), digit < radix else { return nil }
            previousUnderscore = false
            digits += 1
            if digit != 0 { allZero = false }
            if !overflow {
                let (times, o1) = value.multipliedReportingOverflow(by: radix)
                let (sum, o2) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
                if o1 || o2 { overflow = true } else { value = sum }
            }
        }
        if previousUnderscore || digits == 0 { return nil }   // no trailing underscore
        // Base 0 refuses "010" (ambiguous with C octal) but accepts "000".
        if base == 0, !prefixed, radix == 10, text[start] == UInt8(ascii: "0"), !allZero { return nil }
        return overflow ? .large : .small(value)
    }

    /// C `strtol(text, &end, 0)` when it consumes the whole text (leading
    /// whitespace, a sign, `0x` hexadecimal, a leading `0` octal, decimal),
    /// nil when it stops early; `large` when it overflows a C `long`.
    static func strtol(_ text: [UInt8]) -> Value? { strtol(text[...]) }

    /// ``strtol(_:)`` of bytes in place.
    static func strtol(_ text: ArraySlice<UInt8>) -> Value? {
        var i = text.startIndex
        let end = text.endIndex
        while i < end, isSpace(text[i]) { i += 1 }
        var negative = false
        if i < end, text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") {
            negative = text[i] == UInt8(ascii: "-")
            i += 1
        }
        var radix = 10
        if i < end, text[i] == UInt8(ascii: "0") {
            if i + 2 < end, text[i + 1] | 0x20 == UInt8(ascii: "x"), let d = digitValue(text[i + 2]), d < 16 {
                radix = 16; i += 2
            } else {
                radix = 8
            }
        }
        guard i < end else { return nil }
        var value = 0, overflow = false
        for byte in text[i...] {
            guard let digit = digitValue(byte), digit < radix else { return nil }
            if !overflow {
                let (times, o1) = value.multipliedReportingOverflow(by: radix)
                let (sum, o2) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
                if o1 || o2 { overflow = true } else { value = sum }
            }
        }
        return overflow ? .large : .small(value)
    }

    private static func digitValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return Int(byte - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }
}
