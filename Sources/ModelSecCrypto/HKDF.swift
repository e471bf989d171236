import COpenSSL
import Foundation

/// HKDF with SHA-256 (RFC 5869), through OpenSSL's HKDF implementation.
public enum HKDFSHA256 {
    private enum Mode { case extractAndExpand, extractOnly, expandOnly }

    /// HKDF-Extract: a pseudorandom key from input keying material and a salt.
    /// An empty salt means the RFC's default of 32 zero bytes.
    public static func extract<S: ContiguousBytes>(inputKeyMaterial: SecretKey, salt: S) throws -> SecretKey {
        try derive(mode: .extractOnly, key: inputKeyMaterial, salt: salt, info: [UInt8](), outputByteCount: 32)
    }

    /// HKDF-Expand: `outputByteCount` bytes (at most 8160) from a pseudorandom key and `info`.
    public static func expand<I: ContiguousBytes>(pseudoRandomKey: SecretKey, info: I, outputByteCount: Int) throws -> SecretKey {
        try derive(mode: .expandOnly, key: pseudoRandomKey, salt: [UInt8](), info: info, outputByteCount: outputByteCount)
    }

    /// Extract then expand, in one call.
    public static func deriveKey<S: ContiguousBytes, I: ContiguousBytes>(
        inputKeyMaterial: SecretKey, salt: S, info: I, outputByteCount: Int
    ) throws -> SecretKey {
        try derive(mode: .extractAndExpand, key: inputKeyMaterial, salt: salt, info: info, outputByteCount: outputByteCount)
    }

    private static func derive<S: ContiguousBytes, I: ContiguousBytes>(
        mode: Mode, key: SecretKey, salt: S, info: I, outputByteCount: Int
    ) throws -> SecretKey {
        guard outputByteCount > 0, outputByteCount <= 255 * 32 else {
            throw CryptoBackendError.invalidParameter("HKDF output length must be 1...8160 bytes, got \(outputByteCount)")
        }
        guard key.byteCount > 0 else { throw CryptoBackendError.invalidParameter("HKDF input key material is empty") }
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nil) else {
            throw CryptoBackendError.backend(Backend.openSSLErrorDescription())
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var ok = EVP_PKEY_derive_init(ctx) == 1
        let modeValue: Int32
        switch mode {
        case .extractAndExpand: modeValue = EVP_PKEY_HKDEF_MODE_EXTRACT_AND_EXPAND
        case .extractOnly: modeValue = EVP_PKEY_HKDEF_MODE_EXTRACT_ONLY
        case .expandOnly: modeValue = EVP_PKEY_HKDEF_MODE_EXPAND_ONLY
        }
        ok = ok && EVP_PKEY_CTX_set_hkdf_mode(ctx, modeValue) == 1
        ok = ok && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1
        ok = ok && key.withUnsafeBytes { k in
            EVP_PKEY_CTX_set1_hkdf_key(ctx, k.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(k.count)) == 1
        }
        ok = ok && salt.withUnsafeBytes { s in
            s.count == 0 || EVP_PKEY_CTX_set1_hkdf_salt(ctx, s.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(s.count)) == 1
        }
        ok = ok && info.withUnsafeBytes { i in
            i.count == 0 || EVP_PKEY_CTX_add1_hkdf_info(ctx, i.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(i.count)) == 1
        }
        guard ok else { throw CryptoBackendError.backend(Backend.openSSLErrorDescription()) }
        var failure: String?
        let secret = SecretBytes(count: outputByteCount) { out in
            var length = out.count
            if EVP_PKEY_derive(ctx, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &length) != 1 || length != out.count {
                failure = Backend.openSSLErrorDescription()
            }
        }
        if let failure { throw CryptoBackendError.backend(failure) }
        return SecretKey(secret)
    }
}
