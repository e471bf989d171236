/// The claims of a modelsec access token (RFC 9068 §2.2). Encoded with the
/// registered claim names; NumericDates are integer seconds since the epoch.
public struct AccessTokenClaims: Codable, Sendable, Equatable {
    /// `iss`: who issued the token.
    public var issuer: String
    /// `sub`: whom the token is about (a deploy pipeline, a service account).
    public var subject: String
    /// `aud`: the services that should accept it (a JSON string when there is
    /// one, an array otherwise).
    public var audience: [String]
    /// `exp`: expiry, seconds since the epoch.
    public var expiresAt: Int64
    /// `iat`: issue time, seconds since the epoch.
    public var issuedAt: Int64
    /// `nbf`: not valid before, when present.
    public var notBefore: Int64?
    /// `jti`: unique token id (what a revocation list names).
    public var tokenID: String
    /// `client_id`: the OAuth client the token was issued to.
    public var clientID: String
    /// `scope`: space-separated scopes, as granted.
    public var scope: String

    /// Memberwise initializer.
    public init(issuer: String, subject: String, audience: [String], expiresAt: Int64, issuedAt: Int64,
                notBefore: Int64? = nil, tokenID: String, clientID: String, scope: String) {
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.notBefore = notBefore
        self.tokenID = tokenID
        self.clientID = clientID
        self.scope = scope
    }

    /// The granted scopes: the `scope` claim split on the byte 0x20 (RFC 6749
    /// §3.3; a split on `Character`s would not see a space followed by a
    /// combining mark). Entries that are not model scopes are skipped (they
    /// grant nothing here).
    public var modelScopes: [ModelScope] {
        var copy = scope
        return copy.withUTF8 { bytes in
            var scopes: [ModelScope] = []
            var start = 0
            while start <= bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: " ")) ?? bytes.count
                if end > start, case let .success(scope) = ModelScope.parse(UnsafeBufferPointer(rebasing: bytes[start..<end])) {
                    scopes.append(scope)
                }
                start = end + 1
            }
            return scopes
        }
    }

    enum CodingKeys: String, CodingKey {
        case issuer = "iss", subject = "sub", audience = "aud", expiresAt = "exp", issuedAt = "iat"
        case notBefore = "nbf", tokenID = "jti", clientID = "client_id", scope
    }

    /// Decodes strictly: every RFC 9068 claim must be present with the right
    /// type; NumericDates must be JSON integers; `aud` a string or a
    /// non-empty array of strings. Failures are ``TokenRejection``s.
    public init(from decoder: Decoder) throws {
        let c: KeyedDecodingContainer<CodingKeys>
        do { c = try decoder.container(keyedBy: CodingKeys.self) } catch {
            throw TokenRejection.malformed("claims are not a JSON object")
        }
        func string(_ key: CodingKeys) throws -> String {
            guard c.contains(key) else { throw TokenRejection.missingClaim(key.rawValue) }
            guard let value = try? c.decode(String.self, forKey: key) else {
                throw TokenRejection.invalidClaim(key.rawValue, "not a string")
            }
            return value
        }
        func date(_ key: CodingKeys) throws -> Int64? {
            guard c.contains(key) else { return nil }
            guard let value = try? c.decode(Int64.self, forKey: key) else {
                throw TokenRejection.invalidClaim(key.rawValue, "not an integer NumericDate")
            }
            return value
        }
        issuer = try string(.issuer)
        subject = try string(.subject)
        guard c.contains(.audience) else { throw TokenRejection.missingClaim("aud") }
        if let single = try? c.decode(String.self, forKey: .audience) {
            audience = [single]
        } else if let list = try? c.decode([String].self, forKey: .audience), !list.isEmpty {
            audience = list
        } else {
            throw TokenRejection.invalidClaim("aud", "not a string or a non-empty array of strings")
        }
        guard let exp = try date(.expiresAt) else { throw TokenRejection.missingClaim("exp") }
        guard let iat = try date(.issuedAt) else { throw TokenRejection.missingClaim("iat") }
        expiresAt = exp
        issuedAt = iat
        notBefore = try date(.notBefore)
        tokenID = try string(.tokenID)
        clientID = try string(.clientID)
        scope = try string(.scope)
    }

    /// The claims from a parsed JSON object (``BoundedJSON``, no name given
    /// twice), with the checks of ``init(from:)`` in the same order: first
    /// every NumericDate written as anything but a JSON integer, then each
    /// claim's presence and type. Names are looked up as `String`s, as
    /// `JSONDecoder` looks them up.
    init(members: [(name: String, value: BoundedJSON.Value)]) throws {
        for member in members where member.name == "exp" || member.name == "iat" || member.name == "nbf" {
            guard member.value.integer != nil else { throw TokenRejection.invalidClaim(member.name, "not an integer NumericDate") }
        }
        func value(_ key: CodingKeys) -> BoundedJSON.Value? {
            members.first { $0.name == key.rawValue }?.value
        }
        func string(_ key: CodingKeys) throws -> String {
            guard let found = value(key) else { throw TokenRejection.missingClaim(key.rawValue) }
            guard let text = found.string else { throw TokenRejection.invalidClaim(key.rawValue, "not a string") }
            return text
        }
        issuer = try string(.issuer)
        subject = try string(.subject)
        switch value(.audience) {
        case nil: throw TokenRejection.missingClaim("aud")
        case let .string(single)?: audience = [single]
        case let .array(list)? where !list.isEmpty && list.allSatisfy({ $0.string != nil }):
            audience = list.map { $0.string! }
        default: throw TokenRejection.invalidClaim("aud", "not a string or a non-empty array of strings")
        }
        guard let exp = value(.expiresAt)?.integer else { throw TokenRejection.missingClaim("exp") }
        guard let iat = value(.issuedAt)?.integer else { throw TokenRejection.missingClaim("iat") }
        expiresAt = exp
        issuedAt = iat
        notBefore = value(.notBefore)?.integer
        tokenID = try string(.tokenID)
        clientID = try string(.clientID)
        scope = try string(.scope)
    }

    /// Encodes with the registered names; a single audience as a string.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(issuer, forKey: .issuer)
        try c.encode(subject, forKey: .subject)
        if audience.count == 1 { try c.encode(audience[0], forKey: .audience) } else { try c.encode(audience, forKey: .audience) }
        try c.encode(expiresAt, forKey: .expiresAt)
        try c.encode(issuedAt, forKey: .issuedAt)
        try c.encodeIfPresent(notBefore, forKey: .notBefore)
        try c.encode(tokenID, forKey: .tokenID)
        try c.encode(clientID, forKey: .clientID)
        try c.encode(scope, forKey: .scope)
    }
}
