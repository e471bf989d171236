/// A JSON parser that reads what Python's `json.loads` reads and refuses
/// what could be read two ways: a duplicate key in an object (Python keeps
/// the last value, other parsers the first) is an error. `NaN`, `Infinity`
/// and `-Infinity` are accepted (Python accepts them); control characters in
/// strings are not (Python's strict mode). Nesting is bounded.
///
/// The scanner reads model files' JSON with it, and ``UnambiguousJSON``
/// checks with it every document modelsec decodes from a release
/// (release.json, signature bundles and statements, evidence files, DP
/// reports) before decoding.
public enum StrictJSON {
    /// A parsed value. Objects keep their keys in order.
    public indirect enum Value: Equatable, Sendable {
        /// An object's members, in document order (keys unique as bytes).
        case object([(String, Value)])
        /// An array's items.
        case array([Value])
        /// A string.
        case string(String)
        /// A number (its value is not kept: no caller reads one).
        case number
        /// `true` or `false`.
        case bool(Bool)
        /// `null`.
        case null

        public static func == (lhs: Value, rhs: Value) -> Bool {
            switch (lhs, rhs) {
            case (.object(let a), .object(let b)): return a.count == b.count && zip(a, b).allSatisfy { ExactString.bytesEqual($0.0, $1.0) && $0.1 == $1.1 }
            case (.array(let a), .array(let b)): return a == b
            case (.string(let a), .string(let b)): return ExactString.bytesEqual(a, b)
            case (.number, .number), (.null, .null): return true
            case (.bool(let a), .bool(let b)): return a == b
            default: return false
            }
        }

        /// The value of `key` in an object (exact bytes), or nil.
        public subscript(key: String) -> Value? {
            guard case .object(let members) = self else { return nil }
            return members.first { ExactString.bytesEqual($0.0, key) }?.1
        }

        /// The string, if this is one.
        public var string: String? {
            if case .string(let text) = self { return text }
            return nil
        }
    }

    /// Why a document was refused.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        /// The byte offset where parsing stopped.
        public let offset: Int
        /// What is wrong there.
        public let reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// A document with more values than its reader allows
    /// (``validate(_:maximumValues:checkingKey:)``): too large, not ambiguous.
    public struct TooManyValues: Error, CustomStringConvertible, Sendable {
        /// The most values allowed.
        public let limit: Int
        /// The byte offset of the first value over the limit.
        public let offset: Int
        public var description: String { "more than \(limit) JSON values (the next at byte \(offset))" }
    }

    /// Deepest nesting accepted.
    public static let maxDepth = 256

    /// Parses `bytes` (UTF-8) as one JSON document.
    public static func parse(_ bytes: [UInt8]) throws -> Value {
        try parse(bytes, keepingValues: true, checkingKey: nil)
    }

    /// Checks that `bytes` is one JSON document by these rules, and that no
    /// object has two non-ASCII keys Swift's `String` takes as equal, without
    /// building its tree: memory stays proportional to the nesting and the
    /// keys of the open objects, not to the document, which matters for
    /// documents checked before their signature is (a signature bundle may
    /// be hundreds of MiB). `checkingKey` sees every object key with its
    /// offset before the key is hashed: it should bound the key's length and
    /// runs of combining marks (``UnambiguousJSON`` does).
    ///
    /// `maximumValues` bounds the values (objects, arrays, strings, numbers
    /// and literals, counted as they open) for a caller that decodes the
    /// document next with `JSONDecoder`, whose tree costs 13 to 27 bytes of
    /// memory per byte of a document of small values.
    public static func validate(_ bytes: [UInt8], maximumValues: Int = .max, checkingKey: (String, Int) throws -> Void) throws {
        _ = try withoutActuallyEscaping(checkingKey) {
            try parse(bytes, keepingValues: false, maximumValues: maximumValues, checkingKey: $0)
        }
    }

    private static func parse(_ bytes: [UInt8], keepingValues: Bool, maximumValues: Int = .max,
                              checkingKey: ((String, Int) throws -> Void)?) throws -> Value {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw Invalid(offset: 0, reason: "a UTF-8 byte order mark (EF BB BF) before the document, which JSON text must not begin with (RFC 8259 section 8.1)")
        }
        var parser = Parser(bytes: bytes, keepingValues: keepingValues, checkingKey: checkingKey)
        parser.maximumValues = maximumValues
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.at == bytes.count else { throw Invalid(offset: parser.at, reason: "data after the JSON document") }
        return value
    }

    /// `text` for an error message: at most 64 Unicode scalars, escaped
    /// (counted in scalars: one `Character` can hold any number of
    /// combining marks).
    public static func shown(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > 64 else { return text.debugDescription }
        return (String(String.UnicodeScalarView(scalars.prefix(64))) + "…").debugDescription
    }

    /// `text`'s first 64 scalars as `U+XXXX` code points, for messages
    /// about strings that look the same.
    public static func codePoints(_ text: String) -> String {
        let scalars = text.unicodeScalars
        let shown = scalars.prefix(64).map { scalar -> String in
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
        return shown.joined(separator: " ") + (scalars.count > 64 ? " …" : "")
    }

    private struct Parser {
        let bytes: [UInt8]
        /// False: containers and strings are checked, then dropped (``validate(_:maximumValues:checkingKey:)``).
        let keepingValues: Bool
        let checkingKey: ((String, Int) throws -> Void)?
        var at = 0
        /// The most values the document may hold, and how many have opened.
        var maximumValues = Int.max, values = 0

        init(bytes: [UInt8], keepingValues: Bool, checkingKey: ((String, Int) throws -> Void)?) {
            self.bytes = bytes
            self.keepingValues = keepingValues
            self.checkingKey = checkingKey
        }

        mutating func skipSpace() {
            while at < bytes.count {
                switch bytes[at] {
                case 0x20, 0x09, 0x0A, 0x0D: at += 1
                default: return
                }
            }
        }

        func fail(_ reason: String) -> Invalid { Invalid(offset: at, reason: reason) }

        /// The error for `bytes[range]`, which is not UTF-8: its offset is the
        /// first byte that does not start a valid sequence.
        func invalidUTF8(in range: Range<Int>) -> Invalid {
            var parser = Unicode.UTF8.ForwardParser()
            var iterator = bytes[range].makeIterator()
            var offset = range.lowerBound
            while true {
                switch parser.parseScalar(from: &iterator) {
                case .valid(let encoded): offset += encoded.count
                case .emptyInput:   // not reached: the range failed validation
                    return Invalid(offset: range.lowerBound, reason: "invalid UTF-8 in a string")
                case .error:
                    let hex = String(bytes[offset], radix: 16, uppercase: true)
                    return Invalid(offset: offset, reason: "invalid UTF-8 (byte 0x\(hex.count == 1 ? "0" + hex : hex)) in a string")
                }
            }
        }

        /// Consumes `word` if the bytes at `at` are exactly it (no allocation:
        /// this runs for every number and literal).
        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard bytes.count - at >= count else { return false }
            let start = word.utf8Start
            for offset in 0..<count where bytes[at + offset] != start[offset] { return false }
            at += count
            return true
        }

        /// After a member or item: true past a `,` (another follows), false
        /// past `closing` (the container ends).
        mutating func another(closedBy closing: Unicode.Scalar) throws -> Bool {
            skipSpace()
            guard at < bytes.count else { throw fail("unexpected end") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; return true }
            guard bytes[at] == UInt8(ascii: closing) else { throw fail("expected ',' or '\(closing)'") }
            at += 1
            return false
        }

        mutating func value(depth: Int) throws -> Value {
            guard depth < StrictJSON.maxDepth else { throw fail("nested more than \(StrictJSON.maxDepth) levels") }
            guard values < maximumValues else { throw TooManyValues(limit: maximumValues, offset: at) }
            values += 1
            guard at < bytes.count else { throw fail("unexpected end") }
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                var members: [(String, Value)] = []
                var keys = Set<[UInt8]>()
                // Checking (not keeping), non-ASCII keys are also compared as
                // Swift compares them (canonical equivalence, the Unicode
                // version of the standard library): JSONDecoder would merge
                // two such keys, whatever tables a normaliser has.
                var equivalent = Set<String>()
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object([]) }
                while true {
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let keyAt = at
                    let key = try string()
                    try checkingKey?(key, keyAt)
                    guard keys.insert(Array(key.utf8)).inserted else {
                        throw Invalid(offset: keyAt, reason: "duplicate key \(StrictJSON.shown(key)) (readers disagree on which value counts)")
                    }
                    if !keepingValues, key.utf8.contains(where: { $0 >= 0x80 }) {
                        let (inserted, twin) = equivalent.insert(key)
                        guard inserted else {
                            throw Invalid(offset: keyAt, reason: "the keys \(StrictJSON.shown(twin)) and \(StrictJSON.shown(key)) are different bytes for the same Unicode text (\(StrictJSON.codePoints(twin)) and \(StrictJSON.codePoints(key)))")
                        }
                    }
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    at += 1
                    skipSpace()
                    let member = try value(depth: depth + 1)
                    if keepingValues { members.append((key, member)) }
                    if try !another(closedBy: "}") { return .object(members) }
                }
            case UInt8(ascii: "["):
                at += 1
                var items: [Value] = []
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array([]) }
                while true {
                    skipSpace()
                    let item = try value(depth: depth + 1)
                    if keepingValues { items.append(item) }
                    if try !another(closedBy: "]") { return .array(items) }
                }
            case UInt8(ascii: "\""):
                let text = try string()
                return .string(keepingValues ? text : "")
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try number()
            default:
                if literal("true") { return .bool(true) }
                if literal("false") { return .bool(false) }
                if literal("null") { return .null }
                if literal("NaN") || literal("Infinity") || literal("-Infinity") { return .number }
                return try number()
            }
        }

        mutating func number() throws -> Value {
            let start = at
            if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
            func digits() -> Int {
                let s = at
                while at < bytes.count, (0x30...0x39).contains(bytes[at]) { at += 1 }
                return at - s
            }
            guard at < bytes.count else { throw fail("invalid number") }
            if bytes[at] == UInt8(ascii: "0") { at += 1 } else if digits() == 0 { at = start; throw fail("invalid value") }
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                guard digits() > 0 else { throw fail("invalid number") }
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
                at += 1
                if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
                guard digits() > 0 else { throw fail("invalid number") }
            }
            return .number
        }

        /// Exactly four hex digits (`UInt32(_:radix:)` would also take a sign: `\\u+041`).
        mutating func hex4() throws -> UInt32 {
            guard bytes.count - at >= 4 else { throw fail("invalid \\u escape") }
            var value: UInt32 = 0
            for byte in bytes[at..<(at + 4)] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw fail("invalid \\u escape")
                }
                value = value << 4 | UInt32(digit)
            }
            at += 4
            return value
        }

        mutating func string() throws -> String {
            at += 1   // opening quote
            // Most strings (every key, base64 payloads, digests) have no
            // escape: validated and made in one step.
            var end = at
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                guard let text = String(validating: bytes[at..<end], as: UTF8.self) else { throw invalidUTF8(in: at..<end) }
                at = end + 1
                return text
            }
            var scalars = String.UnicodeScalarView()
            var run = at
            func flush(_ end: Int) throws {
                guard end > run else { return }
                guard let text = String(validating: bytes[run..<end], as: UTF8.self) else { throw invalidUTF8(in: run..<end) }
                scalars.append(contentsOf: text.unicodeScalars)
            }
            while true {
                // Invalid UTF-8 before the end or a control character is what is reported.
                guard at < bytes.count else { try flush(at); throw fail("string is never closed") }
                let byte = bytes[at]
                if byte == UInt8(ascii: "\"") {
                    try flush(at)
                    at += 1
                    return String(scalars)
                }
                guard byte >= 0x20 else { try flush(at); throw fail("control character in a string") }
                guard byte == UInt8(ascii: "\\") else { at += 1; continue }
                try flush(at)
                at += 1
                guard at < bytes.count else { throw fail("string is never closed") }
                let escape = bytes[at]
                at += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code), bytes.count - at >= 6, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") {
                        let save = at
                        at += 2
                        let low = try hex4()
                        if (0xDC00...0xDFFF).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            at = save
                        }
                    }
                    // A lone surrogate (Python keeps it) can equal no name the checks look for.
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default:
                    throw fail("invalid escape")
                }
                run = at
            }
        }
    }
}
