import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecIO

/// Why `token fetch` got no token.
public enum TokenFetchError: ModelSecError, Equatable {
    /// Plain HTTP to a host that is not loopback (a secret or assertion would
    /// cross the network in clear).
    case insecureServer(url: String)
    /// The server could not be reached or did not answer in time.
    case unreachable(url: String, reason: String)
    /// The server refused: its RFC 6749 §5.2 `error`, HTTP status and
    /// `error_description` (printable ASCII, at most 200 bytes), if any.
    case refused(error: String, status: Int, description: String? = nil)
    /// The answer was not a token response (wrong type, too large, not JSON).
    case badResponse(url: String, reason: String)
    /// An introspection request was not answered with a verdict: the
    /// endpoint is wrong (404), the verifier's own credentials were refused
    /// (401), ... (a configuration problem of the verifier, not of the token).
    case introspectionFailed(url: String, status: Int, error: String)

    public var category: FailureCategory {
        if case .refused = self { return .verificationFailed }
        return .invalidInput
    }

    public var code: String {
        switch self {
        case .insecureServer: return "token.fetch-insecure-server"
        case .unreachable: return "token.fetch-unreachable"
        case .refused: return "token.fetch-refused"
        case .badResponse: return "token.fetch-bad-response"
        case .introspectionFailed: return "token.introspection-failed"
        }
    }

    public var description: String {
        switch self {
        case .insecureServer(let url): return "\(url): plain http is allowed only to a loopback address; use https"
        case .unreachable(let url, let reason): return "\(url): no answer: \(reason)"
        case .refused(let error, let status, let description):
            return "the token service refused the request: \(error) (HTTP \(status))" + (description.map { ": \($0)" } ?? "")
        case .badResponse(let url, let reason): return "\(url): not a token response (\(reason))"
        case .introspectionFailed(let url, let status, let error):
            return "\(url): the introspection request got HTTP \(status) (\(error)), not a verdict; check the URL and the introspection client's id and secret"
        }
    }
}

/// A client of the token service (or any RFC 6749 server): the
/// `client_credentials` grant with `client_secret_basic`,
/// `client_secret_post` or `private_key_jwt`, or an RFC 8693 token exchange of
/// a workload's identity token, with or without client authentication.
/// Redirects are not followed; answers are bounded in size and time.
public struct TokenClient: Sendable {
    /// How the client proves who it is.
    public enum Credential: Sendable {
        /// A secret, sent with HTTP Basic (`post` false) or in the body.
        case secret(String, post: Bool)
        /// A private key signing an RFC 7523 assertion (ES256 or EdDSA).
        case privateKey(SigningPrivateKey)
        /// No client authentication (a token exchange; the client id, if
        /// not empty, is sent as `client_id`).
        case none
    }

    /// What the client asks for a token with.
    public enum Grant: Sendable {
        /// `client_credentials` (RFC 6749 §4.4).
        case clientCredentials
        /// An RFC 8693 token exchange of `subjectToken` (a JWT, sent with
        /// `subject_token_type` `urn:ietf:params:oauth:token-type:jwt`).
        case tokenExchange(subjectToken: String)
    }

    /// The largest answer read.
    public static let maximumResponseSize = 64 * 1024
    /// Seconds before a request is abandoned.
    public static let timeout: TimeInterval = 30

    /// The service's base URL (`/token` and the metadata path are appended).
    public let server: URL
    /// The client id.
    public let clientID: String
    /// The proof.
    public let credential: Credential
    /// Requested scopes (none: the client's default).
    public let scopes: [String]
    /// The grant.
    public let grant: Grant

    /// The `subject_token_type` a token exchange sends.
    public static let jwtTokenType = "urn:ietf:params:oauth:token-type:jwt"

    /// How requests are sent (and which CAs an https server's certificate may chain to).
    public let transport: OutgoingHTTP

    /// A client; the URL must be https, or http to a loopback address. An
    /// https server's certificate must chain to one of the system's CAs, or
    /// with `transport` given, to the CAs it trusts.
    public init(server: URL, clientID: String, credential: Credential, scopes: [String],
                grant: Grant = .clientCredentials, transport: OutgoingHTTP = OutgoingHTTP()) throws {
        // One rule for every URL the service's clients call (a host such as
        // 127.evil.com is a name, not a loopback address).
        guard RemoteKeySet.isAcceptable(server) else { throw TokenFetchError.insecureServer(url: server.absoluteString) }
        self.server = server
        self.clientID = clientID
        self.credential = credential
        self.scopes = scopes
        self.grant = grant
        self.transport = transport
    }

    /// The RFC 6749 §5.1 answer.
    public struct Response: Sendable, Equatable {
        /// The token.
        public let accessToken: String
        /// `Bearer`.
        public let tokenType: String
        /// Lifetime in seconds, when given.
        public let expiresIn: Int64?
        /// Granted scopes, when given.
        public let scope: String?
        /// `issued_token_type` (RFC 8693 §2.2.1), when given.
        public var issuedTokenType: String? = nil
    }

    private var base: String {
        let text = server.absoluteString
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    /// Asks for a token.
    public func fetch(now: Date = Date()) async throws -> Response {
        var form: [(String, String)]
        switch grant {
        case .clientCredentials: form = [("grant_type", "client_credentials")]
        case let .tokenExchange(subjectToken):
            form = [("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
                    ("subject_token", subjectToken), ("subject_token_type", Self.jwtTokenType)]
        }
        if !scopes.isEmpty { form.append(("scope", scopes.joined(separator: " "))) }
        var headers = ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"]
        try await authenticate(&form, &headers, now: now)
        let body = form.map { Self.formEncode($0.0) + "=" + Self.formEncode($0.1) }.joined(separator: "&")
        let (status, data) = try await send(url: base + "/token", method: "POST", headers: headers, body: Data(body.utf8))
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard status == 200 else {
            throw TokenFetchError.refused(error: (object?["error"] as? String).map { Self.printable($0) } ?? "no OAuth error code", status: status,
                                          description: (object?["error_description"] as? String).map { Self.printable($0, limit: 200) })
        }
        guard let object, let token = object["access_token"] as? String, let type = object["token_type"] as? String else {
            throw TokenFetchError.badResponse(url: base + "/token", reason: "no access_token and token_type")
        }
        return Response(accessToken: token, tokenType: type, expiresIn: (object["expires_in"] as? NSNumber)?.int64Value,
                        scope: object["scope"] as? String, issuedTokenType: object["issued_token_type"] as? String)
    }

    /// Adds the client's proof to a request's form or headers.
    private func authenticate(_ form: inout [(String, String)], _ headers: inout [String: String], now: Date) async throws {
        switch credential {
        case let .secret(secret, post: true):
            form += [("client_id", clientID), ("client_secret", secret)]
        case let .secret(secret, post: false):
            let pair = Self.formEncode(clientID) + ":" + Self.formEncode(secret)
            headers["Authorization"] = "Basic " + Data(pair.utf8).base64EncodedString()
        case let .privateKey(key):
            let audience = try await tokenEndpoint()
            form += [("client_assertion_type", ClientAssertion.jwtBearerType),
                     ("client_assertion", try assertion(key: key, audience: audience, now: now))]
        case .none:
            if !clientID.isEmpty { form.append(("client_id", clientID)) }
        }
    }

    /// Asks the server's RFC 7662 introspection endpoint (`/introspect`
    /// under the server URL) whether `token` is active: false for a revoked,
    /// expired or unknown token. The client must authenticate (as for a token).
    public func isActive(_ token: String, now: Date = Date()) async throws -> Bool {
        var form = [("token", token), ("token_type_hint", "access_token")]
        var headers = ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"]
        try await authenticate(&form, &headers, now: now)
        let body = form.map { Self.formEncode($0.0) + "=" + Self.formEncode($0.1) }.joined(separator: "&")
        // The service's base URL or its introspection_endpoint itself.
        let url = base.hasSuffix("/introspect") ? base : base + "/introspect"
        // A 401 (the verifier's own credentials refused) is a failed request, not a verdict.
        let (status, data) = try await send(url: url, method: "POST", headers: headers, body: Data(body.utf8))
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard status == 200 else {
            throw TokenFetchError.introspectionFailed(url: url, status: status,
                                                      error: (object?["error"] as? String).map { Self.printable($0) } ?? "no OAuth error code")
        }
        // RFC 7662: `active` is a JSON boolean. Read on the bytes, once: Foundation
        // would also take 1 for true (review), and a repeated member is refused.
        let active = JSONObjectScanner.members(Array(data))?.filter { Array($0.name.utf8) == Array("active".utf8) }
        guard let active, active.count == 1, let raw = active.first?.value else {
            throw TokenFetchError.badResponse(url: url, reason: "no single active member in a JSON object")
        }
        switch String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) {
        case "true": return true
        case "false": return false
        default: throw TokenFetchError.badResponse(url: url, reason: "active is not a JSON boolean")
        }
    }

    /// The token endpoint as the server names it (RFC 8414 metadata): what a
    /// client assertion's `aud` must be.
    func tokenEndpoint() async throws -> String {
        let url = base + "/.well-known/oauth-authorization-server"
        let (status, data) = try await send(url: url, method: "GET", headers: ["Accept": "application/json"], body: nil)
        guard status == 200, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let endpoint = object["token_endpoint"] as? String, !endpoint.isEmpty else {
            throw TokenFetchError.badResponse(url: url, reason: "no token_endpoint in the metadata")
        }
        return endpoint
    }

    /// A fresh RFC 7523 assertion: iss = sub = the client id, 60 s lifetime, random jti.
    func assertion(key: SigningPrivateKey, audience: String, now: Date) throws -> String {
        struct Claims: Encodable { let iss, sub, aud: String; let exp, iat: Int64; let jti: String }
        let iat = Int64(now.timeIntervalSince1970.rounded(.down))
        let alg = key.publicKey.algorithm == .p256 ? "ES256" : "EdDSA"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let header = try encoder.encode(["alg": alg, "typ": "JWT"])
        let claims = try encoder.encode(Claims(iss: clientID, sub: clientID, aud: audience, exp: iat + 60, iat: iat,
                                               jti: Base64URL.encode(SecureRandom.bytes(count: 16))))
        return try CompactJWS.sign(header: Array(header), payload: Array(claims), with: key)
    }

    private func send(url: String, method: String, headers: [String: String], body: Data?) async throws -> (Int, Data) {
        guard let target = URL(string: url) else { throw TokenFetchError.unreachable(url: url, reason: "not a URL") }
        let answer: OutgoingHTTP.Answer
        do {
            answer = try await transport.send(target, method: method, headers: headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                              body: body.map { Array($0) }, limit: Self.maximumResponseSize, timeout: Self.timeout)
        } catch let failure as OutgoingHTTP.Failure where failure.reason.hasPrefix("larger than") {
            throw TokenFetchError.badResponse(url: url, reason: "larger than 64 KiB")
        } catch {
            throw TokenFetchError.unreachable(url: url, reason: "\(error)")
        }
        return (answer.status, Data(answer.body))
    }

    /// `application/x-www-form-urlencoded` for one name or value: everything
    /// but unreserved characters (RFC 3986 §2.3) percent-encoded.
    static func formEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// A server-supplied code, cut to printable ASCII and 64 bytes for messages.
    static func printable(_ text: String, limit: Int = 64) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(limit)))
    }
}
