import ModelSecIO

/// A path into a JSON document, as written in policies (see docs/policy.md):
/// `metadata.license`, `artifacts[0].path`, `artifacts[*].encryption.algorithm`,
/// `metadata["intended-use"]`.
///
/// Hand-written (a few dozen lines) rather than pulling in a JSONPath library:
/// policies need only member access, indexes and one wildcard, and the syntax
/// must stay small enough to document completely.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    /// One step of a path.
    public enum Component: Sendable, Hashable {
        /// An object member.
        case key(String)
        /// An array element (0-based).
        case index(Int)
        /// Every element of an array.
        case everyElement
    }

    /// The steps, outermost first.
    public let components: [Component]
    /// The text it was parsed from.
    public let description: String

    /// Parses `text`; throws a message saying what is wrong.
    public init(parsing text: String) throws {
        var components: [Component] = []
        let chars = Array(text)
        var i = 0
        func fail(_ why: String) -> FieldPathError { FieldPathError(fieldPath: text, reason: why) }
        guard !chars.isEmpty else { throw fail("the path is empty") }
        var expectKey = true
        while i < chars.count {
            let c = chars[i]
            if c == "." {
                guard !components.isEmpty, !expectKey else { throw fail("unexpected '.' at offset \(i)") }
                expectKey = true
                i += 1
                continue
            }
            if c == "[" {
                guard let close = chars[i...].firstIndex(of: "]") else { throw fail("'[' at offset \(i) is not closed") }
                var inner = String(chars[(i + 1)..<close])
                if inner.hasPrefix("\"") {
                    // Quoted key: the closing quote must be the last character before ']'.
                    guard inner.count >= 2, inner.hasSuffix("\"") else { throw fail("unterminated quoted key at offset \(i)") }
                    inner = String(inner.dropFirst().dropLast())
                    components.append(.key(inner))
                } else if inner == "*" {
                    components.append(.everyElement)
                } else if let n = Int(inner), n >= 0 {
                    components.append(.index(n))
                } else {
                    throw fail("'[\(inner)]' is not an index, '*' or a quoted key")
                }
                expectKey = false
                i = close + 1
                continue
            }
            guard expectKey else { throw fail("expected '.' or '[' at offset \(i)") }
            var j = i
            while j < chars.count, chars[j] != ".", chars[j] != "[" { j += 1 }
            let key = String(chars[i..<j])
            guard !key.isEmpty else { throw fail("empty key at offset \(i)") }
            components.append(.key(key))
            expectKey = false
            i = j
        }
        guard !expectKey else { throw fail("the path ends with '.'") }
        self.components = components
        self.description = text
    }

    /// Every value the path reaches in `root` (several with `[*]`; none when a
    /// step is missing). A member whose value is `null` counts as missing.
    public func values(in root: JSONValue) -> [JSONValue] {
        var current: [JSONValue] = [root]
        for component in components {
            var next: [JSONValue] = []
            for value in current {
                switch component {
                case let .key(k):
                    if let v = value[k], !v.isNull { next.append(v) }
                case let .index(n):
                    if let a = value.arrayValue, n < a.count, !a[n].isNull { next.append(a[n]) }
                case .everyElement:
                    if let a = value.arrayValue { next.append(contentsOf: a.filter { !$0.isNull }) }
                }
            }
            current = next
        }
        return current
    }
}

/// A field path in a policy that does not parse (`policy lint` reports it
/// with the line it is on).
public struct FieldPathError: ModelSecError, Equatable {
    /// The path as written.
    public let fieldPath: String
    /// What is wrong.
    public let reason: String
    public var category: FailureCategory { .invalidInput }
    public var code: String { "policy.invalid-field-path" }
    public var description: String { "invalid path '\(fieldPath)': \(reason)" }
}
