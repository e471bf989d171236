/// A strict, bounded JSON parser for the small objects inside a JWS (its
/// protected header and its claims), so the verifier reads each one once.
///
/// It accepts exactly RFC 8259 JSON: no comments, no trailing commas, no
/// leading zeros, no unescaped control characters, valid UTF-8 only, `\u`
/// escapes with paired surrogates. It is bounded: nesting deeper than
/// ``maximumDepth`` and more than ``maximumValues`` values in one document
/// are refused (the documents are already at most 8 KiB, the token limit).
///
/// What it keeps is what the verifier needs to see that `JSONDecoder` hides:
/// every member of the top-level object in order (so a name given twice is
/// seen) and whether a number is written as an integer (`1.0` and `1e3` are
/// not the integer NumericDates RFC 9068 tokens carry).
enum BoundedJSON {
    /// Arrays and objects nested deeper than this are refused.
    static let maximumDepth = 32
    /// More values than this in one document are refused.
    static let maximumValues = 4096

    /// A parsed value. A number keeps only what the verifier asks of it: its
    /// value when it is written as a JSON integer (`-?[0-9]+`, no fraction
    /// or exponent) that fits an `Int64`. (Not `indirect`: the arrays
    /// already box nested values, so scalars cost no allocation.)
    enum Value {
        case string(String)
        case number(integer: Int64?)
        case bool(Bool)
        case null
        case array([Value])
        case object([(name: String, value: Value)])

        /// The string, if this is one.
        var string: String? { if case let .string(s) = self { return s } else { return nil } }

        /// The value when it is a number written as a JSON integer that fits
        /// an `Int64`; nil otherwise (`1.0`, `1e3`, past `Int64`, not a number).
        var integer: Int64? { if case let .number(value) = self { return value } else { return nil } }
    }

    /// Why a document was refused.
    enum Failure: Error, Equatable {
        /// The document is not a JSON object at its top level.
        case notAnObject
        /// It is not valid JSON (or is past a bound).
        case invalid
    }

    /// The members of the JSON object `bytes` holds, in document order
    /// (a name given twice appears twice).
    static func objectMembers(_ bytes: [UInt8]) throws(Failure) -> [(name: String, value: Value)] {
        try bytes.withUnsafeBufferPointer { buffer throws(Failure) in
            var parser = Parser(bytes: buffer)
            parser.skipSpace()
            guard parser.peek() == UInt8(ascii: "{") else { throw .notAnObject }
            guard case let .object(members) = try parser.value(depth: 0) else { throw .notAnObject }
            parser.skipSpace()
            guard parser.index == buffer.count else { throw .invalid }
            return members
        }
    }

    /// The name of the first member given more than once, if any.
    ///
    /// Names are compared as Swift `String`s (canonical equivalence), not as
    /// bytes, on purpose: a lookup by `String` (ours, or `JSONDecoder`'s
    /// dictionary) would see two names that differ only in normalisation as
    /// one, so such a pair is refused as a duplicate too.
    static func duplicateName(in members: [(name: String, value: Value)]) -> String? {
        if members.count < 2 { return nil }
        if members.count <= 16 {
            // A token's few members: pairwise `==` (the same equivalence as a
            // Set's) costs less than hashing every name.
            for i in 1..<members.count {
                for j in 0..<i where members[j].name == members[i].name { return members[i].name }
            }
            return nil
        }
        var seen = Set<String>(minimumCapacity: members.count)
        for member in members where !seen.insert(member.name).inserted { return member.name }
        return nil
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        var values = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: StaticString) throws(Failure) {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - index >= count else { throw .invalid }
            let start = literal.utf8Start
            for offset in 0..<count where bytes[index + offset] != start[offset] { throw .invalid }
            index += count
        }

        mutating func value(depth: Int) throws(Failure) -> Value {
            values += 1
            guard values <= BoundedJSON.maximumValues else { throw .invalid }
            skipSpace()
            guard let first = peek() else { throw .invalid }
            switch first {
            case UInt8(ascii: "{"):
                guard depth < BoundedJSON.maximumDepth else { throw .invalid }
                index += 1
                var members: [(name: String, value: Value)] = []
                if depth == 0 { members.reserveCapacity(16) }
                skipSpace()
                if peek() == UInt8(ascii: "}") { index += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard peek() == UInt8(ascii: "\"") else { throw .invalid }
                    let name = try string()
                    skipSpace()
                    guard peek() == UInt8(ascii: ":") else { throw .invalid }
                    index += 1
                    members.append((name, try value(depth: depth + 1)))
                    skipSpace()
                    switch peek() {
                    case UInt8(ascii: ","): index += 1
                    case UInt8(ascii: "}"): index += 1; return .object(members)
                    default: throw .invalid
                    }
                }
            case UInt8(ascii: "["):
                guard depth < BoundedJSON.maximumDepth else { throw .invalid }
                index += 1
                var elements: [Value] = []
                skipSpace()
                if peek() == UInt8(ascii: "]") { index += 1; return .array(elements) }
                while true {
                    elements.append(try value(depth: depth + 1))
                    skipSpace()
                    switch peek() {
                    case UInt8(ascii: ","): index += 1
                    case UInt8(ascii: "]"): index += 1; return .array(elements)
                    default: throw .invalid
                    }
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default:
                return .number(integer: try number())
            }
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; its value
        /// when it has neither fraction nor exponent and fits an `Int64`.
        mutating func number() throws(Failure) -> Int64? {
            func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false }
            let negative = peek() == UInt8(ascii: "-")
            if negative { index += 1 }
            guard isDigit(peek()) else { throw .invalid }
            var value: Int64? = 0
            if peek() == UInt8(ascii: "0") {
                index += 1
            } else {
                while let byte = peek(), isDigit(byte) {
                    if let current = value {
                        let digit = Int64(byte - UInt8(ascii: "0"))
                        let (shifted, o1) = current.multipliedReportingOverflow(by: 10)
                        let (next, o2) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
                        value = o1 || o2 ? nil : next
                    }
                    index += 1
                }
            }
            if peek() == UInt8(ascii: ".") {
                index += 1
                guard isDigit(peek()) else { throw .invalid }
                while isDigit(peek()) { index += 1 }
                value = nil
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                index += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
                guard isDigit(peek()) else { throw .invalid }
                while isDigit(peek()) { index += 1 }
                value = nil
            }
            return value
        }

        /// A string literal at `index` (which holds its opening quote).
        mutating func string() throws(Failure) -> String {
            index += 1
            let start = index
            // Fast path: no escapes (the usual case). ASCII needs no UTF-8
            // validation (the generic one costs far more than the scan).
            var high: UInt8 = 0
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    if high < 0x80 { return String(decoding: raw, as: UTF8.self) }
                    guard let text = String(validating: raw, as: UTF8.self) else { throw .invalid }
                    return text
                }
                if c == UInt8(ascii: "\\") { break }
                guard c >= 0x20 else { throw .invalid }
                high |= c
                index += 1
            }
            guard index < bytes.count else { throw .invalid }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let c = bytes[index]
                switch c {
                case UInt8(ascii: "\""):
                    index += 1
                    if out.allSatisfy({ $0 < 0x80 }) { return String(decoding: out, as: UTF8.self) }
                    guard let text = String(validating: out, as: UTF8.self) else { throw .invalid }
                    return text
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escape = peek() else { throw .invalid }
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            // A high surrogate must be followed by an escaped low one.
                            guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                throw .invalid
                            }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw .invalid }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw .invalid
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw .invalid }
                        out.append(contentsOf: UTF8.encode(unicode)!)
                    default:
                        throw .invalid
                    }
                default:
                    guard c >= 0x20 else { throw .invalid }
                    out.append(c)
                    index += 1
                }
            }
            throw .invalid
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            guard bytes.count - index >= 4 else { throw .invalid }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                let digit: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
                default: throw .invalid
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }
    }
}

extension String {
    /// True when both hold exactly the same UTF-8 bytes (no Unicode
    /// equivalence), compared without copying for native strings.
    func hasSameBytes(as other: String) -> Bool {
        var a = self, b = other
        return a.withUTF8 { x in b.withUTF8 { y in x.count == y.count && x.elementsEqual(y) } }
    }

    /// True when this is `lowercase` (given in lowercase ASCII) ignoring
    /// ASCII case only.
    func equalsIgnoringASCIICase(_ lowercase: StaticString) -> Bool {
        var a = self
        return a.withUTF8 { x in
            guard x.count == lowercase.utf8CodeUnitCount else { return false }
            let y = lowercase.utf8Start
            for i in 0..<x.count {
                let c = x[i]
                if (c >= 0x41 && c <= 0x5A ? c | 0x20 : c) != y[i] { return false }
            }
            return true
        }
    }

    /// True when this starts with `lowercase` (lowercase ASCII) ignoring ASCII case only.
    func hasPrefixIgnoringASCIICase(_ lowercase: StaticString) -> Bool {
        var a = self
        return a.withUTF8 { x in
            guard x.count >= lowercase.utf8CodeUnitCount else { return false }
            let y = lowercase.utf8Start
            for i in 0..<lowercase.utf8CodeUnitCount {
                let c = x[i]
                if (c >= 0x41 && c <= 0x5A ? c | 0x20 : c) != y[i] { return false }
            }
            return true
        }
    }
}
