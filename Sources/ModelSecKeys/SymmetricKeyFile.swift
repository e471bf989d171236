import ModelSecCrypto

/// The `aes256` key file: one PEM block labelled `MODELSEC AES-256 KEY` whose
/// body is the base64 of exactly 32 key bytes (see docs/keys.md).
public enum SymmetricKeyFile {
    /// The PEM label.
    public static let pemLabel = "MODELSEC AES-256 KEY"

    /// The file text for `key`, in secret storage.
    public static func encode(_ key: SecretKey) -> SecretBytes {
        var raw = key.withUnsafeBytes { Array($0) }
        defer { SecureZero.zero(&raw) }
        var text = Array(PEMBlock.encode(label: pemLabel, der: raw).utf8)
        defer { SecureZero.zero(&text) }
        return SecretBytes(copying: text)
    }

    /// Decodes the file text.
    public static func decode(_ block: PEMBlock) throws -> SecretKey {
        guard ExactString(block.label) == ExactString(pemLabel) else { throw KeyDecodingError.unsupportedLabel(block.label) }
        guard block.der.count == 32 else {
            throw KeyDecodingError.malformed("an aes256 key must be 32 bytes, this one is \(block.der.count)")
        }
        var der = block.der
        defer { SecureZero.zero(&der) }
        return SecretKey(copying: der)
    }

    /// A fingerprint that names the key without revealing it: the lowercase hex
    /// of HMAC-SHA-256(key, "modelsec aes256 key id v1").
    public static func keyID(of key: SecretKey) -> String {
        Hex.encode(HMACSHA256.authenticationCode(for: Array("modelsec aes256 key id v1".utf8), using: key))
    }
}
