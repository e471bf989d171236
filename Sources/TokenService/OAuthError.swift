import Foundation

/// A refused OAuth request, answered as RFC 6749 §5.2 says: HTTP 400 (401
/// for `invalid_client`, with `WWW-Authenticate`) and a JSON body
/// `{"error": CODE, "error_description": TEXT}`.
///
/// The description never repeats a submitted value (it could be a secret).
public struct OAuthError: Error, Sendable, Equatable {
    /// The RFC 6749 §5.2 (and RFC 8693 §2.2.2) error codes the service uses.
    public enum Code: String, Sendable, CaseIterable {
        /// A required parameter is missing or repeated, the body is malformed,
        /// the content type is wrong.
        case invalidRequest = "invalid_request"
        /// Client authentication failed (unknown client, wrong secret, bad
        /// assertion, no authentication).
        case invalidClient = "invalid_client"
        /// The grant is invalid, expired or not trusted. (A refused subject
        /// token is `invalid_request`: RFC 8693 §2.2.2 requires that code.)
        case invalidGrant = "invalid_grant"
        /// The client may not use this grant type.
        case unauthorizedClient = "unauthorized_client"
        /// The grant type is not one the service supports.
        case unsupportedGrantType = "unsupported_grant_type"
        /// A requested scope is malformed or beyond what the client is granted.
        case invalidScope = "invalid_scope"
        /// A token exchange named a `resource` or an `audience` the service
        /// does not issue tokens for (RFC 8693 §2.2.2).
        case invalidTarget = "invalid_target"
        /// Too many failed authentications for this client id or address
        /// (HTTP 429 with `Retry-After`; the code is RFC 8628 §3.5's token
        /// endpoint error for a client that must slow down).
        case slowDown = "slow_down"
        /// The service cannot answer now (a trusted issuer's JWK Set URL
        /// could not be fetched): HTTP 503, the code RFC 6749 §4.1.2.1 names.
        case temporarilyUnavailable = "temporarily_unavailable"
    }

    /// The error code.
    public let code: Code
    /// One line for a person.
    public let description: String
    /// For `slow_down`: whole seconds to wait (the `Retry-After` header).
    public let retryAfter: Int?

    /// An error answer.
    public init(_ code: Code, _ description: String, retryAfter: Int? = nil) {
        self.code = code
        self.description = description
        self.retryAfter = retryAfter
    }

    /// 401 for `invalid_client`, 429 for `slow_down`, 503 for
    /// `temporarily_unavailable`, 400 otherwise.
    public var status: Int {
        switch code {
        case .invalidClient: return 401
        case .slowDown: return 429
        case .temporarilyUnavailable: return 503
        default: return 400
        }
    }

    /// The `WWW-Authenticate` value for a 401 (RFC 6749 §5.2 requires it when
    /// the client tried HTTP authentication; the service always sends it).
    public var wwwAuthenticate: String? { code == .invalidClient ? "Basic realm=\"modelsec\"" : nil }

    /// The JSON body.
    public var body: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(["error": code.rawValue, "error_description": description])) ?? Data())
    }
}
