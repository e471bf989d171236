/// A check that a JSON document means one thing to every reader before it is
/// decoded into Swift values: the strict parser's rules (no duplicate key,
/// bounded nesting, no data after the document), and no object with two keys
/// that are different bytes but the same Unicode text (NFC and NFD spellings
/// of one name). Swift's `String` compares by canonical equivalence, so a
/// `[String: ...]` dictionary would silently keep one of them, while Python
/// and the bytes on disk keep both.
public enum UnambiguousJSON {
    /// Why a document was refused (the reason names the byte offset when the parser knows it).
    public struct Ambiguity: Error, CustomStringConvertible, Sendable {
        /// What is wrong.
        public let reason: String
        public var description: String { reason }
    }

    /// Throws ``Ambiguity`` unless `bytes` is one JSON document that reads one way.
    public static func check(_ bytes: [UInt8]) throws {
        let value: StrictJSON.Value
        do { value = try StrictJSON.parse(bytes) } catch let invalid as StrictJSON.Invalid {
            throw Ambiguity(reason: invalid.description)
        }
        try refuseEquivalentKeys(value)
    }

    /// The longest object key accepted, in UTF-8 bytes.
    public static let maximumKeyBytes = 1024
    /// The longest run of combining marks (non-starters) accepted in a key:
    /// Unicode's Stream-Safe Text Format limit. Longer runs make `String`
    /// hashing (which normalises) quadratic.
    public static let maximumNonStarterRun = 30

    private static func refuseEquivalentKeys(_ value: StrictJSON.Value) throws {
        switch value {
        case let .object(members):
            var seen: [String: String] = [:]
            for (key, member) in members {
                // Bounded before the key is ever hashed.
                guard key.utf8.count <= maximumKeyBytes else {
                    throw Ambiguity(reason: "an object key is longer than \(maximumKeyBytes) bytes")
                }
                var run = 0
                for scalar in key.unicodeScalars {
                    run = scalar.properties.canonicalCombiningClass == .notReordered ? 0 : run + 1
                    guard run <= maximumNonStarterRun else {
                        throw Ambiguity(reason: "an object key has more than \(maximumNonStarterRun) combining marks in a row")
                    }
                }
                if let earlier = seen.updateValue(key, forKey: key) {
                    throw Ambiguity(reason: "the keys \(earlier.debugDescription) and \(key.debugDescription) are different bytes for the same Unicode text (normalise them to one form)")
                }
                try refuseEquivalentKeys(member)
            }
        case let .array(items):
            for item in items { try refuseEquivalentKeys(item) }
        default:
            return
        }
    }
}
