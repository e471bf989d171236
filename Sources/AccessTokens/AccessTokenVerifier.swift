import Foundation
import ModelSecKeys

/// A token that passed every check.
public struct VerifiedAccessToken: Sendable, Equatable {
    /// Its protected header.
    public let header: JOSEHeader
    /// Its claims.
    public let claims: AccessTokenClaims
}

/// Verifies modelsec access tokens (RFC 9068 profile) with the defences of
/// RFC 8725. In order, a token is rejected when:
///
/// 1. it is over 8 KiB (before any parsing);
/// 2. it is not exactly three strict base64url segments (a JSON-serialized
///    JWS is refused), or the header is not a JSON object with a string `alg`
///    and no member name twice;
/// 3. `alg` is `none` in any ASCII letter case, an HMAC algorithm, or
///    anything but exactly `EdDSA`/`ES256`/`ES384`/`ES512`;
/// 4. `typ` is not `at+jwt` or `application/at+jwt` (compared ignoring ASCII
///    case only, as media types are; RFC 7515 §4.1.9, RFC 9068 §4);
/// 5. the header has `crit` (no extension is understood);
/// 6. no trusted key has exactly the header's `kid` (no fallback to another
///    key), or there is no `kid` while several keys are trusted;
/// 7. `alg` is not the selected key's algorithm (Ed25519 → EdDSA, P-256 → ES256, P-384 → ES384, P-521 → ES512);
/// 8. the signature does not verify;
/// 9. the claims are not a JSON object holding `iss`, `sub`, `aud`, `exp`,
///    `iat`, `jti`, `client_id`, `scope` with the right types (NumericDates
///    written as JSON integers) and no member name twice;
/// 10. `iss` differs from the expected issuer; `aud` does not contain the
///     expected audience;
/// 11. `exp` ≤ now − leeway (expired), `nbf` > now + leeway, or
///     `iat` > now + leeway (issued in the future);
/// 12. `jti` is in the revocation list;
/// 13. a required scope is not covered by a granted one (see ``ModelScope``).
///
/// Every string comparison (`alg`, `typ`, `kid`, `iss`, `aud`, `jti`, scopes)
/// is on the exact UTF-8 bytes (``ExactString``, byte comparisons), never Swift's canonical
/// equivalence: an NFD `iss` does not match an NFC expected issuer.
///
/// `jku`, `x5u`, `jwk` and `x5c` headers are never read: keys come only from
/// the verifier's configuration.
public struct AccessTokenVerifier: Sendable {
    /// Tokens larger than this many bytes are refused before parsing.
    public static let maximumTokenSize = 8192

    /// The trusted keys by `kid`.
    private let keys: [ExactString: VerificationKey]
    /// The only key, when exactly one is trusted (a token without `kid` may use it).
    private let soleKey: VerificationKey?
    /// The exact `iss` expected.
    public let issuer: String
    /// The audience that must appear in `aud`.
    public let audience: String
    /// Clock skew tolerated for `exp`, `nbf` and `iat`.
    public let leeway: TokenDuration
    /// Revoked `jti`s.
    public let revocations: RevocationList
    /// Scopes every accepted token must grant.
    public let requiredScopes: [ModelScope]

    /// A verifier trusting `keys` (at least one; `kid`s must be distinct).
    public init(keys: [VerificationKey], issuer: String, audience: String, leeway: TokenDuration = TokenDuration(seconds: 30),
                revocations: RevocationList = RevocationList(), requiredScopes: [ModelScope] = []) throws {
        guard !keys.isEmpty else { throw TokenInputError.noVerificationKeys }
        guard leeway.seconds >= 0 else { throw TokenInputError.negativeLeeway(seconds: leeway.seconds) }
        var byID: [ExactString: VerificationKey] = [:]
        for key in keys {
            guard byID[ExactString(key.keyID)] == nil else { throw TokenInputError.duplicateKeyID(keyID: key.keyID, path: nil) }
            byID[ExactString(key.keyID)] = key
        }
        self.keys = byID
        soleKey = keys.count == 1 ? keys[0] : nil
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.revocations = revocations
        self.requiredScopes = requiredScopes
    }

    /// Verifies `token` at time `now`; throws a ``TokenRejection`` naming the
    /// first rule it breaks.
    public func verify(_ token: String, now: Date = Date()) throws -> VerifiedAccessToken {
        guard token.utf8.count <= Self.maximumTokenSize else { throw TokenRejection.tooLarge(size: token.utf8.count) }
        let jws = try CompactJWS(parsing: token)
        let header = try Self.decodeHeader(jws.header)

        // Algorithm: fixed by key type, never chosen by the token.
        let alg = header.algorithm
        if alg.equalsIgnoringASCIICase("none") { throw TokenRejection.algorithmNone }
        if alg.hasPrefixIgnoringASCIICase("hs") { throw TokenRejection.algorithmHMAC(header.algorithm) }
        guard alg.hasSameBytes(as: "EdDSA") || alg.hasSameBytes(as: "ES256") || alg.hasSameBytes(as: "ES384") || alg.hasSameBytes(as: "ES512") else {
            throw TokenRejection.algorithmUnsupported(header.algorithm)
        }
        guard let typ = header.type, Self.isAccessTokenType(typ) else { throw TokenRejection.wrongType(header.type) }
        if header.hasCritical { throw TokenRejection.criticalHeader }

        let key: VerificationKey
        if let kid = header.keyID {
            guard let found = keys[ExactString(kid)] else { throw TokenRejection.unknownKeyID(kid) }
            key = found
        } else {
            guard let only = soleKey else { throw TokenRejection.missingKeyID }
            key = only
        }
        guard alg.hasSameBytes(as: key.algorithm) else {
            throw TokenRejection.algorithmMismatch(alg: header.algorithm, expected: key.algorithm)
        }
        guard key.isValidSignature(jws.signature, for: jws.signingInput) else { throw TokenRejection.signatureInvalid }

        let claims = try Self.decodeClaims(jws.payload)
        try check(claims, now: now)
        return VerifiedAccessToken(header: header, claims: claims)
    }

    /// The claim checks (rules 10–13), on claims whose signature has been verified.
    func check(_ claims: AccessTokenClaims, now: Date) throws {
        guard claims.issuer.hasSameBytes(as: issuer) else { throw TokenRejection.wrongIssuer(claims.issuer) }
        guard claims.audience.contains(where: { $0.hasSameBytes(as: audience) }) else { throw TokenRejection.wrongAudience }
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let skew = leeway.seconds
        if claims.expiresAt <= nowSeconds - skew { throw TokenRejection.expired(exp: claims.expiresAt, now: nowSeconds) }
        if let nbf = claims.notBefore, nbf > nowSeconds + skew { throw TokenRejection.notYetValid(nbf: nbf, now: nowSeconds) }
        if claims.issuedAt > nowSeconds + skew { throw TokenRejection.issuedInFuture(iat: claims.issuedAt, now: nowSeconds) }
        if revocations.contains(claims.tokenID) { throw TokenRejection.revoked(jti: claims.tokenID) }
        if !requiredScopes.isEmpty {
            let granted = claims.modelScopes
            for required in requiredScopes where !granted.contains(where: { $0.covers(required) }) {
                throw TokenRejection.missingScope(required.description)
            }
        }
    }

    /// `at+jwt` or `application/at+jwt`, ignoring ASCII case (only).
    static func isAccessTokenType(_ typ: String) -> Bool {
        typ.equalsIgnoringASCIICase("at+jwt") || typ.equalsIgnoringASCIICase("application/at+jwt")
    }

    /// The header, read once with ``BoundedJSON`` (every member seen, so a
    /// name given twice is refused; bounded in depth and count).
    static func decodeHeader(_ bytes: [UInt8]) throws -> JOSEHeader {
        let members: [(name: String, value: BoundedJSON.Value)]
        do { members = try BoundedJSON.objectMembers(bytes) } catch {
            throw TokenRejection.malformed(error == .notAnObject ? "header is not a JSON object" : "header is not valid JSON")
        }
        if let name = BoundedJSON.duplicateName(in: members) {
            throw TokenRejection.malformed("header has the member \(Sanitize.text(name)) more than once")
        }
        return try JOSEHeader(members: members)
    }

    /// The claims, read once with ``BoundedJSON``: a name given twice is
    /// refused, and NumericDates must be written as JSON integers (`1.0` and
    /// `1e3` are refused, as are values past `Int64`).
    static func decodeClaims(_ bytes: [UInt8]) throws -> AccessTokenClaims {
        let members: [(name: String, value: BoundedJSON.Value)]
        do { members = try BoundedJSON.objectMembers(bytes) } catch {
            throw TokenRejection.malformed(error == .notAnObject ? "claims are not a JSON object" : "claims are not valid JSON")
        }
        if let name = BoundedJSON.duplicateName(in: members) {
            throw TokenRejection.malformed("claims have the member \(Sanitize.text(name)) more than once")
        }
        return try AccessTokenClaims(members: members)
    }
}
