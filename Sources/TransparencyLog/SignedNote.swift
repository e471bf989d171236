import Foundation

/// A C2SP signed note: UTF-8 text ending in a newline, a blank line, then
/// signature lines `— <key name> <base64(key id || signature)>`.
public struct SignedNote: Sendable, Equatable {
    /// One signature line.
    public struct Signature: Sendable, Equatable {
        /// The key name.
        public let name: String
        /// The 32-bit key id (first four bytes, big-endian).
        public let keyID: UInt32
        /// The bytes after the key id (the algorithm's signature).
        public let signature: [UInt8]

        /// A signature line's content.
        public init(name: String, keyID: UInt32, signature: [UInt8]) {
            self.name = name
            self.keyID = keyID
            self.signature = signature
        }

        /// The line, including its final newline.
        public var line: String {
            var blob = withUnsafeBytes(of: keyID.bigEndian) { Array($0) }
            blob += signature
            return "\u{2014} \(name) \(Data(blob).base64EncodedString())\n"
        }
    }

    /// The largest note accepted (a checkpoint with many cosignatures is a few KiB).
    public static let maxBytes = 1 << 20
    /// The most signature lines accepted (the spec requires at least 16).
    public static let maxSignatures = 100

    /// The note text, including its final newline (what signatures cover).
    public let text: String
    /// The signatures, in file order.
    public private(set) var signatures: [Signature]

    /// A note over `text` (which must end with a newline) with `signatures`.
    public init(text: String, signatures: [Signature] = []) throws {
        try Self.checkText(Array(text.utf8), what: "note text")
        self.text = text
        self.signatures = signatures
    }

    /// Parses a note; `what` names it in errors.
    public init(bytes: [UInt8], what: String) throws {
        guard bytes.count <= Self.maxBytes else { throw TransparencyLogError.tooLarge(what: what, limit: Self.maxBytes) }
        func bad(_ reason: String) -> TransparencyLogError { .malformedNote(what: what, reason: reason) }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw bad("not UTF-8") }
        guard !bytes.contains(where: { $0 < 0x20 && $0 != 0x0A }) else { throw bad("contains a control character") }
        // The text ends at the last blank line.
        var split: Int?
        if bytes.count >= 2 {
            for i in stride(from: bytes.count - 2, through: 0, by: -1) where bytes[i] == 0x0A && bytes[i + 1] == 0x0A {
                split = i
                break
            }
        }
        guard let split else { throw bad("no blank line before the signatures") }
        let textBytes = Array(bytes[...split])
        let signatureBytes = bytes[(split + 2)...]
        try Self.checkText(textBytes, what: what)
        guard !signatureBytes.isEmpty, signatureBytes.last == 0x0A else { throw bad("no signature lines, or the last one does not end with a newline") }
        var signatures: [Signature] = []
        for lineBytes in signatureBytes.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false) {
            guard signatures.count < Self.maxSignatures else { throw TransparencyLogError.tooLarge(what: "\(what) signature count", limit: Self.maxSignatures) }
            let line = String(decoding: lineBytes, as: UTF8.self)
            guard line.hasPrefix("\u{2014} ") else { throw bad("a signature line does not start with an em dash and a space") }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2 else { throw bad("a signature line is not `— name signature`") }
            let name = String(fields[0])
            guard NoteKeyName.isValid(name) else { throw bad("invalid key name in a signature line") }
            guard let blob = Data(base64Encoded: String(fields[1])), blob.count > 4,
                  blob.base64EncodedString() == fields[1] else { throw bad("a signature is not canonical base64 of more than 4 bytes") }
            let keyID = blob.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            signatures.append(Signature(name: name, keyID: keyID, signature: Array(blob.dropFirst(4))))
        }
        self.text = String(decoding: textBytes, as: UTF8.self)
        self.signatures = signatures
    }

    private static func checkText(_ bytes: [UInt8], what: String) throws {
        func bad(_ reason: String) -> TransparencyLogError { .malformedNote(what: what, reason: reason) }
        guard !bytes.isEmpty, bytes.last == 0x0A else { throw bad("the text does not end with a newline") }
        guard bytes.first != 0x0A, !zip(bytes, bytes.dropFirst()).contains(where: { $0 == 0x0A && $1 == 0x0A }) else {
            throw bad("the text has an empty line")
        }
        guard !bytes.contains(where: { $0 < 0x20 && $0 != 0x0A }) else { throw bad("contains a control character") }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw bad("not UTF-8") }
    }

    /// Adds a signature line (replacing one with the same name and key id).
    public mutating func add(_ signature: Signature) {
        signatures.removeAll { Array($0.name.utf8) == Array(signature.name.utf8) && $0.keyID == signature.keyID }
        signatures.append(signature)
    }

    /// The serialised note: text, blank line, signature lines.
    public var bytes: [UInt8] { Array((text + "\n" + signatures.map(\.line).joined()).utf8) }
}

/// Key name rules of the signed-note spec.
public enum NoteKeyName {
    /// Non-empty, no Unicode space (nor any control character), no `+`.
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { $0 == "+" || $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }
    }
}
