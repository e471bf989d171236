import Foundation
import ModelSecCrypto
import ModelSecKeys

/// A signature key of an outside token issuer (a Kubernetes API server, the
/// GitHub Actions or GitLab CI OIDC provider), read from that issuer's JWK
/// Set. Unlike ``VerificationKey`` (modelsec's own Ed25519 and ECDSA keys) it
/// may be RSA, which is what those issuers sign with.
///
/// Each key verifies exactly one JWS algorithm, fixed when the set is read and
/// never taken from a token: `RS256` for an RSA key (or `PS256` when its JWK
/// says `"alg":"PS256"`), `EdDSA`, `ES256`, `ES384` or `ES512` for the curve keys.
public struct IssuerKey: Sendable {
    /// The key material.
    enum Material: Sendable {
        case rsa(RSA.PublicKey, RSA.Padding)
        case curve(VerificationKey)
    }

    /// Its `kid`.
    public let keyID: String
    /// The one JWS `alg` it verifies.
    public let algorithm: String
    let material: Material

    /// An RSA key verifying `RS256`, or `PS256` when `pss` is true.
    public init(rsa key: RSA.PublicKey, keyID: String, pss: Bool = false) throws {
        guard !keyID.isEmpty else { throw TokenInputError.emptyKeyID }
        material = .rsa(key, pss ? .pssSHA256 : .pkcs1v15SHA256)
        self.keyID = keyID
        self.algorithm = pss ? "PS256" : "RS256"
    }

    /// One of modelsec's curve keys under its `kid`.
    public init(_ key: VerificationKey) {
        keyID = key.keyID
        algorithm = key.algorithm
        material = .curve(key)
    }

    /// True when `signature` over `signingInput` verifies with this key. The
    /// caller has already checked that the token's `alg` is ``algorithm``.
    public func isValidSignature(_ signature: [UInt8], for signingInput: [UInt8]) -> Bool {
        switch material {
        case let .rsa(key, padding): return key.isValidSignature(signature, for: signingInput, padding: padding)
        case let .curve(key): return key.isValidSignature(signature, for: signingInput)
        }
    }
}

/// Reads an outside issuer's JWK Set (RFC 7517 §5) into ``IssuerKey``s.
///
/// Rules (each refusal names the file): the document is at most
/// ``maximumDocumentSize`` bytes and holds at most ``maximumKeyCount`` keys;
/// keys whose `use` is not `sig` or whose `key_ops` lacks `verify` are
/// skipped, as are key types other than `RSA`, `EC` and `OKP`; every other key
/// needs a `kid` unique in the set and must not carry private material (`d`).
/// `EC`/`OKP` keys follow ``JSONWebKeySet/keys(from:source:)``. An `RSA` key
/// needs `n` and `e` (strict unpadded base64url), a modulus of 2048 to 8192
/// bits and an odd exponent of at most 32 bits; its `alg` may be absent or
/// `RS256` (the key verifies `RS256`) or `PS256` (it verifies `PS256`); an RSA
/// key with any other `alg` (`RS384`, `RSA-OAEP`, …) is skipped. A set with
/// no usable key is refused.
public enum IssuerKeySet {
    /// The largest JWK Set document read.
    public static let maximumDocumentSize = 256 * 1024
    /// The most keys a set may list.
    public static let maximumKeyCount = 64

    /// The usable keys of `document`; `source` names it in errors.
    public static func keys(from document: [UInt8], source: String) throws -> [IssuerKey] {
        guard document.count <= maximumDocumentSize else { throw TokenInputError.notAKeySet(path: source) }
        let set: JSONWebKey.Set
        do { set = try JSONDecoder().decode(JSONWebKey.Set.self, from: Data(document)) } catch {
            throw TokenInputError.notAKeySet(path: source)
        }
        guard set.keys.count <= maximumKeyCount else { throw TokenInputError.notAKeySet(path: source) }
        var result: [IssuerKey] = []
        var seen = Set<ExactString>()
        for (index, jwk) in set.keys.enumerated() {
            let key: IssuerKey
            if ExactString(jwk.kty) == "RSA" {
                guard JSONWebKeySet.isSignatureKey(jwk) else { continue }
                guard let kid = jwk.kid, !kid.isEmpty else { throw TokenInputError.keyWithoutID(path: source, index: index) }
                guard jwk.d == nil else { throw TokenInputError.privateKeyMaterial(path: source, index: index, keyID: kid) }
                let algorithm = jwk.alg ?? "RS256"
                guard ExactString(algorithm) == "RS256" || ExactString(algorithm) == "PS256" else { continue }
                guard let n = jwk.n.flatMap(Base64URL.decode), let e = jwk.e.flatMap(Base64URL.decode) else {
                    throw TokenInputError.invalidRSAKey(path: source, index: index, keyID: kid, reason: "n and e must be unpadded base64url")
                }
                let rsa: RSA.PublicKey
                do { rsa = try RSA.PublicKey(modulus: n, exponent: e) } catch {
                    throw TokenInputError.invalidRSAKey(path: source, index: index, keyID: kid, reason: "\(error)")
                }
                key = try IssuerKey(rsa: rsa, keyID: kid, pss: ExactString(algorithm) == "PS256")
            } else {
                guard let curve = try JSONWebKeySet.curveKey(jwk, index: index, source: source) else { continue }
                key = IssuerKey(curve)
            }
            guard seen.insert(ExactString(key.keyID)).inserted else { throw TokenInputError.duplicateKeyID(keyID: key.keyID, path: source) }
            result.append(key)
        }
        guard !result.isEmpty else { throw TokenInputError.noUsableKeys(path: source) }
        return result
    }
}
