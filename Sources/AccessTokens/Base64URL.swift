/// Strict unpadded base64url (RFC 4648 §5, as JWS uses it, RFC 7515 §2).
///
/// Hand-written rather than going through Foundation's `Data(base64Encoded:)`
/// because the verifier must be strict where Foundation is lenient: only the
/// URL-safe alphabet, no padding, no whitespace, and the unused low bits of the
/// last character must be zero, so every byte string has exactly one encoding.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = UInt8(index) }
        return table
    }()

    /// The unpadded base64url encoding of `bytes`.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next(), b2 = iterator.next()
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            if let b1 { out.append(alphabet[Int((b1 & 0x0F) << 2 | (b2 ?? 0) >> 6)]) }
            if let b2 { out.append(alphabet[Int(b2 & 0x3F)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes strict unpadded base64url, or nil when `text` is not exactly
    /// that (wrong alphabet, padding, impossible length, non-zero spare bits).
    public static func decode(_ text: String) -> [UInt8]? {
        var copy = text
        return copy.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes strict unpadded base64url from ASCII bytes (see ``decode(_:)``).
    /// Four characters at a time into a buffer of the exact output size.
    public static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        let count = input.count
        if count % 4 == 1 { return nil }
        let outputCount = count * 3 / 4
        var valid = true
        let output = decodeTable.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: outputCount) { buffer, initialized in
                // Invalid characters map to 0xFF: any high bit marks one.
                var i = 0, o = 0
                let whole = count & ~3
                while i < whole {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                    let c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                    guard (a | b | c | d) & 0x80 == 0 else { valid = false; break }
                    let bits = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    buffer[o] = UInt8(truncatingIfNeeded: bits >> 16)
                    buffer[o + 1] = UInt8(truncatingIfNeeded: bits >> 8)
                    buffer[o + 2] = UInt8(truncatingIfNeeded: bits)
                    i += 4
                    o += 3
                }
                if valid, count - whole == 2 {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                    // The 4 spare bits of the last character must be zero (canonical encoding).
                    if (a | b) & 0x80 != 0 || b & 0x0F != 0 { valid = false } else {
                        buffer[o] = a << 2 | b >> 4
                    }
                } else if valid, count - whole == 3 {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])], c = table[Int(input[i + 2])]
                    // The 2 spare bits of the last character must be zero.
                    if (a | b | c) & 0x80 != 0 || c & 0x03 != 0 { valid = false } else {
                        buffer[o] = a << 2 | b >> 4
                        buffer[o + 1] = (b & 0x0F) << 4 | c >> 2
                    }
                }
                initialized = valid ? outputCount : 0
            }
        }
        return valid ? output : nil
    }
}
