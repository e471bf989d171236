#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A string that compares, hashes and sorts as its exact UTF-8 bytes.
///
/// Swift's `String ==` (and so `Set<String>`, `[String: V]` and `switch` over
/// string literals) uses Unicode canonical equivalence: NFC `é` equals NFD
/// `e` + U+0301, and U+212A KELVIN SIGN equals the letter `K`. Every other
/// reader of a token, key id or policy (JWT libraries, OpenSSL, Python)
/// compares bytes, so a security decision that compares strings uses this
/// type: two values are equal only when their UTF-8 forms are identical. No
/// normalisation of any kind is applied.
public struct ExactString: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The text, exactly as given.
    public let string: String

    /// Wraps `string` (no normalisation).
    public init(_ string: String) { self.string = string }

    /// Wraps a literal (so `switch ExactString(label) { case "PUBLIC KEY": … }` compares bytes).
    public init(stringLiteral value: String) { string = value }

    /// The same text with the ASCII letters `A`–`Z` lowered and every other
    /// byte kept: the case folding of identifiers that are ASCII by
    /// definition (key ids in hex, algorithm names, media types). Unicode case
    /// mapping is deliberately not used (it turns U+212A into `k`).
    public var asciiLowercased: ExactString {
        ExactString(String(decoding: string.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self))
    }

    public var description: String { string }

    public static func == (lhs: ExactString, rhs: ExactString) -> Bool {
        bytesEqual(lhs.string, rhs.string)
    }

    /// Whether `a` and `b` have identical UTF-8 forms. Compares the
    /// contiguous storage of native strings in one `memcmp` (walking two
    /// `UTF8View`s byte by byte cost about ten instructions a byte, the
    /// largest single cost of scanning a directory of small pickles).
    public static func bytesEqual(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        let fast = x.withContiguousStorageIfAvailable { p in
            y.withContiguousStorageIfAvailable { q in p.count == 0 || memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0 }
        }
        if let fast, let equal = fast { return equal }
        return x.elementsEqual(y)
    }

    public func hash(into hasher: inout Hasher) {
        var copy = string
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Byte-wise lexicographic order (what `sort` does in C and Python).
    public static func < (lhs: ExactString, rhs: ExactString) -> Bool {
        lhs.string.utf8.lexicographicallyPrecedes(rhs.string.utf8)
    }
}

extension Set where Element == ExactString {
    /// The set of `strings`, each wrapped as an ``ExactString``.
    public init<S: Sequence>(exactly strings: S) where S.Element == String {
        self.init(strings.map { ExactString($0) })
    }
}

extension RawRepresentable where RawValue == String {
    /// The value whose raw value has exactly the UTF-8 bytes of `text`. (The
    /// synthesized `init(rawValue:)` of a string enum matches with canonical
    /// equivalence: it reads `\u{212A}ey` as `Key`.)
    public init?(exactRawValue text: String) {
        guard let value = Self(rawValue: text), ExactString(value.rawValue) == ExactString(text) else { return nil }
        self = value
    }
}
