import ModelSecCrypto

/// One recipient's entry in the header: a type byte and a body whose size the
/// type fixes exactly (docs/encryption-format.md, "Recipient stanzas").
///
/// The set of types is closed, as the format says: a reader refuses a type it
/// does not know. New kinds of keys (an HSM, a KMS) plug in as ``Recipient``
/// and ``Identity`` conformances that write and open these same stanzas.
public struct Stanza: Equatable, Sendable {
    /// Stanza types. Unknown types are rejected.
    public enum Kind: UInt8, CaseIterable, Sendable {
        /// An X25519 recipient (ephemeral-static ECDH).
        case x25519 = 1
        /// A 256-bit symmetric key.
        case symmetricKey = 2
        /// A passphrase stretched with Argon2id (only ever the file's only stanza).
        case passphrase = 3


        /// The exact body size for this type.
        public var bodySize: Int {
            switch self {
            case .x25519: return X25519Stanza.bodySize
            case .symmetricKey: return SymmetricKeyStanza.bodySize
            case .passphrase: return PassphraseStanza.bodySize
            }
        }

        /// The name shown by `inspect-encrypted`.
        public var name: String {
            switch self {
            case .x25519: return "x25519"
            case .symmetricKey: return "symmetric-key"
            case .passphrase: return "passphrase"
            }
        }
    }

    /// The type.
    public let kind: Kind
    /// The body, exactly ``Kind/bodySize`` bytes.
    public let body: [UInt8]

    /// A stanza of `kind` with `body` (its size is checked when a header is
    /// made or parsed).
    public init(kind: Kind, body: [UInt8]) {
        self.kind = kind
        self.body = body
    }
}

/// Wrapping the 32-byte file key under a per-stanza key: AES-256-GCM with an
/// all-zero nonce and no associated data. Each wrapping key is used once
/// (it is derived from fresh randomness), so the fixed nonce is safe.
enum FileKeyWrap {
    /// Wrapped size: 32-byte ciphertext and 16-byte tag.
    static let wrappedSize = 32 + AES256.GCM.tagByteCount
    private static let zeroNonce = [UInt8](repeating: 0, count: AES256.GCM.nonceByteCount)

    static func wrap(_ fileKey: SecretKey, with wrappingKey: SecretKey) throws -> [UInt8] {
        let box = try fileKey.withUnsafeBytes { try AES256.GCM.seal($0, using: wrappingKey, nonce: zeroNonce) }
        return box.ciphertext + box.tag
    }

    /// The file key, or nil when `wrapped` does not open under this key (the
    /// stanza is for someone else, or was altered).
    static func unwrap(_ wrapped: ArraySlice<UInt8>, with wrappingKey: SecretKey) -> SecretKey? {
        precondition(wrapped.count == wrappedSize)
        let box = AES256.GCM.SealedBox(nonce: zeroNonce, ciphertext: Array(wrapped.prefix(32)), tag: Array(wrapped.suffix(16)))
        guard var raw = try? AES256.GCM.open(box, using: wrappingKey) else { return nil }
        defer { SecureZero.zero(&raw) }
        return SecretKey(copying: raw)
    }
}

/// The HKDF `info` labels of format version 1.
enum Labels {
    static let payload = Array("modelsec-encryption/v1/payload".utf8)
    static let header = Array("modelsec-encryption/v1/header".utf8)
    static let x25519 = Array("modelsec-encryption/v1/x25519".utf8)
    static let symmetricKey = Array("modelsec-encryption/v1/symmetric-key".utf8)
}
