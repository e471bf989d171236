/// A check that a JSON document means one thing to every reader before it is
/// decoded into Swift values: the strict parser's rules (no duplicate key,
/// bounded nesting, no data after the document), and no object with two keys
/// that are different bytes but the same Unicode text (NFC and NFD spellings
/// of one name). Swift's `String` compares by canonical equivalence, so a
/// `[String: ...]` dictionary would silently keep one of them, while Python
/// and the bytes on disk keep both.
public enum UnambiguousJSON {
    /// Why a document was refused: a reason, and the byte offset when known.
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

    private static func refuseEquivalentKeys(_ value: StrictJSON.Value) throws {
        switch value {
        case let .object(members):
            var seen: [String: String] = [:]
            for (key, member) in members {
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
