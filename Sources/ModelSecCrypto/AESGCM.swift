import COpenSSL
import Foundation

/// AES with 256-bit keys (FIPS 197), the only key size modelsec uses. Named
/// `AES256` so it does not clash with swift-crypto's `AES` in one file.
public enum AES256 {}

extension AES256 {
    /// AES-256 in Galois/Counter Mode (NIST SP 800-38D) with 96-bit nonces and
    /// 128-bit tags, through OpenSSL EVP (AES-NI and carry-less multiply where
    /// the CPU has them).
    public enum GCM {
        /// Key length in bytes.
        public static let keyByteCount = 32
        /// Nonce length in bytes.
        public static let nonceByteCount = 12
        /// Tag length in bytes.
        public static let tagByteCount = 16

        /// A sealed message: nonce, ciphertext and tag.
        public struct SealedBox: Sendable {
            /// The 12-byte nonce.
            public let nonce: [UInt8]
            /// The ciphertext, as long as the plaintext.
            public let ciphertext: [UInt8]
            /// The 16-byte authentication tag.
            public let tag: [UInt8]

            /// Assembles a box from its parts (for opening).
            public init(nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
                self.nonce = nonce
                self.ciphertext = ciphertext
                self.tag = tag
            }
        }

        /// Encrypts and authenticates `plaintext` and `authenticating` data. A
        /// random nonce is used when none is given; never reuse a nonce under a key.
        public static func seal<P: ContiguousBytes, A: ContiguousBytes>(
            _ plaintext: P, using key: SecretKey, nonce: [UInt8]? = nil, authenticating aad: A
        ) throws -> SealedBox {
            let nonce = nonce ?? SecureRandom.bytes(count: nonceByteCount)
            let cipher = try ChunkCipher(key: key)
            return try plaintext.withUnsafeBytes { p in
                var ciphertext = [UInt8](repeating: 0, count: p.count)
                var tag = [UInt8](repeating: 0, count: tagByteCount)
                try nonce.withUnsafeBytes { n in
                    try aad.withUnsafeBytes { a in
                        try ciphertext.withUnsafeMutableBytes { c in
                            try tag.withUnsafeMutableBytes { t in
                                try cipher.seal(p, nonce: n, authenticating: a, into: c, tag: t)
                            }
                        }
                    }
                }
                return SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag)
            }
        }

        /// Encrypts with no associated data.
        public static func seal<P: ContiguousBytes>(_ plaintext: P, using key: SecretKey, nonce: [UInt8]? = nil) throws -> SealedBox {
            try seal(plaintext, using: key, nonce: nonce, authenticating: [UInt8]())
        }

        /// Verifies and decrypts. Throws ``CryptoBackendError/authenticationFailure``
        /// when the key, nonce, ciphertext, tag or associated data differ.
        public static func open<A: ContiguousBytes>(_ box: SealedBox, using key: SecretKey, authenticating aad: A) throws -> [UInt8] {
            let cipher = try ChunkCipher(key: key)
            var plaintext = [UInt8](repeating: 0, count: box.ciphertext.count)
            try box.nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try box.ciphertext.withUnsafeBytes { c in
                        try box.tag.withUnsafeBytes { t in
                            try plaintext.withUnsafeMutableBytes { p in
                                try cipher.open(c, nonce: n, authenticating: a, tag: t, into: p)
                            }
                        }
                    }
                }
            }
            return plaintext
        }

        /// Decrypts with no associated data.
        public static func open(_ box: SealedBox, using key: SecretKey) throws -> [UInt8] {
            try open(box, using: key, authenticating: [UInt8]())
        }
    }
}

extension AES256.GCM {
    /// A reusable AES-256-GCM context for sealing or opening many chunks under
    /// one key into caller-provided buffers, with no allocation per chunk.
    ///
    /// The key schedule is computed once; each call only sets the nonce. A
    /// context is not thread-safe: give each thread its own.
    public final class ChunkCipher {
        private let encryptContext: OpaquePointer
        private let decryptContext: OpaquePointer

        /// A context for `key`, which must be 32 bytes.
        public init(key: SecretKey) throws {
            guard key.byteCount == AES256.GCM.keyByteCount else {
                throw CryptoBackendError.invalidLength(what: "AES-256-GCM key", expected: AES256.GCM.keyByteCount, actual: key.byteCount)
            }
            guard let enc = EVP_CIPHER_CTX_new(), let dec = EVP_CIPHER_CTX_new() else {
                throw CryptoBackendError.backend("EVP_CIPHER_CTX_new failed")
            }
            encryptContext = enc
            decryptContext = dec
            let ok = key.withUnsafeBytes { k -> Bool in
                let kp = k.baseAddress!.assumingMemoryBound(to: UInt8.self)
                return EVP_EncryptInit_ex(enc, EVP_aes_256_gcm(), nil, kp, nil) == 1
                    && EVP_DecryptInit_ex(dec, EVP_aes_256_gcm(), nil, kp, nil) == 1
            }
            guard ok else { throw CryptoBackendError.backend(Backend.openSSLErrorDescription()) }
        }

        deinit {
            // EVP_CIPHER_CTX_free cleanses the key schedule.
            EVP_CIPHER_CTX_free(encryptContext)
            EVP_CIPHER_CTX_free(decryptContext)
        }

        /// Seals `plaintext` into `ciphertext` (same length; may be the same
        /// memory) and writes the 16-byte tag into `tag`.
        public func seal(
            _ plaintext: UnsafeRawBufferPointer,
            nonce: UnsafeRawBufferPointer,
            authenticating aad: UnsafeRawBufferPointer,
            into ciphertext: UnsafeMutableRawBufferPointer,
            tag: UnsafeMutableRawBufferPointer
        ) throws {
            try checkSizes(nonce: nonce.count, tag: tag.count, input: plaintext.count, output: ciphertext.count)
            let ctx = encryptContext
            var outLength: Int32 = 0
            var ok = EVP_EncryptInit_ex(ctx, nil, nil, nil, nonce.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
            if ok, aad.count > 0 {
                ok = EVP_EncryptUpdate(ctx, nil, &outLength, aad.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) == 1
            }
            if ok, plaintext.count > 0 {
                ok = EVP_EncryptUpdate(ctx, ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength,
                                       plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count)) == 1
                    && Int(outLength) == plaintext.count
            }
            var finalLength: Int32 = 0
            var scratch: UInt8 = 0
            ok = ok && EVP_EncryptFinal_ex(ctx, &scratch, &finalLength) == 1
            ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(AES256.GCM.tagByteCount), tag.baseAddress) == 1
            guard ok else { throw CryptoBackendError.backend(Backend.openSSLErrorDescription()) }
        }

        /// Verifies `tag` and decrypts `ciphertext` into `plaintext` (same
        /// length; may be the same memory). On failure the output is zeroed and
        /// ``CryptoBackendError/authenticationFailure`` is thrown.
        public func open(
            _ ciphertext: UnsafeRawBufferPointer,
            nonce: UnsafeRawBufferPointer,
            authenticating aad: UnsafeRawBufferPointer,
            tag: UnsafeRawBufferPointer,
            into plaintext: UnsafeMutableRawBufferPointer
        ) throws {
            try checkSizes(nonce: nonce.count, tag: tag.count, input: ciphertext.count, output: plaintext.count)
            let ctx = decryptContext
            var outLength: Int32 = 0
            var ok = EVP_DecryptInit_ex(ctx, nil, nil, nil, nonce.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
            if ok, aad.count > 0 {
                ok = EVP_DecryptUpdate(ctx, nil, &outLength, aad.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) == 1
            }
            if ok, ciphertext.count > 0 {
                ok = EVP_DecryptUpdate(ctx, plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength,
                                       ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(ciphertext.count)) == 1
                    && Int(outLength) == ciphertext.count
            }
            guard ok else { throw CryptoBackendError.backend(Backend.openSSLErrorDescription()) }
            // The tag is only read by OpenSSL; the API takes a non-const pointer.
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(AES256.GCM.tagByteCount),
                                      UnsafeMutableRawPointer(mutating: tag.baseAddress)) == 1 else {
                throw CryptoBackendError.backend(Backend.openSSLErrorDescription())
            }
            var finalLength: Int32 = 0
            var scratch: UInt8 = 0
            if EVP_DecryptFinal_ex(ctx, &scratch, &finalLength) != 1 {
                Backend.clearOpenSSLErrors()
                SecureZero.zero(plaintext)
                throw CryptoBackendError.authenticationFailure
            }
        }

        private func checkSizes(nonce: Int, tag: Int, input: Int, output: Int) throws {
            guard nonce == AES256.GCM.nonceByteCount else {
                throw CryptoBackendError.invalidLength(what: "AES-GCM nonce", expected: AES256.GCM.nonceByteCount, actual: nonce)
            }
            guard tag == AES256.GCM.tagByteCount else {
                throw CryptoBackendError.invalidLength(what: "AES-GCM tag", expected: AES256.GCM.tagByteCount, actual: tag)
            }
            guard output >= input else {
                throw CryptoBackendError.invalidLength(what: "AES-GCM output buffer", expected: input, actual: output)
            }
            guard input <= Int(Int32.max) else {
                throw CryptoBackendError.invalidParameter("AES-GCM chunk larger than 2 GiB")
            }
        }
    }
}
