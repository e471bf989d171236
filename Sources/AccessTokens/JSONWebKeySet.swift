import Foundation
import ModelSecCrypto
import ModelSecKeys

/// JWK Sets (RFC 7517 §5) of verification keys: Ed25519 as `OKP` (RFC 8037),
/// P-256, P-384 and P-521 as `EC` (RFC 7518 §6.2). The JSON is mapped with plain `Codable`
/// (``JSONWebKey``); the key material is checked and converted here. `kty`,
/// `crv`, `alg`, `kid`, `use` and `key_ops` are compared as exact bytes
/// (``ExactString``).
public enum JSONWebKeySet {
    /// The JWKS document (pretty, sorted JSON) publishing `keys`, each with
    /// its `kid` and `alg`.
    public static func document(for keys: [VerificationKey]) throws -> String {
        var seen = Set<ExactString>()
        var jwks: [JSONWebKey] = []
        for key in keys {
            guard seen.insert(ExactString(key.keyID)).inserted else { throw TokenInputError.duplicateKeyID(keyID: key.keyID, path: nil) }
            switch key.publicKey {
            case let .ed25519(k):
                jwks.append(JSONWebKey(kty: "OKP", crv: "Ed25519", alg: "EdDSA", kid: key.keyID, x: Base64URL.encode(k.rawRepresentation)))
            case let .ecdsa(k):
                let point = k.x963Representation, size = k.curve.scalarSize
                jwks.append(JSONWebKey(kty: "EC", crv: jwkCurveName(k.curve), alg: key.algorithm, kid: key.keyID,
                                       x: Base64URL.encode(point[1..<(1 + size)]), y: Base64URL.encode(point[(1 + size)...])))
            case .x25519:
                throw TokenInputError.keyCannotSign(algorithm: .x25519, path: nil)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(JSONWebKey.Set(keys: jwks))
        return String(decoding: data, as: UTF8.self)
    }

    /// The usable keys of a JWKS document. Each needs a `kid` (unique in the
    /// set); `OKP`/`Ed25519` and `EC` P-256/P-384/P-521 keys are accepted, with
    /// `alg` (if given) `EdDSA` or `ES256`/`ES384`/`ES512` respectively. Keys of other types (RSA,
    /// `oct`, or a `kty` this reader does not know, as RFC 7517 §5 asks), and
    /// keys whose `use` is not `sig` or whose `key_ops` lacks `verify`, are
    /// skipped. A key carrying private material (`d`) is refused, as is a set
    /// with no usable key. `source` names the file in errors.
    public static func keys(from document: [UInt8], source: String) throws -> [VerificationKey] {
        let set: JSONWebKey.Set
        do {
            set = try JSONDecoder().decode(JSONWebKey.Set.self, from: Data(document))
        } catch {
            throw TokenInputError.notAKeySet(path: source)
        }
        var result: [VerificationKey] = []
        var seen = Set<ExactString>()
        for (index, jwk) in set.keys.enumerated() {
            guard let key = try curveKey(jwk, index: index, source: source) else { continue }
            guard seen.insert(ExactString(key.keyID)).inserted else { throw TokenInputError.duplicateKeyID(keyID: key.keyID, path: source) }
            result.append(key)
        }
        guard !result.isEmpty else { throw TokenInputError.noUsableKeys(path: source) }
        return result
    }

    /// True when `jwk` is published for signatures: no `use` other than
    /// `sig`, and `key_ops` (if given) includes `verify`.
    static func isSignatureKey(_ jwk: JSONWebKey) -> Bool {
        if let use = jwk.use, ExactString(use) != "sig" { return false }
        if let ops = jwk.keyOps, !Set(exactly: ops).contains("verify") { return false }
        return true
    }

    /// The verification key an `OKP`/`Ed25519` or `EC` JWK holds, checked as
    /// ``keys(from:source:)`` describes; nil for a key of another type or one
    /// not published for signatures.
    static func curveKey(_ jwk: JSONWebKey, index: Int, source: String) throws -> VerificationKey? {
        // A key published for encryption, or without "verify" among its operations, is not a token key.
        guard isSignatureKey(jwk) else { return nil }
        let kty = ExactString(jwk.kty)
        guard kty == "OKP" || kty == "EC" else { return nil }
        guard let kid = jwk.kid, !kid.isEmpty else { throw TokenInputError.keyWithoutID(path: source, index: index) }
        guard jwk.d == nil else { throw TokenInputError.privateKeyMaterial(path: source, index: index, keyID: kid) }
        let crv: ExactString? = jwk.crv.map { ExactString($0) }
        let ecCurve = ECDSA.Curve.allCases.first { crv == ExactString(jwkCurveName($0)) }
        guard kty == "OKP" ? crv == ExactString("Ed25519") : ecCurve != nil else {
            throw TokenInputError.unsupportedCurve(path: source, index: index, keyID: kid, keyType: jwk.kty, curve: jwk.crv)
        }
        let algorithm = ecCurve.map { VerificationKey.jwsAlgorithm(for: $0.algorithm) } ?? "EdDSA"
        if let alg = jwk.alg, ExactString(alg) != ExactString(algorithm) {
            throw TokenInputError.algorithmMismatch(path: source, index: index, keyID: kid, expected: algorithm, actual: alg)
        }
        guard let key = publicKey(of: jwk, curve: kty == "EC" ? ecCurve : nil) else { throw TokenInputError.invalidKeyMaterial(path: source, index: index, keyID: kid) }
        return try VerificationKey(key, keyID: kid)
    }

    /// The `crv` name of an ECDSA curve (RFC 7518 §6.2.1.1).
    static func jwkCurveName(_ curve: ECDSA.Curve) -> String {
        switch curve {
        case .p256: return "P-256"
        case .p384: return "P-384"
        case .p521: return "P-521"
        }
    }

    /// The public key an `OKP`/`Ed25519` JWK (`x`: 32 bytes) or an `EC` JWK of
    /// `curve` (`x` and `y`: the curve's scalar size each, RFC 7518 §6.2.1.2)
    /// holds, as unpadded base64url, on the curve; nil otherwise.
    private static func publicKey(of jwk: JSONWebKey, curve: ECDSA.Curve?) -> PublicKey? {
        guard let x = jwk.x.flatMap(Base64URL.decode) else { return nil }
        guard let curve else {
            guard x.count == 32, jwk.y == nil, let key = try? Ed25519.PublicKey(rawRepresentation: x) else { return nil }
            return .ed25519(key)
        }
        guard x.count == curve.scalarSize, let y = jwk.y.flatMap(Base64URL.decode), y.count == curve.scalarSize,
              let point = try? ECDSA.PublicKey(x963Representation: [0x04] + x + y, curve: curve) else { return nil }
        return .ecdsa(point)
    }
}

/// One JSON Web Key (RFC 7517 §4) as written, with the members a signature
/// verification key uses: `kty`, `crv`, `x`, `y` (RFC 7518 §6.2.1, RFC 8037
/// §2), RSA's `n` and `e` (RFC 7518 §6.3.1, read only by ``IssuerKeySet``),
/// `alg`, `kid`, `use`, `key_ops`, and `d` only to refuse private keys.
/// Other members (`x5c`, …) are ignored when read and never written. Absent members are omitted when encoding.
struct JSONWebKey: Codable, Equatable {
    /// `{"keys":[…]}` (RFC 7517 §5).
    struct Set: Codable {
        let keys: [JSONWebKey]
    }

    let kty: String
    var crv: String?
    var alg: String?
    var kid: String?
    var x: String?
    var y: String?
    var use: String?
    var keyOps: [String]?
    var d: String?
    var n: String?
    var e: String?

    enum CodingKeys: String, CodingKey {
        case kty, crv, alg, kid, x, y, use, d, n, e
        case keyOps = "key_ops"
    }

    init(kty: String, crv: String?, alg: String?, kid: String?, x: String?, y: String? = nil) {
        self.kty = kty
        self.crv = crv
        self.alg = alg
        self.kid = kid
        self.x = x
        self.y = y
    }
}
