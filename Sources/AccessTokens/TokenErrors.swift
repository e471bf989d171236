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

/// Unusable input when issuing tokens or loading verification keys (exit code 2).
public struct TokenInputError: ModelSecError, Equatable, Sendable {
    /// What is wrong, naming the file or option involved.
    public let message: String

    /// An error with `message`.
    public init(_ message: String) { self.message = message }

    public var category: FailureCategory { .invalidInput }
    public var description: String { message }
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
