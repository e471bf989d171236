import Foundation

/// Finds the top-level members of a JSON object without building it, so a
/// reader (the token service's client assertions, subject tokens and
/// introspection answers; the access-token verifier itself reads with its
/// own single-pass parser) can see what `JSONDecoder` hides: duplicate member names (which
/// `JSONDecoder` resolves to the *first* while most JWT libraries take the
/// last, a parser differential RFC 7515 §5.2 says to reject) and the literal
/// spelling of numbers (`1.0` and `1e3` decode as integers but are not the
/// integer NumericDates RFC 9068 tokens carry). Hand-written because no JSON
/// library we depend on exposes either; it only locates token boundaries and
/// leaves full validation to `JSONDecoder`.
public enum JSONObjectScanner {
    /// A top-level member: its name (escapes decoded) and its value's raw bytes.
    public struct Member: Sendable {
        public let name: String
        public let value: ArraySlice<UInt8>
    }

    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
    private static let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")
    private static let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")
    private static let comma = UInt8(ascii: ","), colon = UInt8(ascii: ":")

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

    /// The members of the object `bytes` holds, or nil when it is not a JSON
    /// object (as far as boundaries go).
    public static func members(_ bytes: [UInt8]) -> [Member]? {
        var i = bytes.startIndex
        let end = bytes.endIndex

        func skipSpace() { while i < end, isSpace(bytes[i]) { i += 1 } }
        func skipString() -> Bool {
            guard i < end, bytes[i] == quote else { return false }
            i += 1
            while i < end {
                if bytes[i] == backslash { i += 2; continue }
                if bytes[i] == quote { i += 1; return true }
                i += 1
            }
            return false
        }
        func skipValue() -> Bool {
            guard i < end else { return false }
            switch bytes[i] {
            case quote:
                return skipString()
            case openBrace, openBracket:
                var depth = 0
                while i < end {
                    let c = bytes[i]
                    if c == quote { if !skipString() { return false }; continue }
                    if c == openBrace || c == openBracket { depth += 1 }
                    else if c == closeBrace || c == closeBracket {
                        depth -= 1
                        if depth == 0 { i += 1; return true }
                    }
                    i += 1
                }
                return false
            default:
                let start = i
                while i < end, !isSpace(bytes[i]), bytes[i] != comma, bytes[i] != closeBrace, bytes[i] != closeBracket { i += 1 }
                return i > start
            }
        }

        skipSpace()
        guard i < end, bytes[i] == openBrace else { return nil }
        i += 1
        skipSpace()
        var members: [Member] = []
        if i < end, bytes[i] == closeBrace { i += 1; skipSpace(); return i == end ? members : nil }
        while true {
            skipSpace()
            let keyStart = i
            guard skipString() else { return nil }
            let rawKey = bytes[(keyStart + 1)..<(i - 1)]
            let name: String
            if rawKey.contains(backslash) {
                // Rare: let the real JSON parser decode the escapes.
                guard let decoded = try? JSONDecodingShim.string(Array(bytes[keyStart..<i])) else { return nil }
                name = decoded
            } else {
                name = String(decoding: rawKey, as: UTF8.self)
            }
            skipSpace()
            guard i < end, bytes[i] == colon else { return nil }
            i += 1
            skipSpace()
            let valueStart = i
            guard skipValue() else { return nil }
            members.append(Member(name: name, value: bytes[valueStart..<i]))
            skipSpace()
            guard i < end else { return nil }
            if bytes[i] == comma { i += 1; continue }
            guard bytes[i] == closeBrace else { return nil }
            i += 1
            skipSpace()
            return i == end ? members : nil
        }
    }

    /// The name of the first member that appears more than once, if any.
    ///
    /// Deliberately compared with Swift's canonical equivalence, not bytes:
    /// `JSONDecoder` keeps an object's members in a `[String: …]` dictionary,
    /// so two names that differ only in normalisation would collapse into one
    /// there. Flagging them as duplicates refuses that differential; exact
    /// duplicates are caught as well.
    static func duplicateName(in members: [Member]) -> String? {
        var seen = Set<String>()
        for member in members where !seen.insert(member.name).inserted { return member.name }
        return nil
    }

    /// True when `raw` is a JSON integer literal: `-?[0-9]+` (no fraction, no exponent).
    static func isIntegerLiteral(_ raw: ArraySlice<UInt8>) -> Bool {
        var digits = raw[...]
        if digits.first == UInt8(ascii: "-") { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

/// Decodes one JSON string literal (with its quotes) through Foundation.
enum JSONDecodingShim {
    static func string(_ literal: [UInt8]) throws -> String {
        try JSONDecoder().decode(String.self, from: Data(literal))
    }
}
