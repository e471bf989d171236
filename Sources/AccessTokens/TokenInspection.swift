import Foundation
import ModelSecIO

/// A token's header and claims decoded WITHOUT verifying anything: for
/// looking at a token, never for deciding whether to trust it.
public struct TokenInspection: Sendable, Encodable {
    /// Always false: nothing was checked.
    public let verified = false
    /// Says so in words.
    public let warning = "NOT VERIFIED: decoded without checking the signature, issuer, audience, expiry or revocation"
    /// The header as JSON.
    public let header: JSONValue
    /// The payload as JSON (or nil when it is not JSON).
    public let claims: JSONValue?
    /// The signature's length in bytes.
    public let signatureBytes: Int

    enum CodingKeys: String, CodingKey {
        case verified, warning, header, claims
        case signatureBytes = "signature_bytes"
    }

    /// Decodes `token` (size limit and strict compact form still apply;
    /// failures are ``TokenRejection/malformed(_:)``/``TokenRejection/tooLarge(size:)``).
    public init(token: String) throws {
        guard token.utf8.count <= AccessTokenVerifier.maximumTokenSize else { throw TokenRejection.tooLarge(size: token.utf8.count) }
        let jws = try CompactJWS(parsing: token)
        guard let header = try? JSONDecoder().decode(JSONValue.self, from: Data(jws.header)) else {
            throw TokenRejection.malformed("header is not valid JSON")
        }
        self.header = header
        claims = try? JSONDecoder().decode(JSONValue.self, from: Data(jws.payload))
        signatureBytes = jws.signature.count
    }
}
