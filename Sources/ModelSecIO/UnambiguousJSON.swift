import Foundation

/// A check that a JSON document means one thing to every reader before it is
/// decoded into Swift values: the strict parser's rules (no duplicate key,
/// bounded nesting, no data after the document), and every object key in
/// Unicode NFC. Swift's `String` compares by canonical equivalence, so
/// `JSONDecoder` reads an NFD key, or one spelled with a compatibility
/// singleton (U+212A KELVIN SIGN for `K`), as the NFC name it equals, and a
/// `[String: ...]` dictionary keeps one of two such keys; Python and the
/// bytes on disk see different names. Foundation's normaliser may know an
/// older Unicode version than the standard library, so two non-ASCII keys
/// of one object that Swift's `String` takes as equal are refused as well.
///
/// The check builds no tree (``StrictJSON/validate(_:maximumValues:checkingKey:)``): it
/// runs on documents whose signature has not been checked yet.
public enum UnambiguousJSON {
    /// Why a document was refused (the reason names the byte offset when the parser knows it).
    public struct Ambiguity: Error, CustomStringConvertible, Sendable {
        /// What is wrong.
        public let reason: String
        public var description: String { reason }
    }

    /// Throws ``Ambiguity`` unless `bytes` is one JSON document that reads
    /// one way, and ``StrictJSON/TooManyValues`` if it holds more than
    /// `maximumValues` values (see ``StrictJSON/validate(_:maximumValues:checkingKey:)``).
    public static func check(_ bytes: [UInt8], maximumValues: Int = .max) throws {
        do { try StrictJSON.validate(bytes, maximumValues: maximumValues, checkingKey: checkKey) } catch let invalid as StrictJSON.Invalid {
            throw Ambiguity(reason: invalid.description)
        }
    }

    /// The longest object key accepted, in UTF-8 bytes.
    public static let maximumKeyBytes = 1024
    /// The longest run of combining marks (non-starters) accepted in a key:
    /// Unicode's Stream-Safe Text Format limit. Longer runs make
    /// normalisation (and `String` hashing, which normalises) quadratic.
    public static let maximumNonStarterRun = 30

    /// The rules for one key, bounded before it is normalised.
    private static func checkKey(_ key: String, at offset: Int) throws {
        if let problem = keyProblem(key) { throw Ambiguity(reason: "the object key at byte \(offset) \(problem)") }
    }

    /// What is wrong with `key` as an object key (too long, too many
    /// combining marks in a row, not in NFC), as a phrase that follows "the
    /// key", or nil when it is fine. Writers (the model card's keys) check
    /// with it so that what they write passes ``check(_:)``.
    public static func keyProblem(_ key: String) -> String? {
        guard key.utf8.count <= maximumKeyBytes else { return "is longer than \(maximumKeyBytes) bytes" }
        // ASCII (nearly every key) is NFC and has no combining mark.
        if key.utf8.allSatisfy({ $0 < 0x80 }) { return nil }
        var run = 0
        for scalar in key.unicodeScalars {
            run = scalar.properties.canonicalCombiningClass == .notReordered ? 0 : run + 1
            guard run <= maximumNonStarterRun else {
                return "\(StrictJSON.shown(key)) has more than \(maximumNonStarterRun) combining marks in a row"
            }
        }
        let normal = key.precomposedStringWithCanonicalMapping
        guard Array(normal.utf8) == Array(key.utf8) else {
            return "\(StrictJSON.shown(key)) (\(StrictJSON.codePoints(key))) is not in Unicode NFC: readers that compare names by Unicode equivalence read it as \(StrictJSON.codePoints(normal)) (write keys in NFC)"
        }
        return nil
    }
}
