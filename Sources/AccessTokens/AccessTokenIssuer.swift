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
        let token = try CompactJWS.sign(header: headerJSON, payload: Array(try Self.encoder.encode(claims)), with: signer)
        return IssuedToken(token: token, claims: claims)
    }
}
