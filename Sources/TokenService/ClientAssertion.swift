import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys

/// A `private_key_jwt` client assertion (RFC 7523 §3), checked strictly:
///
/// - a compact JWS of at most ``maximumSize`` bytes, header and claims JSON
///   objects with no repeated member (RFC 7515 §5.2) and no `crit`;
/// - `alg` exactly the client key's (`EdDSA` for ed25519, `ES256` for p256);
/// - `iss` and `sub` both the client id, `aud` (string or array) containing the
///   token endpoint URL, all as exact bytes;
/// - `exp` an integer, not past (with ``leeway``) and at most the configured
///   maximum lifetime ahead; `iat` and `nbf`, if present, integers not in the
///   future; `jti` present, 1–256 bytes, and never seen before for this
///   client within its lifetime (the store's replay cache).
public struct ClientAssertion: Sendable {
    /// The most bytes an assertion may have.
    public static let maximumSize = 8192
    /// Clock skew allowed on `exp`, `iat` and `nbf`.
    public static let leeway: Int64 = 30
    /// The assertion type RFC 7523 §2.2 names.
    public static let jwtBearerType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    /// `iss` (= `sub`): the client id the assertion claims.
    public let clientID: String
    /// `jti`.
    public let tokenID: String
    /// `exp`.
    public let expiresAt: Int64
    /// The decoded header.
    let header: JOSEHeader
    /// The parsed JWS (for the signature check).
    let jws: CompactJWS

    /// Parses an assertion without checking its signature (that needs the
    /// client's key, found through ``clientID``).
    public init(parsing text: String) throws {
        guard text.utf8.count <= Self.maximumSize else { throw OAuthError(.invalidClient, "the client assertion is too large") }
        guard let jws = try? CompactJWS(parsing: text) else { throw OAuthError(.invalidClient, "the client assertion is not a compact JWS") }
        guard let headerMembers = JSONObjectScanner.members(jws.header), Self.unique(headerMembers),
              let header = try? JSONDecoder().decode(JOSEHeader.self, from: Data(jws.header)), !header.hasCritical else {
            throw OAuthError(.invalidClient, "the client assertion header is malformed")
        }
        guard let members = JSONObjectScanner.members(jws.payload), Self.unique(members) else {
            throw OAuthError(.invalidClient, "the client assertion claims are not a JSON object with unique members")
        }
        for member in members where ["exp", "iat", "nbf"].contains(member.name) {
            guard !member.value.isEmpty, member.value.count <= 12,
                  member.value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw OAuthError(.invalidClient, "the client assertion's '\(member.name)' is not an integer NumericDate")
            }
        }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: Data(jws.payload)) else {
            throw OAuthError(.invalidClient, "the client assertion lacks iss, sub, aud, exp or jti, or has a wrong type")
        }
        guard ExactString(claims.iss) == ExactString(claims.sub) else {
            throw OAuthError(.invalidClient, "the client assertion's iss and sub differ")
        }
        guard !claims.jti.isEmpty, claims.jti.utf8.count <= 256 else {
            throw OAuthError(.invalidClient, "the client assertion's jti must be 1 to 256 bytes")
        }
        self.clientID = claims.iss
        self.tokenID = claims.jti
        self.expiresAt = claims.exp
        self.header = header
        self.jws = jws
        self.claims = claims
    }

    private let claims: Claims

    /// Checks signature, audience and times against `key`; the replay check
    /// is the caller's (it needs the store).
    public func verify(key: PublicKey, audience: String, maximumLifetime: TokenDuration, now: Int64) throws {
        let expected: String
        switch key.algorithm {
        case .ed25519: expected = "EdDSA"
        case .p256: expected = "ES256"
        case .p384: expected = "ES384"
        case .p521: expected = "ES512"
        case .x25519: throw OAuthError(.invalidClient, "the client's key cannot sign")
        }
        guard ExactString(header.algorithm) == ExactString(expected) else {
            throw OAuthError(.invalidClient, "the client assertion's alg is not the client key's (\(expected))")
        }
        let valid: Bool
        switch key {
        case let .ed25519(k): valid = jws.signature.count == 64 && k.isValidSignature(jws.signature, for: jws.signingInput)
        case let .ecdsa(k):
            valid = jws.signature.count == 2 * k.curve.scalarSize && k.isValidSignature(rawSignature: jws.signature, for: jws.signingInput)
        case .x25519: valid = false
        }
        guard valid else { throw OAuthError(.invalidClient, "the client assertion's signature does not verify") }
        guard claims.aud.contains(where: { ExactString($0) == ExactString(audience) }) else {
            throw OAuthError(.invalidClient, "the client assertion is for another audience")
        }
        guard claims.exp + Self.leeway > now else { throw OAuthError(.invalidClient, "the client assertion has expired") }
        guard claims.exp - now <= maximumLifetime.seconds else {
            throw OAuthError(.invalidClient, "the client assertion expires too far in the future (at most \(maximumLifetime))")
        }
        if let iat = claims.iat, iat > now + Self.leeway {
            throw OAuthError(.invalidClient, "the client assertion was issued in the future")
        }
        if let nbf = claims.nbf, nbf > now + Self.leeway {
            throw OAuthError(.invalidClient, "the client assertion is not valid yet")
        }
    }

    private static func unique(_ members: [JSONObjectScanner.Member]) -> Bool {
        var seen = Set<[UInt8]>()
        return members.allSatisfy { seen.insert(Array($0.name.utf8)).inserted }
    }

    /// The claims the service reads.
    struct Claims: Decodable, Sendable {
        let iss: String
        let sub: String
        let aud: [String]
        let exp: Int64
        let iat: Int64?
        let nbf: Int64?
        let jti: String

        enum CodingKeys: String, CodingKey { case iss, sub, aud, exp, iat, nbf, jti }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            iss = try c.decode(String.self, forKey: .iss)
            sub = try c.decode(String.self, forKey: .sub)
            if let one = try? c.decode(String.self, forKey: .aud) { aud = [one] } else { aud = try c.decode([String].self, forKey: .aud) }
            exp = try c.decode(Int64.self, forKey: .exp)
            iat = try c.decodeIfPresent(Int64.self, forKey: .iat)
            nbf = try c.decodeIfPresent(Int64.self, forKey: .nbf)
            jti = try c.decode(String.self, forKey: .jti)
        }
    }
}
