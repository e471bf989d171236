import ModelSecCrypto

/// The symmetric-key recipient stanza, for a 256-bit key kept in a KMS or
/// secret store.
///
/// Body (64 bytes): random salt (16) ‖ wrapped file key (48). The wrapping key
/// is HKDF-SHA-256(ikm = the 32-byte key, salt = that salt, info =
/// "modelsec-encryption/v1/symmetric-key").
enum SymmetricKeyStanza {
    static let saltSize = 16
    static let bodySize = saltSize + FileKeyWrap.wrappedSize

    static func wrap(_ fileKey: SecretKey, with key: SecretKey) throws -> Stanza {
        guard key.byteCount == 32 else { throw EncryptionError(.symmetricKeyLength(key.byteCount)) }
        let salt = SecureRandom.bytes(count: saltSize)
        let wrapping = try HKDFSHA256.deriveKey(inputKeyMaterial: key, salt: salt, info: Labels.symmetricKey, outputByteCount: 32)
        return Stanza(kind: .symmetricKey, body: salt + (try FileKeyWrap.wrap(fileKey, with: wrapping)))
    }

    /// The file key if this stanza was made with `key`; nil otherwise.
    static func unwrap(_ stanza: Stanza, with key: SecretKey) throws -> SecretKey? {
        precondition(stanza.body.count == bodySize)
        guard key.byteCount == 32 else { return nil }
        let wrapping = try HKDFSHA256.deriveKey(inputKeyMaterial: key, salt: Array(stanza.body.prefix(saltSize)),
                                                info: Labels.symmetricKey, outputByteCount: 32)
        return FileKeyWrap.unwrap(stanza.body[saltSize...], with: wrapping)
    }
}
