import ModelSecCrypto

/// The X25519 recipient stanza: ephemeral-static ECDH, as age's X25519 stanza.
///
/// Body (80 bytes): ephemeral public key (32) ‖ wrapped file key (48). The
/// wrapping key is HKDF-SHA-256(ikm = X25519(ephemeral, recipient), salt =
/// ephemeral public ‖ recipient public, info = "modelsec-encryption/v1/x25519").
enum X25519Stanza {
    static let bodySize = 32 + FileKeyWrap.wrappedSize

    static func wrap(_ fileKey: SecretKey, to recipient: X25519.PublicKey) throws -> Stanza {
        let ephemeral = X25519.PrivateKey()
        let shared: SecretKey
        do { shared = try ephemeral.sharedSecret(with: recipient) } catch {
            throw EncryptionError(.lowOrderRecipientKey)
        }
        let epk = ephemeral.publicKey.rawRepresentation
        let key = try HKDFSHA256.deriveKey(inputKeyMaterial: shared, salt: epk + recipient.rawRepresentation,
                                           info: Labels.x25519, outputByteCount: 32)
        return Stanza(kind: .x25519, body: epk + (try FileKeyWrap.wrap(fileKey, with: key)))
    }

    /// The file key if this stanza was made for `identity`; nil otherwise.
    static func unwrap(_ stanza: Stanza, with identity: X25519.PrivateKey) throws -> SecretKey? {
        precondition(stanza.body.count == bodySize)
        let epk = Array(stanza.body.prefix(32))
        let shared: SecretKey
        do { shared = try identity.sharedSecret(with: try X25519.PublicKey(rawRepresentation: epk)) } catch {
            throw EncryptionError(.lowOrderEphemeralKey)
        }
        let key = try HKDFSHA256.deriveKey(inputKeyMaterial: shared, salt: epk + identity.publicKey.rawRepresentation,
                                           info: Labels.x25519, outputByteCount: 32)
        return FileKeyWrap.unwrap(stanza.body[32...], with: key)
    }
}
