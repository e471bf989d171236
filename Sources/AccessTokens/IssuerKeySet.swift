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

    /// The usable keys of `document`; `source` names it in errors. Strict:
    /// a key that breaks a rule refuses the whole set (what a `jwks_file`
    /// gets: its author can fix it).
    public static func keys(from document: [UInt8], source: String) throws -> [IssuerKey] {
        try read(document, source: source, lenient: false).keys
    }

    /// A key ``usableKeys(from:source:)`` left out, and why.
    public struct SkippedKey: Sendable, Equatable, CustomStringConvertible {
        /// Its position in `keys` (from 0).
        public let index: Int
        /// Its `kid`, when it has a string one.
        public let keyID: String?
        /// Why it is not used.
        public let reason: String

        public var description: String {
            "key \(index)" + (keyID.map { " (kid \(Sanitize.text($0)))" } ?? "") + ": \(reason)"
        }
    }

    /// The usable keys of an issuer's published set (a `jwks_url`), skipping
    /// each key this verifier cannot use instead of refusing the set: one key
    /// of a type, curve or size it does not support, malformed, without a
    /// `kid`, or with an `alg` it does not verify, is left out and listed in
    /// `skipped`; the issuer's other keys stay usable. Still refused whole: a
    /// document that is not a JWK Set or is past the size and count limits, a
    /// key carrying private material (`d`: the issuer's secret is public, so
    /// none of its tokens can be trusted), a `kid` given twice (which key a
    /// token names would be ambiguous), and a set with no usable key.
    public static func usableKeys(from document: [UInt8], source: String) throws -> (keys: [IssuerKey], skipped: [SkippedKey]) {
        try read(document, source: source, lenient: true)
    }

    /// One entry of `keys`, decoded on its own so one malformed key does not
    /// hide the others.
    private struct Entry: Decodable {
        let key: JSONWebKey?
        let keyID: String?
        let failure: String?

        private enum KeyID: String, CodingKey { case kid }

        init(key: JSONWebKey) {
            self.key = key
            keyID = key.kid
            failure = nil
        }

        init(from decoder: Decoder) throws {
            keyID = try? decoder.container(keyedBy: KeyID.self).decode(String.self, forKey: .kid)
            do {
                key = try JSONWebKey(from: decoder)
                failure = nil
            } catch {
                key = nil
                failure = "not a JSON Web Key with string members kty, kid, crv, alg, x, y, n, e, use and a key_ops array"
            }
        }
    }

    private struct EntrySet: Decodable { let keys: [Entry] }

    private static func read(_ document: [UInt8], source: String, lenient: Bool) throws -> (keys: [IssuerKey], skipped: [SkippedKey]) {
        guard document.count <= maximumDocumentSize else { throw TokenInputError.notAKeySet(path: source) }
        let entries: [Entry]
        do {
            if lenient {
                entries = try JSONDecoder().decode(EntrySet.self, from: Data(document)).keys
            } else {
                entries = try JSONDecoder().decode(JSONWebKey.Set.self, from: Data(document)).keys
                    .map { Entry(key: $0) }
            }
        } catch {
            throw TokenInputError.notAKeySet(path: source)
        }
        guard entries.count <= maximumKeyCount else { throw TokenInputError.notAKeySet(path: source) }
        var result: [IssuerKey] = []
        var skipped: [SkippedKey] = []
        var seen = Set<ExactString>()
        for (index, entry) in entries.enumerated() {
            guard let jwk = entry.key else {
                skipped.append(SkippedKey(index: index, keyID: entry.keyID, reason: entry.failure ?? "malformed"))
                continue
            }
            let key: IssuerKey
            do {
                guard let usable = try issuerKey(jwk, index: index, source: source) else {
                    skipped.append(SkippedKey(index: index, keyID: jwk.kid, reason: unusedReason(jwk)))
                    continue
                }
                key = usable
            } catch let error as TokenInputError {
                // Private material refuses the set in either mode.
                if !lenient { throw error }
                if case .privateKeyMaterial = error { throw error }
                skipped.append(SkippedKey(index: index, keyID: jwk.kid, reason: "\(error)"))
                continue
            }
            guard seen.insert(ExactString(key.keyID)).inserted else { throw TokenInputError.duplicateKeyID(keyID: key.keyID, path: source) }
            result.append(key)
        }
        guard !result.isEmpty else { throw TokenInputError.noUsableKeys(path: source) }
        return (result, skipped)
    }

    /// Why ``issuerKey(_:index:source:)`` returned nil for `jwk`.
    private static func unusedReason(_ jwk: JSONWebKey) -> String {
        if !JSONWebKeySet.isSignatureKey(jwk) { return "not published for signatures (use or key_ops)" }
        if ExactString(jwk.kty) == "RSA" { return "an RSA key for \(Sanitize.text(jwk.alg ?? "")), not RS256 or PS256" }
        return "key type \(Sanitize.text(jwk.kty)) is not supported (RSA, EC and OKP are)"
    }

    /// The key `jwk` holds; nil for one that is not used (not a signature
    /// key, another key type, an RSA key for another algorithm); throws for
    /// one that breaks a rule.
    private static func issuerKey(_ jwk: JSONWebKey, index: Int, source: String) throws -> IssuerKey? {
        if ExactString(jwk.kty) == "RSA" {
            guard JSONWebKeySet.isSignatureKey(jwk) else { return nil }
            guard let kid = jwk.kid, !kid.isEmpty else { throw TokenInputError.keyWithoutID(path: source, index: index) }
            guard jwk.d == nil else { throw TokenInputError.privateKeyMaterial(path: source, index: index, keyID: kid) }
            let algorithm = jwk.alg ?? "RS256"
            guard ExactString(algorithm) == "RS256" || ExactString(algorithm) == "PS256" else { return nil }
            guard let n = jwk.n.flatMap(Base64URL.decode), let e = jwk.e.flatMap(Base64URL.decode) else {
                throw TokenInputError.invalidRSAKey(path: source, index: index, keyID: kid, reason: "n and e must be unpadded base64url")
            }
            let rsa: RSA.PublicKey
            do { rsa = try RSA.PublicKey(modulus: n, exponent: e) } catch {
                throw TokenInputError.invalidRSAKey(path: source, index: index, keyID: kid, reason: "\(error)")
            }
            return try IssuerKey(rsa: rsa, keyID: kid, pss: ExactString(algorithm) == "PS256")
        }
        guard let curve = try JSONWebKeySet.curveKey(jwk, index: index, source: source) else { return nil }
        return IssuerKey(curve)
    }
}
