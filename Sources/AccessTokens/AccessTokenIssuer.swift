import Foundation
import ModelSecCrypto

/// Issues modelsec access tokens: compact JWS with header
/// `{"alg":…,"kid":…,"typ":"at+jwt"}` and the RFC 9068 claims, integer dates.
public struct AccessTokenIssuer: Sendable {
    /// The default longest lifetime a token may be given.
    public static let defaultMaximumLifetime = TokenDuration(seconds: 24 * 3600)

    /// What signs the tokens.
    private let signer: any Signer
    /// The `kid` written into every header.
    public let keyID: String
    /// The `iss` claim.
    public let issuer: String
    /// Requests for a longer lifetime are refused.
    public let maximumLifetime: TokenDuration
    /// The JOSE header, the same for every token: encoded once.
    private let headerJSON: [UInt8]

    /// An issuer signing with `signingKey` (Ed25519 → EdDSA, P-256 → ES256),
    /// a key in memory or any other ``Signer``. `keyID` defaults to the
    /// key's modelsec key id.
    public init(signingKey: any Signer, keyID: String? = nil, issuer: String,
                maximumLifetime: TokenDuration = AccessTokenIssuer.defaultMaximumLifetime) throws {
        guard !issuer.isEmpty else { throw TokenInputError.emptyIssuer }
        if let keyID, keyID.isEmpty { throw TokenInputError.emptyKeyID }
        self.signer = signingKey
        self.keyID = keyID ?? signingKey.publicKey.keyID
        self.issuer = issuer
        self.maximumLifetime = maximumLifetime
        self.headerJSON = Array(try Self.encoder.encode(JOSEHeader(algorithm: VerificationKey.jwsAlgorithm(for: signingKey.algorithm),
                                                                   keyID: self.keyID)))
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// What to grant.
    public struct Request: Sendable {
        /// `sub`.
        public var subject: String
        /// `aud` (one or more).
        public var audiences: [String]
        /// The granted scopes (at least one).
        public var scopes: [ModelScope]
        /// How long the token is valid.
        public var lifetime: TokenDuration
        /// `client_id`; defaults to the subject.
        public var clientID: String?

        /// A request; see the properties.
        public init(subject: String, audiences: [String], scopes: [ModelScope],
                    lifetime: TokenDuration = TokenDuration(seconds: 15 * 60), clientID: String? = nil) {
            self.subject = subject
            self.audiences = audiences
            self.scopes = scopes
            self.lifetime = lifetime
            self.clientID = clientID
        }
    }

    /// A freshly issued token.
    public struct IssuedToken: Sendable, Codable, Equatable {
        /// The compact JWT.
        public let token: String
        /// Its claims.
        public let claims: AccessTokenClaims
    }

    /// Issues a token for `request` at `now` (seconds are truncated), with a
    /// random 128-bit `jti`.
    public func issue(_ request: Request, now: Date = Date()) throws -> IssuedToken {
        guard !request.subject.isEmpty else { throw TokenInputError.emptySubject }
        guard !request.audiences.isEmpty, !request.audiences.contains(where: \.isEmpty) else {
            throw TokenInputError.missingAudience
        }
        guard !request.scopes.isEmpty else { throw TokenInputError.missingScope }
        guard request.lifetime.seconds > 0 else { throw TokenInputError.nonPositiveLifetime(seconds: request.lifetime.seconds) }
        guard request.lifetime <= maximumLifetime else {
            throw TokenInputError.lifetimeAboveMaximum(requested: request.lifetime, maximum: maximumLifetime)
        }
        let iat = Int64(now.timeIntervalSince1970.rounded(.down))
        var seenScopes = Set<ModelScope>()
        let scopes = request.scopes.filter { seenScopes.insert($0).inserted }
        let claims = AccessTokenClaims(
            issuer: issuer, subject: request.subject, audience: request.audiences,
            expiresAt: iat + request.lifetime.seconds, issuedAt: iat,
            tokenID: Base64URL.encode(SecureRandom.bytes(count: 16)),
            clientID: request.clientID ?? request.subject,
            scope: scopes.map(\.description).joined(separator: " "))
        let token = try CompactJWS.sign(header: headerJSON, payload: Self.claimsJSON(claims), with: signer)
        return IssuedToken(token: token, claims: claims)
    }

    /// The claims as `JSONEncoder` with `.sortedKeys` and
    /// `.withoutEscapingSlashes` writes them (the same bytes; the tests
    /// compare the two), written directly: an encoder per token cost about
    /// as much as the token's signature.
    static func claimsJSON(_ claims: AccessTokenClaims) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256 + claims.scope.utf8.count)
        func key(_ name: StaticString) {
            out.append(out.count == 0 ? UInt8(ascii: "{") : UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }
        func number(_ value: Int64) { out.append(contentsOf: String(value).utf8) }
        // Members in the byte order of their names, as .sortedKeys puts them.
        key("aud")
        if claims.audience.count == 1 {
            appendJSONString(claims.audience[0], to: &out)
        } else {
            out.append(UInt8(ascii: "["))
            for (index, audience) in claims.audience.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONString(audience, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        key("client_id"); appendJSONString(claims.clientID, to: &out)
        key("exp"); number(claims.expiresAt)
        key("iat"); number(claims.issuedAt)
        key("iss"); appendJSONString(claims.issuer, to: &out)
        key("jti"); appendJSONString(claims.tokenID, to: &out)
        if let notBefore = claims.notBefore { key("nbf"); number(notBefore) }
        key("scope"); appendJSONString(claims.scope, to: &out)
        key("sub"); appendJSONString(claims.subject, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Appends `text` as a JSON string as `JSONEncoder` (with
    /// `.withoutEscapingSlashes`) writes it: `"` and `\` escaped, control
    /// characters as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00xx`, everything
    /// else (`/`, DEL and non-ASCII included) as it is.
    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
