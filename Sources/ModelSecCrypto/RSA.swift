import COpenSSL
import Foundation

/// RSA signature verification (only verification: modelsec never makes RSA
/// keys), through OpenSSL. It exists for tokens from outside issuers —
/// Kubernetes service-account tokens and the GitHub Actions and GitLab CI OIDC
/// tokens are RS256 — and is deliberately small: SHA-256 with PKCS #1 v1.5
/// (JOSE `RS256`) or PSS (JOSE `PS256`, MGF1-SHA-256, 32-byte salt, RFC 7518
/// §3.5).
public enum RSA {
    /// The smallest modulus accepted, in bits (NIST SP 800-131A).
    public static let minimumModulusBits = 2048
    /// The largest modulus accepted, in bits (bounds the work one signature
    /// check can cost).
    public static let maximumModulusBits = 8192

    /// A signature padding with SHA-256.
    public enum Padding: Sendable {
        /// RSASSA-PKCS1-v1_5 with SHA-256 (JOSE `RS256`).
        case pkcs1v15SHA256
        /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (JOSE `PS256`).
        case pssSHA256
    }

    /// An RSA public key of ``minimumModulusBits`` to ``maximumModulusBits`` bits.
    public struct PublicKey: Sendable {
        let key: EVPKey
        /// The modulus size in bits.
        public let modulusBits: Int

        /// A key from its modulus and public exponent as unsigned big-endian
        /// integers (a JWK's `n` and `e`, RFC 7518 §6.3.1). Leading zero bytes
        /// are ignored. The exponent must be odd, at least 3 and at most 4
        /// bytes; the modulus 2048 to 8192 bits.
        public init(modulus: [UInt8], exponent: [UInt8]) throws {
            let n = Array(modulus.drop { $0 == 0 })
            let e = Array(exponent.drop { $0 == 0 })
            guard !e.isEmpty, e.count <= 4, e.last! & 1 == 1, e.count > 1 || e[0] >= 3 else {
                throw CryptoBackendError.invalidKey("an RSA public exponent must be odd, at least 3 and at most 32 bits")
            }
            let bits = n.isEmpty ? 0 : (n.count - 1) * 8 + (8 - n[0].leadingZeroBitCount)
            guard bits >= RSA.minimumModulusBits, bits <= RSA.maximumModulusBits, n.last! & 1 == 1 else {
                throw CryptoBackendError.invalidKey("an RSA modulus must be odd and \(RSA.minimumModulusBits) to \(RSA.maximumModulusBits) bits (it has \(bits))")
            }
            try self.init(key: EVPKey.fromSPKI(DER.rsaSPKI(modulus: n, exponent: e)))
        }

        /// A key from a DER SubjectPublicKeyInfo (rsaEncryption).
        public init(derRepresentation: [UInt8]) throws {
            try self.init(key: EVPKey.fromSPKI(derRepresentation))
        }

        init(key: EVPKey) throws {
            guard key.typeID == EVP_PKEY_RSA else { throw CryptoBackendError.invalidKey("not an RSA key") }
            let bits = Int(EVP_PKEY_get_bits(key.pointer))
            guard bits >= RSA.minimumModulusBits, bits <= RSA.maximumModulusBits else {
                throw CryptoBackendError.invalidKey("an RSA modulus must be \(RSA.minimumModulusBits) to \(RSA.maximumModulusBits) bits (it has \(bits))")
            }
            self.key = key
            self.modulusBits = bits
        }

        /// Bytes in a signature: the modulus size.
        public var signatureSize: Int { (modulusBits + 7) / 8 }

        /// The DER SubjectPublicKeyInfo.
        public var derRepresentation: [UInt8] { key.spkiDER() }

        /// True when `signature` (exactly ``signatureSize`` bytes) is a valid
        /// signature of `message` with `padding`.
        public func isValidSignature<M: ContiguousBytes>(_ signature: [UInt8], for message: M, padding: Padding) -> Bool {
            guard signature.count == signatureSize, let ctx = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(ctx); Backend.clearOpenSSLErrors() }
            var pctx: OpaquePointer?
            guard EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nil, key.pointer) == 1, let pctx else { return false }
            switch padding {
            case .pkcs1v15SHA256:
                guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 else { return false }
            case .pssSHA256:
                guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
                      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1,
                      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 else { return false }
            }
            return signature.withUnsafeBufferPointer { s in
                message.withUnsafeBytes { m in
                    EVP_DigestVerify(ctx, s.baseAddress ?? emptyPointer, s.count,
                                     m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer, m.count) == 1
                }
            }
        }
    }
}

/// The DER shapes only an RSA SubjectPublicKeyInfo needs.
extension DER {
    /// A non-negative INTEGER from unsigned big-endian bytes without leading zeros.
    static func integer(_ magnitude: [UInt8]) -> [UInt8] {
        tlv(0x02, (magnitude.first ?? 0) & 0x80 != 0 ? [0] + magnitude : magnitude)
    }

    /// SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { RSAPublicKey } }.
    static func rsaSPKI(modulus: [UInt8], exponent: [UInt8]) -> [UInt8] {
        let algorithm: [UInt8] = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]
        let rsaKey = sequence(integer(modulus) + integer(exponent))
        return sequence(algorithm + tlv(0x03, [0x00] + rsaKey))
    }
}
