/// Decoders for the text arguments of protocol-0 opcodes, so that strings an
/// attacker spells with escapes ("o\x73") are seen as the unpickler sees them.
enum PickleText {
    /// Python's `codecs.escape_decode` (the STRING opcode), or nil when invalid.
    static func escapeDecode(_ raw: some Collection<UInt8>) -> [UInt8]? {
        let input = Array(raw)
        var out = [UInt8]()
        var i = 0
        while i < input.count {
            let byte = input[i]
            i += 1
            guard byte == UInt8(ascii: "\\") else { out.append(byte); continue }
            guard i < input.count else { return nil }   // trailing backslash
            let next = input[i]
            i += 1
            switch next {
            case UInt8(ascii: "\n"): break
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "'"): out.append(0x27)
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(next - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, i < input.count, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(input[i]) {
                    value = value * 8 + Int(input[i] - UInt8(ascii: "0"))
                    i += 1
                    digits += 1
                }
                out.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x"):
                guard i + 2 <= input.count, let high = hexValue(input[i]), let low = hexValue(input[i + 1]) else { return nil }
                out.append(high << 4 | low)
                i += 2
            default:
                out.append(0x5C)
                out.append(next)
            }
        }
        return out
    }

    /// Python's `raw-unicode-escape` decoding (the UNICODE opcode), or nil when invalid.
    static func rawUnicodeEscapeDecode(_ raw: ArraySlice<UInt8>) -> String? {
        // ASCII without a backslash decodes to itself (what picklers write
        // for ordinary names); the scalar-by-scalar loop below cost about
        // 150 instructions a byte (callgrind).
        if raw.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "\\") }) { return String(decoding: raw, as: UTF8.self) }
        return rawUnicodeEscapeDecode(Array(raw))
    }

    /// ``rawUnicodeEscapeDecode(_:)`` on an array (the general case).
    static func rawUnicodeEscapeDecode(_ raw: [UInt8]) -> String? {
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < raw.count {
            let byte = raw[i]
            // Only \u and \U preceded by an odd run of backslashes are escapes.
            if byte == UInt8(ascii: "\\"), i + 1 < raw.count, raw[i + 1] == UInt8(ascii: "u") || raw[i + 1] == UInt8(ascii: "U") {
                var run = 1
                var j = i - 1
                while j >= 0, raw[j] == UInt8(ascii: "\\") { run += 1; j -= 1 }
                if run % 2 == 1 {
                    let width = raw[i + 1] == UInt8(ascii: "u") ? 4 : 8
                    guard i + 2 + width <= raw.count else { return nil }
                    var value: UInt32 = 0
                    for k in 0..<width {
                        guard let digit = hexValue(raw[i + 2 + k]) else { return nil }
                        value = value << 4 | UInt32(digit)
                    }
                    // Python accepts lone surrogates here (kept as U+FFFD); above U+10FFFF it raises.
                    if (0xD800...0xDFFF).contains(value) {
                        scalars.append("\u{FFFD}")
                    } else {
                        guard let scalar = Unicode.Scalar(value) else { return nil }
                        scalars.append(scalar)
                    }
                    i += 2 + width
                    continue
                }
            }
            scalars.append(Unicode.Scalar(byte))
            i += 1
        }
        return String(scalars)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
