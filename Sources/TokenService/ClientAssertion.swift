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
              let header = Self.plainHeader(headerMembers) ?? (try? JSONDecoder().decode(JOSEHeader.self, from: Data(jws.header))),
              !header.hasCritical else {
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
        guard let claims = Self.plainClaims(members) ?? (try? JSONDecoder().decode(Claims.self, from: Data(jws.payload))) else {
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

    // The plain case without JSONDecoder (a decoder per assertion cost as
    // much as a tenth of a token's CPU): when every member's name is
    // printable ASCII and every value a string of printable ASCII without
    // escapes, an integer without sign or leading zero, or true, false or
    // null, the document is valid JSON and these are exactly the values
    // JSONDecoder reads. Anything else (escapes, arrays, objects, other
    // numbers, a missing or mistyped member) gives nil, and JSONDecoder
    // reads the document as before.

    /// The value of a plain string literal (with its quotes), or nil.
    static func plainString(_ raw: ArraySlice<UInt8>) -> String? {
        guard raw.count >= 2, raw.first == UInt8(ascii: "\""), raw.last == UInt8(ascii: "\"") else { return nil }
        let inner = raw.dropFirst().dropLast()
        guard inner.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else { return nil }
        return String(decoding: inner, as: UTF8.self)
    }

    /// The value of a plain integer literal (1 to 18 digits, no sign, no leading zero), or nil.
    static func plainInteger(_ raw: ArraySlice<UInt8>) -> Int64? {
        guard !raw.isEmpty, raw.count <= 18, raw.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              raw.count == 1 || raw.first != UInt8(ascii: "0") else { return nil }
        return raw.reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
    }

    /// Whether every member of `members` is plain (see above).
    static func allPlain(_ members: [JSONObjectScanner.Member]) -> Bool {
        members.allSatisfy { member in
            member.name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
                && (plainString(member.value) != nil || plainInteger(member.value) != nil
                    || member.value.elementsEqual("true".utf8) || member.value.elementsEqual("false".utf8)
                    || member.value.elementsEqual("null".utf8))
        }
    }

    /// The header JSONDecoder would read from plain members with a string
    /// `alg` (and string `typ`, `kid` if present), or nil.
    static func plainHeader(_ members: [JSONObjectScanner.Member]) -> JOSEHeader? {
        guard allPlain(members) else { return nil }
        func value(_ name: String) -> ArraySlice<UInt8>? { members.first { $0.name == name }?.value }
        guard let alg = value("alg").flatMap(plainString) else { return nil }
        var header = JOSEHeader(algorithm: alg, keyID: nil, type: nil)
        if let typ = value("typ") {
            guard let text = plainString(typ) else { return nil }
            header.type = text
        }
        if let kid = value("kid") {
            guard let text = plainString(kid) else { return nil }
            header.keyID = text
        }
        header.hasCritical = value("crit") != nil
        return header
    }

    /// The claims JSONDecoder would read from plain members with string
    /// `iss`, `sub`, `aud` and `jti` and integer `exp` (and `iat`, `nbf` if
    /// present), or nil.
    static func plainClaims(_ members: [JSONObjectScanner.Member]) -> Claims? {
        guard allPlain(members) else { return nil }
        func value(_ name: String) -> ArraySlice<UInt8>? { members.first { $0.name == name }?.value }
        guard let iss = value("iss").flatMap(plainString), let sub = value("sub").flatMap(plainString),
              let aud = value("aud").flatMap(plainString), let exp = value("exp").flatMap(plainInteger),
              let jti = value("jti").flatMap(plainString) else { return nil }
        var iat: Int64?
        if let raw = value("iat") {
            guard let number = plainInteger(raw) else { return nil }
            iat = number
        }
        var nbf: Int64?
        if let raw = value("nbf") {
            guard let number = plainInteger(raw) else { return nil }
            nbf = number
        }
        return Claims(iss: iss, sub: sub, aud: [aud], exp: exp, iat: iat, nbf: nbf, jti: jti)
    }

    private static func unique(_ members: [JSONObjectScanner.Member]) -> Bool {
        // Exact bytes. A JWS has a few members: pairwise, no set of arrays
        // to hash (an assertion is at most 8 KiB, so at most a few thousand).
        if members.count > 64 {
            var seen = Set<[UInt8]>()
            return members.allSatisfy { seen.insert(Array($0.name.utf8)).inserted }
        }
        for i in members.indices.dropFirst() {
            for j in 0..<i where members[j].name.utf8.elementsEqual(members[i].name.utf8) { return false }
        }
        return true
    }

    /// The claims the service reads.
    struct Claims: Decodable, Sendable, Equatable {
        let iss: String
        let sub: String
        let aud: [String]
        let exp: Int64
        let iat: Int64?
        let nbf: Int64?
        let jti: String

        enum CodingKeys: String, CodingKey { case iss, sub, aud, exp, iat, nbf, jti }
    }
}

extension ClientAssertion.Claims {
    // In an extension, so the memberwise initialiser stays. `aud` may be
    // one string or an array.
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
