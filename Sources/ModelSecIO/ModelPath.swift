/// A path inside a model, relative to the model's root, kept as the raw bytes
/// the file system returned.
///
/// Comparisons, hashing and ordering are byte-wise. Swift `String` equality is
/// deliberately never used for file names: it treats canonically equivalent
/// forms (NFC `é` and NFD `e` + U+0301) as equal, while the file system, the
/// OMS format and the Python implementation treat them as different files.
public struct ModelPath: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The UTF-8 bytes, components separated by `/`, no leading `./` or `/`.
    /// The root of a single-file model is `.`.
    public let bytes: [UInt8]

    /// Wraps raw bytes (no normalisation of any kind).
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The bytes of `string`'s UTF-8 form, exactly as written (no Unicode
    /// normalisation).
    public init(_ string: String) { bytes = Array(string.utf8) }

    /// The name of the single resource of a single-file model.
    public static let singleFileRoot = ModelPath(".")

    /// The path as text. Walked names are validated as UTF-8, so this is lossless.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { string }

    /// The components, split on the byte `/`.
    public var components: [[UInt8]] {
        bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(Array.init)
    }

    /// `text` as a path that can be joined to a directory without leaving it,
    /// judged on its UTF-8 bytes alone: split on the byte `/`, every component
    /// must be non-empty, not `.` or `..`, free of NUL and at most 255 bytes
    /// (NAME_MAX); the whole path at most 4096 bytes. No normalisation is
    /// applied, so what is checked is exactly what the file system will see.
    /// Nil when `text` breaks any rule.
    ///
    /// Bytes, not `Character`s: a combining mark after `/` (as in
    /// `"../\u{301}x"`) joins the slash into one grapheme, so a split on
    /// `Character("/")` would not see the `..` that the kernel sees.
    public static func safeRelative(_ text: String) -> ModelPath? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 4096 else { return nil }
        for component in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard !component.isEmpty, component.count <= 255, !component.contains(0),
                  !component.elementsEqual([UInt8(ascii: ".")]),
                  !component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) else { return nil }
        }
        return ModelPath(bytes: bytes)
    }

    /// `self/component`.
    public func appending(_ component: [UInt8]) -> ModelPath {
        if bytes.isEmpty { return ModelPath(bytes: component) }
        return ModelPath(bytes: bytes + [UInt8(ascii: "/")] + component)
    }

    /// True when `self` is `prefix` or lies under the directory `prefix`.
    public func isWithin(_ prefix: ModelPath) -> Bool {
        guard bytes.count >= prefix.bytes.count, bytes.starts(with: prefix.bytes) else { return false }
        return bytes.count == prefix.bytes.count || bytes[prefix.bytes.count] == UInt8(ascii: "/")
    }

    /// Orders by path components (as the Python implementation does), so
    /// `a/b` sorts before `a-b`: `/` ranks below every other byte.
    public static func < (lhs: ModelPath, rhs: ModelPath) -> Bool {
        let slash = UInt8(ascii: "/")
        for (a, b) in zip(lhs.bytes, rhs.bytes) where a != b {
            if a == slash { return true }
            if b == slash { return false }
            return a < b
        }
        return lhs.bytes.count < rhs.bytes.count
    }

    /// Normalises a user- or signature-supplied relative path: drops `./`
    /// components, empty components and a trailing `/`. Nil when it is
    /// absolute or climbs out with `..` (such paths can never match a file in
    /// the model and are dropped, as the Python implementation does).
    public static func normalizedRelative(_ text: String) -> ModelPath? {
        guard !text.hasPrefix("/") else { return nil }
        var parts: [[UInt8]] = []
        for part in Array(text.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            let component = Array(part)
            if component == [UInt8(ascii: ".")] { continue }
            if component == [UInt8(ascii: "."), UInt8(ascii: ".")] { return nil }
            parts.append(component)
        }
        guard !parts.isEmpty else { return nil }
        return ModelPath(bytes: Array(parts.joined(separator: [UInt8(ascii: "/")])))
    }
}
