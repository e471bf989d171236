/// The few DER encodings the package writes for public keys (definite
/// lengths only): an RSA SubjectPublicKeyInfo here, a PKCS#11 token's
/// public key in PKCS11Keys.
package enum DER {
    /// A definite length: one byte below 128, else 0x80 | n followed by n big-endian bytes.
    package static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var rest = count
        while rest > 0 { bytes.insert(UInt8(rest & 0xFF), at: 0); rest >>= 8 }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    /// Tag, length, content.
    package static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }

    /// A SEQUENCE holding `content`.
    package static func sequence(_ content: [UInt8]) -> [UInt8] { tlv(0x30, content) }
}
