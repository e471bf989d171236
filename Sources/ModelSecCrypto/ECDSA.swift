import COpenSSL
import Foundation

/// ECDSA over the NIST curves P-256, P-384 and P-521 (FIPS 186-5) with
/// DER-encoded signatures, through OpenSSL. Each curve signs with its own
/// hash (SHA-256, SHA-384, SHA-512), as the OpenSSF model-signing algorithm
/// registry and JOSE (ES256, ES384, ES512) pair them.
public enum ECDSA {
    /// A supported curve.
    public enum Curve: String, CaseIterable, Sendable {
        /// NIST P-256 (secp256r1, prime256v1) with SHA-256.
        case p256
        /// NIST P-384 (secp384r1) with SHA-384.
        case p384
        /// NIST P-521 (secp521r1) with SHA-512.
        case p521

        /// The curve with OpenSSL group name `name` (`prime256v1`, `secp384r1`, `secp521r1`).
        init?(groupName name: String?) {
            switch name {
            case "prime256v1": self = .p256
            case "secp384r1": self = .p384
            case "secp521r1": self = .p521
            default: return nil
            }
        }

        /// The matching key algorithm.
        public var algorithm: KeyAlgorithm {
            switch self {
            case .p256: return .p256
            case .p384: return .p384
            case .p521: return .p521
            }
        }

        /// The name OpenSSL's key generation takes.
        var generationName: String {
            switch self {
            case .p256: return "P-256"
            case .p384: return "P-384"
            case .p521: return "P-521"
            }
        }

        /// Bytes in one scalar (r, s, or a coordinate): 32, 48 or 66.
        public var scalarSize: Int {
            switch self {
            case .p256: return 32
            case .p384: return 48
            case .p521: return 66
            }
        }

        /// The curve's hash.
        func digest() -> OpaquePointer? {
            switch self {
            case .p256: return EVP_sha256()
            case .p384: return EVP_sha384()
            case .p521: return EVP_sha512()
            }
        }

        /// DER SubjectPublicKeyInfo up to the uncompressed point: the
        /// ecPublicKey algorithm with this curve's OID and the BIT STRING header.
        var spkiPrefix: [UInt8] {
            switch self {
            case .p256:
                return [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00]
            case .p384:
                return [0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                        0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00]
            case .p521:
                return [0x30, 0x81, 0x9b, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                        0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23, 0x03, 0x81, 0x86, 0x00]
            }
        }

        /// Bytes in an uncompressed point `04 ‖ x ‖ y`.
        public var pointSize: Int { 1 + 2 * scalarSize }
    }

    /// An ECDSA public key on one of the supported curves.
    public struct PublicKey: Sendable {
        let key: EVPKey
        /// The key's curve.
        public let curve: Curve

        init(key: EVPKey) throws {
            guard key.typeID == EVP_PKEY_EC, let curve = Curve(groupName: key.groupName) else {
                throw CryptoBackendError.invalidKey("not a P-256, P-384 or P-521 key")
            }
            self.key = key
            self.curve = curve
        }

        /// A key from its uncompressed SEC 1 point (`04 ‖ x ‖ y`) on `curve`.
        /// The point is checked to be on the curve.
        public init(x963Representation point: [UInt8], curve: Curve) throws {
            guard point.count == curve.pointSize, point.first == 0x04 else {
                throw CryptoBackendError.invalidKey("an ECDSA public key must be a \(curve.pointSize)-byte uncompressed point")
            }
            try self.init(key: EVPKey.fromSPKI(curve.spkiPrefix + point))
        }

        /// A key from a DER SubjectPublicKeyInfo.
        public init(derRepresentation: [UInt8]) throws {
            try self.init(key: EVPKey.fromSPKI(derRepresentation))
        }

        /// The DER SubjectPublicKeyInfo.
        public var derRepresentation: [UInt8] { key.spkiDER() }

        /// The uncompressed point `04 ‖ x ‖ y`.
        public var x963Representation: [UInt8] { Array(key.spkiDER().suffix(curve.pointSize)) }

        /// True when `derSignature` is a valid DER ECDSA signature of `message`
        /// with the curve's hash. OpenSSL rejects non-DER (BER) encodings.
        public func isValidSignature<S: ContiguousBytes, M: ContiguousBytes>(_ derSignature: S, for message: M) -> Bool {
            guard let ctx = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(ctx); Backend.clearOpenSSLErrors() }
            guard EVP_DigestVerifyInit(ctx, nil, curve.digest(), nil, key.pointer) == 1 else { return false }
            return derSignature.withUnsafeBytes { s in
                message.withUnsafeBytes { m in
                    EVP_DigestVerify(ctx, s.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer, s.count,
                                     m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer, m.count) == 1
                }
            }
        }

        /// Verifies a raw `r ‖ s` signature (as JOSE ES256/ES384/ES512 use).
        public func isValidSignature<M: ContiguousBytes>(rawSignature: [UInt8], for message: M) -> Bool {
            guard let der = ECDSASignatureEncoding.der(fromRaw: rawSignature, scalarSize: curve.scalarSize) else { return false }
            return isValidSignature(der, for: message)
        }
    }

    /// An ECDSA private key. OpenSSL holds the scalar and clears it on release.
    public struct PrivateKey: Sendable {
        let key: EVPKey
        /// The matching public key.
        public let publicKey: PublicKey
        /// The key's curve.
        public var curve: Curve { publicKey.curve }

        init(key: EVPKey) throws {
            self.key = key
            publicKey = try PublicKey(key: EVPKey.fromSPKI(key.spkiDER()))
        }

        /// A new random key on `curve`.
        public init(curve: Curve) {
            guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { fatalError("modelsec: EC keygen unavailable") }
            defer { EVP_PKEY_CTX_free(ctx) }
            var pkey: OpaquePointer?
            guard EVP_PKEY_keygen_init(ctx) == 1,
                  EVP_PKEY_CTX_set_group_name(ctx, curve.generationName) == 1,
                  EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else {
                fatalError("modelsec: \(curve.generationName) key generation failed: \(Backend.openSSLErrorDescription())")
            }
            try! self.init(key: EVPKey(taking: pkey))
        }

        /// A DER ECDSA signature of `message` with the curve's hash (randomised nonce).
        public func signature<M: ContiguousBytes>(for message: M) throws -> [UInt8] {
            guard let ctx = EVP_MD_CTX_new() else { throw CryptoBackendError.backend("EVP_MD_CTX_new failed") }
            defer { EVP_MD_CTX_free(ctx) }
            guard EVP_DigestSignInit(ctx, nil, curve.digest(), nil, key.pointer) == 1 else {
                throw CryptoBackendError.backend(Backend.openSSLErrorDescription())
            }
            return try message.withUnsafeBytes { m in
                let mp = m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer
                var length = 0
                guard EVP_DigestSign(ctx, nil, &length, mp, m.count) == 1 else {
                    throw CryptoBackendError.backend(Backend.openSSLErrorDescription())
                }
                var out = [UInt8](repeating: 0, count: length)
                guard EVP_DigestSign(ctx, &out, &length, mp, m.count) == 1 else {
                    throw CryptoBackendError.backend(Backend.openSSLErrorDescription())
                }
                return Array(out.prefix(length))
            }
        }

        /// A raw `r ‖ s` signature (as JOSE ES256/ES384/ES512 use).
        public func rawSignature<M: ContiguousBytes>(for message: M) throws -> [UInt8] {
            guard let raw = ECDSASignatureEncoding.raw(fromDER: try signature(for: message), scalarSize: curve.scalarSize) else {
                throw CryptoBackendError.backend("unexpected ECDSA signature encoding")
            }
            return raw
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
