import ModelSecCrypto
import ModelSecIO

/// Why a token was rejected. Every case is a failed check (exit code 1); the
/// ``reason`` is the one line a person reads, ``code`` a stable identifier for
/// machines.
public enum TokenRejection: ModelSecError, Equatable, Sendable {
    /// Over ``AccessTokenVerifier/maximumTokenSize`` bytes; refused before parsing.
    case tooLarge(size: Int)
    /// Not a well-formed compact JWS / JWT (segments, base64url, JSON).
    case malformed(String)
    /// Header `alg` is `none` (in any letter case).
    case algorithmNone
    /// Header `alg` is an HMAC algorithm, which a public key can never verify.
    case algorithmHMAC(String)
    /// Header `alg` is not one this profile accepts (EdDSA, ES256).
    case algorithmUnsupported(String)
    /// Header `alg` names a different algorithm from the selected key's.
    case algorithmMismatch(alg: String, expected: String)
    /// Header `typ` is missing or not `at+jwt`.
    case wrongType(String?)
    /// The header has a `crit` parameter; no extension is understood.
    case criticalHeader
    /// No trusted key has the header's `kid`.
    case unknownKeyID(String)
    /// No `kid`, and more than one key is trusted.
    case missingKeyID
    /// The signature does not verify with the selected key.
    case signatureInvalid
    /// A required claim is absent.
    case missingClaim(String)
    /// A claim has the wrong type or form.
    case invalidClaim(String, String)
    /// `iss` is not the expected issuer.
    case wrongIssuer(String)
    /// `aud` does not contain the expected audience.
    case wrongAudience
    /// `exp` (plus leeway) has passed.
    case expired(exp: Int64, now: Int64)
    /// `nbf` (minus leeway) is still in the future.
    case notYetValid(nbf: Int64, now: Int64)
    /// `iat` (minus leeway) is in the future.
    case issuedInFuture(iat: Int64, now: Int64)
    /// `jti` is listed in the revocation list.
    case revoked(jti: String)
    /// The token does not grant a required scope.
    case missingScope(String)

    public var category: FailureCategory { .verificationFailed }

    /// A short stable identifier, e.g. `expired`, `wrong_audience`.
    public var code: String {
        switch self {
        case .tooLarge: return "too_large"
        case .malformed: return "malformed"
        case .algorithmNone: return "alg_none"
        case .algorithmHMAC: return "alg_hmac"
        case .algorithmUnsupported: return "alg_unsupported"
        case .algorithmMismatch: return "alg_mismatch"
        case .wrongType: return "wrong_typ"
        case .criticalHeader: return "crit_header"
        case .unknownKeyID: return "unknown_kid"
        case .missingKeyID: return "missing_kid"
        case .signatureInvalid: return "signature_invalid"
        case .missingClaim: return "missing_claim"
        case .invalidClaim: return "invalid_claim"
        case .wrongIssuer: return "wrong_issuer"
        case .wrongAudience: return "wrong_audience"
        case .expired: return "expired"
        case .notYetValid: return "not_yet_valid"
        case .issuedInFuture: return "issued_in_future"
        case .revoked: return "revoked"
        case .missingScope: return "missing_scope"
        }
    }

    /// The reason, for a person: it starts with the plain words (`expired`,
    /// `wrong audience`, `signature invalid`, `missing scope …`).
    public var reason: String {
        switch self {
        case let .tooLarge(size): return "token too large (\(size) bytes; the limit is \(AccessTokenVerifier.maximumTokenSize))"
        case let .malformed(why): return "malformed token: \(why)"
        case .algorithmNone: return "alg none is not accepted (unsigned token)"
        case let .algorithmHMAC(alg): return "HMAC algorithm \(Sanitize.text(alg)) is not accepted (keys are public keys)"
        case let .algorithmUnsupported(alg): return "algorithm \(Sanitize.text(alg)) is not accepted (EdDSA or ES256 only)"
        case let .algorithmMismatch(alg, expected): return "algorithm \(Sanitize.text(alg)) does not match the key (its algorithm is \(expected))"
        case let .wrongType(typ): return "wrong typ \(typ.map { "'\(Sanitize.text($0))'" } ?? "(none)"): access tokens have typ at+jwt"
        case .criticalHeader: return "crit header present: no JWS extensions are understood"
        case let .unknownKeyID(kid): return "unknown key id '\(Sanitize.text(kid))'"
        case .missingKeyID: return "no kid in the header and several keys are trusted"
        case .signatureInvalid: return "signature invalid"
        case let .missingClaim(name): return "missing claim \(name)"
        case let .invalidClaim(name, why): return "invalid claim \(name): \(why)"
        case let .wrongIssuer(iss): return "wrong issuer '\(Sanitize.text(iss))'"
        case .wrongAudience: return "wrong audience"
        case let .expired(exp, now): return "expired (exp \(exp) is \(now - exp)s before now, \(now))"
        case let .notYetValid(nbf, now): return "not yet valid (nbf \(nbf) is \(nbf - now)s after now, \(now))"
        case let .issuedInFuture(iat, now): return "issued in the future (iat \(iat) is \(iat - now)s after now, \(now))"
        case let .revoked(jti): return "revoked (jti \(Sanitize.text(jti)))"
        case let .missingScope(scope): return "missing scope \(scope)"
        }
    }

    public var description: String { "token rejected: \(reason)" }
}

/// Unusable input when issuing tokens or loading verification keys (exit
/// code 2). Each case carries what a caller needs to act on it; `code` is
/// stable (`token.…`), `description` names the file and never a flag.
public enum TokenInputError: ModelSecError, Equatable, Sendable {
    /// The issuer (`iss`) is empty.
    case emptyIssuer
    /// A `kid` was given but is empty.
    case emptyKeyID
    /// The subject (`sub`) is empty.
    case emptySubject
    /// No audience, or an empty one.
    case missingAudience
    /// No scope was requested.
    case missingScope
    /// The lifetime is zero or negative.
    case nonPositiveLifetime(seconds: Int64)
    /// The requested lifetime is above the issuer's maximum.
    case lifetimeAboveMaximum(requested: TokenDuration, maximum: TokenDuration)
    /// A verifier was made with no keys.
    case noVerificationKeys
    /// The clock-skew leeway is negative.
    case negativeLeeway(seconds: Int64)
    /// Two keys share a key id (`path`: the JWK Set, when read from one).
    case duplicateKeyID(keyID: String, path: String?)
    /// The key cannot sign or verify token signatures (an X25519 key).
    case keyCannotSign(algorithm: KeyAlgorithm, path: String?)
    /// The file is not a JWK Set (`{"keys":[…]}`) this reader understands.
    case notAKeySet(path: String)
    /// Key `index` of a JWK Set has no `kid`.
    case keyWithoutID(path: String, index: Int)
    /// Key `index` of a JWK Set carries private key material (`d`).
    case privateKeyMaterial(path: String, index: Int, keyID: String)
    /// Key `index` has a curve (`crv`) other than the one its `kty` supports.
    case unsupportedCurve(path: String, index: Int, keyID: String, keyType: String, curve: String?)
    /// Key `index` has an `alg` other than its key type's one algorithm.
    case algorithmMismatch(path: String, index: Int, keyID: String, expected: String, actual: String)
    /// Key `index` has coordinates that are not a valid public key.
    case invalidKeyMaterial(path: String, index: Int, keyID: String)
    /// Key `index` is an RSA key that cannot be used (`n`/`e` not base64url,
    /// a modulus under 2048 or over 8192 bits, an unusable exponent).
    case invalidRSAKey(path: String, index: Int, keyID: String, reason: String)
    /// The JWK Set holds no Ed25519 or P-256 signature key.
    case noUsableKeys(path: String)
    /// A token given for inspection cannot even be decoded (the rejection says why).
    case undecodableToken(TokenRejection)

    public var category: FailureCategory { .invalidInput }

    /// `token.` followed by the case in words.
    public var code: String {
        switch self {
        case .emptyIssuer: return "token.empty-issuer"
        case .emptyKeyID: return "token.empty-key-id"
        case .emptySubject: return "token.empty-subject"
        case .missingAudience: return "token.missing-audience"
        case .missingScope: return "token.missing-scope"
        case .nonPositiveLifetime: return "token.non-positive-lifetime"
        case .lifetimeAboveMaximum: return "token.lifetime-above-maximum"
        case .noVerificationKeys: return "token.no-verification-keys"
        case .negativeLeeway: return "token.negative-leeway"
        case .duplicateKeyID: return "token.duplicate-key-id"
        case .keyCannotSign: return "token.key-cannot-sign"
        case .notAKeySet: return "token.jwks-malformed"
        case .keyWithoutID: return "token.jwks-key-without-id"
        case .privateKeyMaterial: return "token.jwks-private-key"
        case .unsupportedCurve: return "token.jwks-unsupported-curve"
        case .algorithmMismatch: return "token.jwks-algorithm-mismatch"
        case .invalidKeyMaterial: return "token.jwks-invalid-key"
        case .invalidRSAKey: return "token.jwks-invalid-rsa-key"
        case .noUsableKeys: return "token.jwks-no-usable-keys"
        case .undecodableToken: return "token.undecodable"
        }
    }

    public var path: String? {
        switch self {
        case let .duplicateKeyID(_, path), let .keyCannotSign(_, path): return path
        case let .notAKeySet(path), let .keyWithoutID(path, _), let .privateKeyMaterial(path, _, _),
             let .unsupportedCurve(path, _, _, _, _), let .algorithmMismatch(path, _, _, _, _),
             let .invalidKeyMaterial(path, _, _), let .invalidRSAKey(path, _, _, _), let .noUsableKeys(path):
            return path
        default: return nil
        }
    }

    public var description: String {
        let text: String
        switch self {
        case .emptyIssuer: text = "the issuer must not be empty"
        case .emptyKeyID: text = "the kid must not be empty"
        case .emptySubject: text = "the subject must not be empty"
        case .missingAudience: text = "at least one non-empty audience is needed"
        case .missingScope: text = "at least one scope is needed (e.g. model:pull:resnet@2.1.0)"
        case let .nonPositiveLifetime(seconds): text = "the lifetime must be positive (got \(seconds)s)"
        case let .lifetimeAboveMaximum(requested, maximum):
            text = "the requested lifetime \(requested) exceeds the maximum \(maximum)"
        case .noVerificationKeys: text = "no verification keys given"
        case let .negativeLeeway(seconds): text = "the leeway cannot be negative (got \(seconds)s)"
        case let .duplicateKeyID(keyID, _): text = "two keys share the key id \(Sanitize.text(keyID))"
        case let .keyCannotSign(algorithm, _):
            text = "an \(algorithm.rawValue) key cannot verify token signatures (use an ed25519, p256, p384 or p521 key)"
        case .notAKeySet: text = "not a JWK Set this verifier understands (expected {\"keys\":[…]})"
        case let .keyWithoutID(_, index): text = "key \(index) has no kid"
        case let .privateKeyMaterial(_, index, kid):
            text = "key \(index) (\(Sanitize.text(kid))) holds private key material (d); publish public keys only"
        case let .unsupportedCurve(_, index, kid, kty, crv):
            let supported = kty == "OKP" ? "Ed25519" : "P-256, P-384 or P-521"
            text = "key \(index) (\(Sanitize.text(kid))): curve \(crv.map { Sanitize.text($0) } ?? "(none)") is not supported for \(kty) keys (only \(supported))"
        case let .algorithmMismatch(_, index, kid, expected, actual):
            text = "key \(index) (\(Sanitize.text(kid))): alg \(Sanitize.text(actual)) does not match the key type (it must be \(expected))"
        case let .invalidKeyMaterial(_, index, kid):
            text = "key \(index) (\(Sanitize.text(kid))): the coordinates are not a valid public key on its curve"
        case let .invalidRSAKey(_, index, kid, reason):
            text = "key \(index) (\(Sanitize.text(kid))): not a usable RSA public key (\(reason))"
        case .noUsableKeys: text = "no usable signature keys in the JWK Set"
        case let .undecodableToken(rejection): text = "cannot decode the token: \(rejection.reason)"
        }
        if let path { return "\(path): \(text)" }
        return text
    }

    /// This error naming the file `path` (for key files loaded by path).
    public func at(_ path: String) -> TokenInputError {
        switch self {
        case let .duplicateKeyID(keyID, nil): return .duplicateKeyID(keyID: keyID, path: path)
        case let .keyCannotSign(algorithm, nil): return .keyCannotSign(algorithm: algorithm, path: path)
        default: return self
        }
    }
}

/// Keeps attacker-controlled strings short and printable in messages.
enum Sanitize {
    static func text(_ value: String, limit: Int = 80) -> String {
        var out = ""
        for scalar in value.unicodeScalars.prefix(limit) {
            out += (scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F) ? String(scalar) : "?"
        }
        return value.unicodeScalars.count > limit ? out + "…" : out
    }
}
