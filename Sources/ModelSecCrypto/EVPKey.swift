import COpenSSL
import Foundation

/// Owns an OpenSSL `EVP_PKEY` and frees it (OpenSSL cleanses private parts) on release.
/// Internal: no other module sees an OpenSSL pointer.
final class EVPKey: @unchecked Sendable { // read-only pointer; OpenSSL 3 allows concurrent use (below)
    // Read-only after init; OpenSSL 3 allows concurrent use of one EVP_PKEY
    // for signing and verification through separate contexts.
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }

    /// Parses a DER SubjectPublicKeyInfo.
    static func fromSPKI(_ der: [UInt8]) throws -> EVPKey {
        try der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            guard let key = d2i_PUBKEY(nil, &p, buf.count) else {
                Backend.clearOpenSSLErrors()
                throw CryptoBackendError.invalidKey("malformed SubjectPublicKeyInfo")
            }
            // Own the key before any further check, so every exit frees it.
            let owned = EVPKey(taking: key)
            guard p == buf.baseAddress.map({ $0 + buf.count }) else {
                throw CryptoBackendError.invalidKey("malformed SubjectPublicKeyInfo: trailing bytes after the structure")
            }
            return owned
        }
    }

    /// The DER SubjectPublicKeyInfo.
    func spkiDER() -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(pointer, &out)
        guard length > 0, let out else { fatalError("modelsec: i2d_PUBKEY failed") }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    /// The OpenSSL key type (`EVP_PKEY_ED25519`, `EVP_PKEY_EC`, …).
    var typeID: Int32 { EVP_PKEY_get_base_id(pointer) }

    /// The curve name of an EC key (`prime256v1` for P-256), or nil.
    var groupName: String? {
        var buffer = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(pointer, &buffer, buffer.count, &length) == 1 else {
            Backend.clearOpenSSLErrors()
            return nil
        }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
