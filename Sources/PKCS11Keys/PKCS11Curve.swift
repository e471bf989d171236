import ModelSecCrypto

/// The signing algorithms modelsec uses with keys in a token, with the
/// encodings PKCS#11 and X.509 use for them.
public enum PKCS11Curve: String, Sendable, CaseIterable {
    /// Ed25519 (`CKK_EC_EDWARDS`, signed with `CKM_EDDSA` over the message).
    case ed25519
    /// ECDSA P-256 with SHA-256 (`CKM_ECDSA` over a digest computed here).
    case p256
    /// ECDSA P-384 with SHA-384.
    case p384
    /// ECDSA P-521 with SHA-512.
    case p521

    /// DER of the curve's object identifier, the `CKA_EC_PARAMS` value.
    /// (RFC 8410 id-Ed25519 1.3.101.112; SEC 2 prime256v1, secp384r1, secp521r1.)
    var ecParams: [UInt8] {
        switch self {
        case .ed25519: return [0x06, 0x03, 0x2B, 0x65, 0x70]
        case .p256: return [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
        case .p384: return [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22]
        case .p521: return [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23]
        }
    }

    /// Ed25519's parameters as some tokens store them: the PrintableString "edwards25519".
    static let ed25519PrintableParams: [UInt8] = [0x13, 0x0C] + Array("edwards25519".utf8)

    /// Length of the public key's encoded point (Ed25519: 32 bytes; ECDSA: uncompressed 0x04||X||Y).
    var pointLength: Int {
        switch self {
        case .ed25519: return 32
        case .p256: return 65
        case .p384: return 97
        case .p521: return 133
        }
    }

    /// Length of one of r, s in a raw ECDSA signature (and half of Ed25519's).
    var scalarLength: Int {
        switch self {
        case .ed25519: return 32
        case .p256: return 32
        case .p384: return 48
        case .p521: return 66
        }
    }

    /// The curve whose `CKA_EC_PARAMS` are `params`, if modelsec signs with it.
    init?(ecParams params: [UInt8]) {
        if params == Self.ed25519PrintableParams { self = .ed25519; return }
        guard let c = Self.allCases.first(where: { $0.ecParams == params }) else { return nil }
        self = c
    }

    /// The DER SubjectPublicKeyInfo of `point` (RFC 8410 for Ed25519, RFC 5480 for ECDSA).
    func subjectPublicKeyInfo(point: [UInt8]) -> [UInt8] {
        let algorithm: [UInt8]
        switch self {
        case .ed25519:
            algorithm = DER.sequence(ecParams)
        default:
            let ecPublicKey: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
            algorithm = DER.sequence(ecPublicKey + ecParams)
        }
        return DER.sequence(algorithm + DER.tlv(0x03, [0x00] + point))
    }

    /// The point from a `CKA_EC_POINT` value. The standard says it is a DER
    /// OCTET STRING; some tokens return the bare point. The two are told apart
    /// by exact length, never by guessing from the first byte (an uncompressed
    /// point also starts with 0x04, the OCTET STRING tag).
    func point(fromECPoint value: [UInt8]) -> [UInt8]? {
        let header = [UInt8(0x04)] + DER.length(pointLength)
        let point: [UInt8]
        if value.count == header.count + pointLength, value.starts(with: header) {
            point = Array(value.dropFirst(header.count))
        } else if value.count == pointLength {
            point = value
        } else {
            return nil
        }
        // ECDSA points must be uncompressed (0x04 || X || Y).
        if self != .ed25519 && point.first != 0x04 { return nil }
        return point
    }
}
