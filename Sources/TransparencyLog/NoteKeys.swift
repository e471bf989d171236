import Foundation
import ModelSecCrypto

/// The signature types of signed notes this library implements.
public enum NoteSignatureType: UInt8, Sendable {
    /// Ed25519 over the note text (signed-note, the log's own signature).
    case ed25519 = 0x01
    /// Timestamped Ed25519 witness cosignature (tlog-cosignature, `cosignature/v1`).
    case cosignatureV1 = 0x04
}

/// The note key id: the first four bytes, big-endian, of
/// SHA-256(name || 0x0A || type || public key).
public func noteKeyID(name: String, type: NoteSignatureType, publicKey: [UInt8]) -> UInt32 {
    var h = SHA2.SHA256.hasher()
    h.update(Array(name.utf8))
    h.update([0x0A, type.rawValue])
    h.update(publicKey)
    return h.finalize().bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
}

/// A public key that checks note signatures of one type under one name.
public struct NoteVerifier: Sendable, Equatable {
    /// The key name (a log's origin, a witness's name).
    public let name: String
    /// The signature type.
    public let type: NoteSignatureType
    /// The 32-byte Ed25519 public key.
    public let publicKey: Ed25519.PublicKey
    /// The key id derived from name, type and key.
    public let keyID: UInt32

    /// A verifier for `publicKey` under `name`.
    public init(name: String, type: NoteSignatureType, publicKey: Ed25519.PublicKey) throws {
        guard NoteKeyName.isValid(name) else { throw TransparencyLogError.malformedKey(reason: "key name must be non-empty, without spaces or +") }
        self.name = name
        self.type = type
        self.publicKey = publicKey
        keyID = noteKeyID(name: name, type: type, publicKey: publicKey.rawRepresentation)
    }

    /// Parses the vkey text form `<name>+<8 hex key id>+<base64(type || key)>`.
    public init(vkey: String) throws {
        // Names never contain "+", base64 may: split at the first two only.
        let parts = vkey.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        func bad(_ reason: String) -> TransparencyLogError { .malformedKey(reason: reason) }
        guard parts.count == 3 else { throw bad("a verifier key is name+keyid+base64") }
        guard parts[1].count == 8, parts[1].allSatisfy(\.isHexDigit), let id = UInt32(parts[1], radix: 16) else {
            throw bad("the key id is not 8 hex digits")
        }
        guard let blob = Data(base64Encoded: String(parts[2])), blob.count == 33 else {
            throw bad("the key is not base64 of a type byte and 32 bytes")
        }
        guard let type = NoteSignatureType(rawValue: blob[blob.startIndex]) else {
            throw bad("signature type 0x\(String(blob[blob.startIndex], radix: 16)) is not Ed25519 (0x01) or cosignature/v1 (0x04)")
        }
        let key: Ed25519.PublicKey
        do { key = try Ed25519.PublicKey(rawRepresentation: Array(blob.dropFirst())) } catch { throw bad("not an Ed25519 key") }
        try self.init(name: String(parts[0]), type: type, publicKey: key)
        guard keyID == id else { throw bad("the key id does not match the name and key") }
    }

    /// The vkey text form.
    public var vkey: String {
        let hexID = String(keyID, radix: 16)
        return "\(name)+\(String(repeating: "0", count: 8 - hexID.count) + hexID)+\(Data([type.rawValue] + publicKey.rawRepresentation).base64EncodedString())"
    }

    /// True when `signature` (already matched by name and key id) verifies
    /// over `text`. For a cosignature, `timestamp` receives its time.
    func verifies(_ signature: SignedNote.Signature, text: String) -> (valid: Bool, timestamp: UInt64?) {
        switch type {
        case .ed25519:
            guard signature.signature.count == 64 else { return (false, nil) }
            return (publicKey.isValidSignature(signature.signature, for: Array(text.utf8)), nil)
        case .cosignatureV1:
            guard signature.signature.count == 72 else { return (false, nil) }
            let timestamp = signature.signature.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard timestamp <= UInt64(Int64.max) else { return (false, nil) }
            let message = Cosignature.message(timestamp: timestamp, text: text)
            return (publicKey.isValidSignature(Array(signature.signature.dropFirst(8)), for: message), timestamp)
        }
    }

    /// Checks `note`'s signatures: throws ``TransparencyLogError/signatureInvalid(what:keyName:)``
    /// if this key's signature is present and fails,
    /// ``TransparencyLogError/signatureMissing(what:keyName:)`` if absent.
    /// Signatures of other keys are ignored, as the spec requires. Returns the
    /// cosignature's timestamp for a cosigning key.
    @discardableResult
    public func verify(_ note: SignedNote, what: String) throws -> UInt64? {
        var found: UInt64?? = nil
        // Names are compared as bytes, as every other reader of notes does
        // (Go's sumdb/note): Swift's `==` would take a canonically equivalent
        // spelling for this key's name.
        for signature in note.signatures where Array(signature.name.utf8) == Array(name.utf8) && signature.keyID == keyID {
            let result = verifies(signature, text: note.text)
            guard result.valid else { throw TransparencyLogError.signatureInvalid(what: what, keyName: name) }
            found = .some(result.timestamp)
        }
        guard let found else { throw TransparencyLogError.signatureMissing(what: what, keyName: name) }
        return found
    }
}

/// A private key that signs notes of one type under one name.
public struct NoteSigner: Sendable {
    /// The key name.
    public let name: String
    /// The signature type.
    public let type: NoteSignatureType
    private let key: Ed25519.PrivateKey

    /// A signer for `key` under `name`.
    public init(name: String, type: NoteSignatureType, key: Ed25519.PrivateKey) throws {
        guard NoteKeyName.isValid(name) else { throw TransparencyLogError.malformedKey(reason: "key name must be non-empty, without spaces or +") }
        self.name = name
        self.type = type
        self.key = key
    }

    /// The matching verifier.
    public var verifier: NoteVerifier { try! NoteVerifier(name: name, type: type, publicKey: key.publicKey) }

    /// A signature line over `text` (for a cosigner, timestamped `timestamp`).
    public func sign(text: String, timestamp: UInt64 = 0) -> SignedNote.Signature {
        switch type {
        case .ed25519:
            return .init(name: name, keyID: verifier.keyID, signature: key.signature(for: Array(text.utf8)))
        case .cosignatureV1:
            let stamp = withUnsafeBytes(of: timestamp.bigEndian) { Array($0) }
            return .init(name: name, keyID: verifier.keyID, signature: stamp + key.signature(for: Cosignature.message(timestamp: timestamp, text: text)))
        }
    }
}

/// C2SP tlog-cosignature v1 (Ed25519) message.
public enum Cosignature {
    /// `cosignature/v1\ntime <T>\n` followed by the checkpoint's note text.
    public static func message(timestamp: UInt64, text: String) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n\(text)".utf8)
    }
}
