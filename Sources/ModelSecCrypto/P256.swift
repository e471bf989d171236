import COpenSSL
import Foundation

/// The NIST P-256 curve (secp256r1, prime256v1).
public enum P256 {
    /// ECDSA over P-256 with SHA-256 and DER-encoded signatures (FIPS 186-5),
    /// through OpenSSL.
    public enum Signing {
        /// DER SubjectPublicKeyInfo prefix for an uncompressed P-256 point.
        static let spkiPrefix: [UInt8] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
            0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ]

        /// A P-256 public key.
        public struct PublicKey: Sendable {
            let key: EVPKey

            init(key: EVPKey) throws {
                guard key.typeID == EVP_PKEY_EC, key.groupName == "prime256v1" else {
                    throw CryptoError.invalidKey("not a P-256 key")
                }
                self.key = key
            }

            /// A key from its 65-byte uncompressed SEC 1 point (`04 ‖ x ‖ y`).
            /// The point is checked to be on the curve.
            public init(x963Representation: [UInt8]) throws {
                guard x963Representation.count == 65, x963Representation.first == 0x04 else {
                    throw CryptoError.invalidKey("P-256 public key must be a 65-byte uncompressed point")
                }
                try self.init(key: EVPKey.fromSPKI(spkiPrefix + x963Representation))
            }

            /// A key from a DER SubjectPublicKeyInfo.
            public init(derRepresentation: [UInt8]) throws {
                try self.init(key: EVPKey.fromSPKI(derRepresentation))
            }

            /// The DER SubjectPublicKeyInfo.
            public var derRepresentation: [UInt8] { key.spkiDER() }

            /// The 65-byte uncompressed point `04 ‖ x ‖ y`.
            public var x963Representation: [UInt8] {
                let der = key.spkiDER()
                return Array(der.suffix(65))
            }

            /// True when `derSignature` is a valid DER ECDSA-SHA-256 signature of
            /// `message`. OpenSSL rejects non-DER (BER) encodings.
            public func isValidSignature<S: ContiguousBytes, M: ContiguousBytes>(_ derSignature: S, for message: M) -> Bool {
                guard let ctx = EVP_MD_CTX_new() else { return false }
                defer { EVP_MD_CTX_free(ctx); Backend.clearOpenSSLErrors() }
                guard EVP_DigestVerifyInit(ctx, nil, EVP_sha256(), nil, key.pointer) == 1 else { return false }
                return derSignature.withUnsafeBytes { s in
                    message.withUnsafeBytes { m in
                        EVP_DigestVerify(ctx, s.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer, s.count,
                                         m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer, m.count) == 1
                    }
                }
            }

            /// Verifies a raw `r ‖ s` signature (64 bytes, as JOSE ES256 uses).
            public func isValidSignature<M: ContiguousBytes>(rawSignature: [UInt8], for message: M) -> Bool {
                guard let der = ECDSASignatureEncoding.der(fromRaw: rawSignature) else { return false }
                return isValidSignature(der, for: message)
            }
        }

        /// A P-256 private key. OpenSSL holds the scalar and clears it on release.
        public struct PrivateKey: Sendable {
            let key: EVPKey
            /// The matching public key.
            public let publicKey: PublicKey

            init(key: EVPKey) throws {
                guard key.typeID == EVP_PKEY_EC, key.groupName == "prime256v1" else {
                    throw CryptoError.invalidKey("not a P-256 key")
                }
                self.key = key
                publicKey = try PublicKey(key: EVPKey.fromSPKI(key.spkiDER()))
            }

            /// A new random key.
            public init() {
                guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { fatalError("modelsec: EC keygen unavailable") }
                defer { EVP_PKEY_CTX_free(ctx) }
                var pkey: OpaquePointer?
                guard EVP_PKEY_keygen_init(ctx) == 1,
                      EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1,
                      EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else {
                    fatalError("modelsec: P-256 key generation failed: \(Backend.openSSLErrorDescription())")
                }
                try! self.init(key: EVPKey(taking: pkey))
            }

            /// A DER ECDSA-SHA-256 signature of `message` (randomised nonce).
            public func signature<M: ContiguousBytes>(for message: M) throws -> [UInt8] {
                guard let ctx = EVP_MD_CTX_new() else { throw CryptoError.backend("EVP_MD_CTX_new failed") }
                defer { EVP_MD_CTX_free(ctx) }
                guard EVP_DigestSignInit(ctx, nil, EVP_sha256(), nil, key.pointer) == 1 else {
                    throw CryptoError.backend(Backend.openSSLErrorDescription())
                }
                return try message.withUnsafeBytes { m in
                    let mp = m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer
                    var length = 0
                    guard EVP_DigestSign(ctx, nil, &length, mp, m.count) == 1 else {
                        throw CryptoError.backend(Backend.openSSLErrorDescription())
                    }
                    var out = [UInt8](repeating: 0, count: length)
                    guard EVP_DigestSign(ctx, &out, &length, mp, m.count) == 1 else {
                        throw CryptoError.backend(Backend.openSSLErrorDescription())
                    }
                    return Array(out.prefix(length))
                }
            }

            /// A raw `r ‖ s` signature (64 bytes, as JOSE ES256 uses).
            public func rawSignature<M: ContiguousBytes>(for message: M) throws -> [UInt8] {
                guard let raw = ECDSASignatureEncoding.raw(fromDER: try signature(for: message)) else {
                    throw CryptoError.backend("unexpected ECDSA signature encoding")
                }
                return raw
            }
        }
    }
}

/// Conversion between DER `ECDSA-Sig-Value` and the fixed-width `r ‖ s` form
/// used by JOSE. Hand-written because it is 40 lines of DER for a fixed shape;
/// OpenSSL's `ECDSA_SIG` route needs deprecated low-level calls.
public enum ECDSASignatureEncoding {
    /// `r ‖ s` (32 bytes each) from a DER signature; nil if not strict DER.
    public static func raw(fromDER der: [UInt8], scalarSize: Int = 32) -> [UInt8]? {
        var i = 0
        func readLength() -> Int? {
            guard i < der.count else { return nil }
            let first = der[i]; i += 1
            if first < 0x80 { return Int(first) }
            guard first == 0x81, i < der.count, der[i] >= 0x80 else { return nil }
            let l = Int(der[i]); i += 1
            return l
        }
        func readInteger() -> [UInt8]? {
            guard i < der.count, der[i] == 0x02 else { return nil }
            i += 1
            guard let len = readLength(), len > 0, i + len <= der.count else { return nil }
            var bytes = Array(der[i..<(i + len)])
            i += len
            if bytes[0] & 0x80 != 0 { return nil }                       // negative
            if bytes.count > 1, bytes[0] == 0, bytes[1] & 0x80 == 0 { return nil } // non-minimal
            if bytes[0] == 0 { bytes.removeFirst() }
            guard bytes.count <= scalarSize else { return nil }
            return [UInt8](repeating: 0, count: scalarSize - bytes.count) + bytes
        }
        guard der.first == 0x30 else { return nil }
        i = 1
        guard let total = readLength(), i + total == der.count else { return nil }
        guard let r = readInteger(), let s = readInteger(), i == der.count else { return nil }
        return r + s
    }

    /// A strict DER signature from `r ‖ s`; nil if the length is wrong.
    public static func der(fromRaw raw: [UInt8], scalarSize: Int = 32) -> [UInt8]? {
        guard raw.count == 2 * scalarSize else { return nil }
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var b = Array(bytes.drop { $0 == 0 })
            if b.isEmpty { b = [0] }
            if b[0] & 0x80 != 0 { b.insert(0, at: 0) }
            return [0x02, UInt8(b.count)] + b
        }
        let body = integer(raw[0..<scalarSize]) + integer(raw[scalarSize...])
        if body.count < 0x80 { return [0x30, UInt8(body.count)] + body }
        return [0x30, 0x81, UInt8(body.count)] + body
    }
}
