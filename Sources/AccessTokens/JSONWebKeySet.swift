import Foundation
import JWTKit
import ModelSecCrypto
import ModelSecKeys

/// JWK Sets (RFC 7517 §5) of verification keys: Ed25519 as `OKP` (RFC 8037),
/// P-256 as `EC` (RFC 7518 §6.2). jwt-kit's `JWK`/`JWKS` types do the JSON
/// mapping; the key material is checked and converted here. `kid`, `use`,
/// `key_ops` and `crv` are compared as exact bytes (``ExactString``).
public enum JSONWebKeySet {
    /// The JWKS document (pretty, sorted JSON) publishing `keys`, each with
    /// its `kid` and `alg`.
    public static func document(for keys: [VerificationKey]) throws -> String {
        var seen = Set<ExactString>()
        var jwks: [JWK] = []
        for key in keys {
            guard seen.insert(ExactString(key.keyID)).inserted else { throw TokenInputError("two keys share the key id \(key.keyID)") }
            switch key.publicKey {
            case let .ed25519(k):
                jwks.append(.octetKeyPair(.eddsa, identifier: JWKIdentifier(string: key.keyID),
                                          x: Base64URL.encode(k.rawRepresentation), y: nil, curve: .ed25519))
            case let .p256(k):
                let point = k.x963Representation
                jwks.append(.ecdsa(.es256, identifier: JWKIdentifier(string: key.keyID),
                                   x: Base64URL.encode(point[1..<33]), y: Base64URL.encode(point[33..<65]), curve: .p256))
            case .x25519:
                throw TokenInputError("an x25519 key cannot verify token signatures")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(JWKS(keys: jwks))
        return String(decoding: data, as: UTF8.self)
    }

    /// The usable keys of a JWKS document. Each needs a `kid` (unique in the
    /// set); `OKP`/`Ed25519` and `EC`/`P-256` keys are accepted, with `alg`
    /// (if given) `EdDSA` or `ES256` respectively. RSA keys, and keys whose
    /// `use` is not `sig` or whose `key_ops` lacks `verify`, are skipped.
    /// A key carrying private material (`d`) is refused, as is a set with no
    /// usable key. `source` names the file in errors.
    public static func keys(from document: [UInt8], source: String) throws -> [VerificationKey] {
        let set: JWKS, fields: [KeyFields]
        do {
            set = try JSONDecoder().decode(JWKS.self, from: Data(document))
            fields = try JSONDecoder().decode(KeyFieldSet.self, from: Data(document)).keys
        } catch {
            throw TokenInputError("\(source): not a JWK Set this verifier understands (expected {\"keys\":[…]} with OKP, EC or RSA keys)")
        }
        guard fields.count == set.keys.count else { throw TokenInputError("\(source): not a JWK Set (the keys list could not be read consistently)") }
        var result: [VerificationKey] = []
        var seen = Set<ExactString>()
        for (index, jwk) in set.keys.enumerated() {
            let label = "\(source): key \(index)", raw = fields[index]
            // A key published for encryption, or without "verify" among its operations, is not a token key.
            if let use = raw.use, ExactString(use) != "sig" { continue }
            if let ops = raw.keyOps, !Set(exactly: ops).contains("verify") { continue }
            guard let kid = jwk.keyIdentifier?.string, !kid.isEmpty else { throw TokenInputError("\(label) has no kid") }
            guard jwk.privateExponent == nil else { throw TokenInputError("\(label) (\(kid)) holds private key material (d); publish public keys only") }
            let key: PublicKey
            // kty, crv and alg as written (jwt-kit's enums match them with canonical equivalence).
            switch ExactString(raw.kty) {
            case "OKP":
                guard raw.crv.map({ ExactString($0) }) == "Ed25519" else { throw TokenInputError("\(label) (\(kid)): only the Ed25519 curve is supported for OKP keys") }
                guard (raw.alg.map({ ExactString($0) }) ?? "EdDSA") == "EdDSA" else { throw TokenInputError("\(label) (\(kid)): an Ed25519 key must have alg EdDSA") }
                guard let x = jwk.x.flatMap(Base64URL.decode), x.count == 32,
                      let publicKey = try? Ed25519.PublicKey(rawRepresentation: x) else {
                    throw TokenInputError("\(label) (\(kid)): x is not a 32-byte base64url Ed25519 key")
                }
                key = .ed25519(publicKey)
            case "EC":
                guard raw.crv.map({ ExactString($0) }) == "P-256" else { throw TokenInputError("\(label) (\(kid)): only the P-256 curve is supported for EC keys") }
                guard (raw.alg.map({ ExactString($0) }) ?? "ES256") == "ES256" else { throw TokenInputError("\(label) (\(kid)): a P-256 key must have alg ES256") }
                guard let x = jwk.x.flatMap(Base64URL.decode), x.count == 32,
                      let y = jwk.y.flatMap(Base64URL.decode), y.count == 32,
                      let point = try? P256.Signing.PublicKey(x963Representation: [0x04] + x + y) else {
                    throw TokenInputError("\(label) (\(kid)): x and y are not a P-256 point (32-byte base64url coordinates on the curve)")
                }
                key = .p256(point)
            default:
                continue
            }
            guard seen.insert(ExactString(kid)).inserted else { throw TokenInputError("\(source): two keys share the kid \(kid)") }
            result.append(try VerificationKey(key, keyID: kid))
        }
        guard !result.isEmpty else { throw TokenInputError("\(source): no Ed25519 or P-256 keys in the JWK Set") }
        return result
    }
}

/// The members of each key in a JWK Set that decide whether it is a token
/// key, read as written: `kty`, `crv`, `alg` (RFC 7517 §4.1, §4.4; RFC 7518
/// §6.2.1.1; RFC 8037 §2), `use` and `key_ops` (RFC 7517 §4.2–4.3, which
/// jwt-kit's JWK does not model).
private struct KeyFieldSet: Decodable {
    struct KeyFields: Decodable {
        let kty: String
        let crv: String?
        let alg: String?
        let use: String?
        let keyOps: [String]?
        enum CodingKeys: String, CodingKey { case kty, crv, alg, use, keyOps = "key_ops" }
    }
    let keys: [KeyFields]
}

private typealias KeyFields = KeyFieldSet.KeyFields
