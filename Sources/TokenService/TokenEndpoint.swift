import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import NIOPosix

/// `POST /token` without the HTTP server around it: content type and form
/// checks, client authentication, the grant, the token. Async: the store
/// suspends instead of blocking, and Argon2id secret checks run on NIO's
/// blocking thread pool, so a request never holds a thread of Swift's
/// cooperative pool while waiting or hashing.
public struct TokenEndpoint: Sendable {
    /// The grant type RFC 6749 §4.4 defines.
    public static let clientCredentials = "client_credentials"
    /// The grant type RFC 8693 §2.1 defines.
    public static let tokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
    /// The `issued_token_type` of an exchange's answer (RFC 8693 §3).
    public static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"
    /// The most bytes a request body may have.
    public static let maximumBodySize = 16 * 1024

    let config: ServiceConfig
    /// The signing keys (the current one signs each token).
    let keys: KeyRing
    let store: any TokenServiceStore
    /// Clients from the configuration, by id bytes.
    let configuredClients: [[UInt8]: RegisteredClient]
    /// Checked when the client is unknown (or has no secret), so that an
    /// unknown id costs the same Argon2id work as a wrong secret (no timing
    /// oracle for ids): a hash of a random secret made once at start with
    /// ``decoyParameters(for:)``.
    let decoyHash: SecretHash
    /// Failed authentications per client id and per address.
    let throttle: FailureThrottle

    /// An endpoint issuing with `issuer` for the clients of `config` and `store`.
    public init(config: ServiceConfig, issuer: AccessTokenIssuer, store: any TokenServiceStore,
                throttle: FailureThrottle = FailureThrottle()) async throws {
        try await self.init(config: config, keys: try KeyRing(fixed: issuer, keys: []), store: store, throttle: throttle)
    }

    /// An endpoint signing with the current key of `keys` for the clients of `config` and `store`.
    public init(config: ServiceConfig, keys: KeyRing, store: any TokenServiceStore,
                throttle: FailureThrottle = FailureThrottle()) async throws {
        self.throttle = throttle
        self.config = config
        self.keys = keys
        self.store = store
        self.configuredClients = Dictionary(config.clients.map { (Array($0.id.utf8), $0) }, uniquingKeysWith: { a, _ in a })
        self.decoyHash = try SecretHash(hashing: Base64URL.encode(SecureRandom.bytes(count: 32)),
                                        parameters: Self.decoyParameters(for: config.clients))
        // A trust rule's name is the client_id of its tokens; a stored client
        // of that name (registered before the rule) would be indistinguishable.
        for rule in config.trustRules where try await store.client(id: rule.name) != nil {
            throw TokenServiceError.clientExists(name: rule.name)
        }
    }

    /// A successful answer: the RFC 6749 §5.1 JSON body.
    public struct Success: Sendable {
        /// `{"access_token","token_type","expires_in","scope"}`.
        public let body: [UInt8]
        /// The issued token.
        public let issued: AccessTokenIssuer.IssuedToken
    }

    /// What every form endpoint does with a refusal: an `invalid_client`
    /// feeds the failure throttle (per address and per claimed client), the
    /// request log notes the client and code, and the refusal is audited. A
    /// claimed id is untrusted text, recorded only when it could be a client
    /// id at all (an unauthenticated request could otherwise store kilobytes
    /// per refusal).
    func recordRefusal(_ refusal: OAuthError, claimed: String, address: String?, clock: Double, seconds: Int64, note: RequestNote?) async {
        if refusal.code == .invalidClient {
            if let address { throttle.recordFailure("address:" + address, now: clock) }
            if !claimed.isEmpty { throttle.recordFailure("client:" + claimed, now: clock) }
        }
        note?.clientID = claimed
        note?.error = refusal.code.rawValue
        try? await store.record(AuditRecord(time: seconds, event: "refuse", clientID: RegisteredClient.isValidID(claimed) ? claimed : "",
                                      subject: "", scopes: "", tokenID: "", outcome: refusal.code.rawValue,
                                      requestID: note?.requestID ?? ""))
    }

    /// The checks every form endpoint makes before reading a request: the
    /// address's failure throttle, the content type, the size, the form
    /// encoding (each refusal an ``OAuthError``).
    func checkedForm(contentType: String?, body: [UInt8], address: String?, clock: Double) throws -> FormBody {
        if let address, let wait = throttle.retryAfter("address:" + address, now: clock) {
            throw OAuthError(.slowDown, "too many failed authentications from this address", retryAfter: wait)
        }
        guard Self.isFormContentType(contentType) else {
            throw OAuthError(.invalidRequest, "the content type must be application/x-www-form-urlencoded")
        }
        guard body.count <= Self.maximumBodySize else { throw OAuthError(.invalidRequest, "the request body is too large") }
        do { return try FormBody(body) } catch let malformed as FormBody.Malformed {
            throw OAuthError(.invalidRequest, "the form body is malformed: \(malformed.reason)")
        }
    }

    /// Handles one request from `address` (the peer's IP, for the failure
    /// throttle); refusals are thrown as ``OAuthError``. `note` receives the
    /// client id, grant type and refusal code (for the request log) and
    /// gives the request id written into the audit records.
    public func handle(authorization: String?, contentType: String?, body: [UInt8], address: String? = nil,
                       now: Date = Date(), note: RequestNote? = nil) async throws -> Success {
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let clock = now.timeIntervalSince1970
        var claimedClient = ""
        do {
            let form = try checkedForm(contentType: contentType, body: body, address: address, clock: clock)
            guard let grantType = form["grant_type"] else { throw OAuthError(.invalidRequest, "grant_type is missing") }
            let gate = gate(now: clock)
            if ExactString(grantType) == ExactString(Self.tokenExchange), !config.trustRules.isEmpty {
                note?.grantType = "token-exchange"
                let success = try await exchange(authorization: authorization, form: form, now: now, claimed: &claimedClient, gate: gate,
                                           requestID: note?.requestID ?? "")
                note?.clientID = success.issued.claims.clientID
                return success
            }
            guard ExactString(grantType) == ExactString(Self.clientCredentials) else {
                throw OAuthError(.unsupportedGrantType, "the grant type is not supported (supported: "
                                 + (config.trustRules.isEmpty ? "client_credentials)" : "client_credentials, \(Self.tokenExchange))"))
            }
            note?.grantType = Self.clientCredentials
            let (client, replay) = try await authenticateDeferringReplay(authorization: authorization, form: form, now: seconds,
                                                                         claimed: &claimedClient, gate: gate)
            do {
                return try await issueForClient(client, replay: replay, form: form, now: now, seconds: seconds, clock: clock, note: note)
            } catch {
                // An authenticated assertion is used up even when the request then fails (a
                // scope refused, a rate limit): it stays single-use, as RFC 7523 asks.
                if let replay {
                    _ = try? await store.consumeAssertion(clientID: client.id, tokenID: replay.tokenID, expiresAt: replay.expiresAt, now: seconds)
                }
                throw error
            }
        } catch let refusal as OAuthError {
            await recordRefusal(refusal, claimed: claimedClient, address: address, clock: clock, seconds: seconds, note: note)
            throw refusal
        }
    }

    /// The client_credentials answer for an authenticated `client`: rate
    /// limit, scopes, the token, and (for an assertion) its replay row with
    /// the audit row in one durable commit before the token is returned.
    private func issueForClient(_ client: RegisteredClient, replay: PendingReplay?, form: FormBody, now: Date, seconds: Int64,
                                clock: Double, note: RequestNote?) async throws -> Success {
        try limit(client.id, now: clock)
        note?.clientID = client.id
        let scopes = try grantedScopes(form["scope"], client: client)
        let lifetime = min(client.maximumTTL ?? config.defaultTTL, config.maximumTTL)
        let issued = try await keys.current(now: now).issuer.issue(.init(subject: client.id, audiences: config.audiences, scopes: scopes,
                                            lifetime: lifetime, clientID: client.id), now: now)
        let audit = AuditRecord(time: seconds, event: "issue", clientID: client.id, subject: client.id,
                                scopes: issued.claims.scope, tokenID: issued.claims.tokenID, outcome: "ok",
                                requestID: note?.requestID ?? "")
        if let replay {
            // The assertion's replay-cache row and the audit row go into
            // one durable transaction, before the token is returned (one
            // commit per token instead of two). A replay is refused and
            // the token, signed already, is never shown.
            guard try await store.consumeAssertion(clientID: client.id, tokenID: replay.tokenID, expiresAt: replay.expiresAt,
                                                   now: seconds, recording: audit) else {
                throw OAuthError(.invalidClient, "the client assertion was already used")
            }
        } else {
            try? await store.record(audit)
        }
        return Success(body: try Self.responseBody(issued, lifetime: lifetime), issued: issued)
    }

    /// Runs once the claimed client id is known, before any proof is
    /// checked: refuses (`slow_down`) an id whose failure bucket or rate-limit
    /// bucket is empty, so neither guessing nor a rate-limited client costs
    /// Argon2id or signature work.
    func gate(now clock: Double) -> (String) throws -> Void {
        { id in
            if let wait = throttle.retryAfter("client:" + id, now: clock) {
                throw OAuthError(.slowDown, "too many failed authentications for this client", retryAfter: wait)
            }
            if let wait = throttle.retryAfter("rate:" + id, now: clock) {
                throw OAuthError(.slowDown, "the client's rate limit is exceeded", retryAfter: wait)
            }
        }
    }

    /// Takes one request from the rate-limit bucket of the authenticated
    /// client or trust rule `id` (if it has a limit), or refuses with
    /// `slow_down` (429, `Retry-After`).
    func limit(_ id: String, now clock: Double) throws {
        guard let policy = config.rateLimit(for: id) else { return }
        if let wait = throttle.take("rate:" + id, policy: policy, now: clock) {
            throw OAuthError(.slowDown, "the client's rate limit is exceeded", retryAfter: wait)
        }
    }

    /// `application/x-www-form-urlencoded`, any case, optionally with
    /// `charset=utf-8` and nothing else.
    static func isFormContentType(_ value: String?) -> Bool {
        guard let value else { return false }
        // ASCII (every real header): bytes, no Foundation; the same answer as below.
        if value.utf8.allSatisfy({ $0 < 0x80 }) { return isFormContentTypeASCII(value) }
        let parts = value.split(separator: ";", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard parts.first == "application/x-www-form-urlencoded" else { return false }
        return parts.dropFirst().allSatisfy { $0 == "charset=utf-8" || $0 == "charset=\"utf-8\"" }
    }

    /// ``isFormContentType(_:)`` for an ASCII value: split on `;`, each part
    /// without leading and trailing spaces and tabs (what
    /// `CharacterSet.whitespaces` holds in ASCII), compared in ASCII lower case.
    private static func isFormContentTypeASCII(_ value: String) -> Bool {
        func matches(_ part: Substring.UTF8View, _ expected: StaticString) -> Bool {
            var part = part[...]
            while let first = part.first, first == 0x20 || first == 0x09 { part = part.dropFirst() }
            while let last = part.last, last == 0x20 || last == 0x09 { part = part.dropLast() }
            let wanted = UnsafeBufferPointer(start: expected.utf8Start, count: expected.utf8CodeUnitCount)
            return part.count == wanted.count
                && zip(part, wanted).allSatisfy { (($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0) == $1 }
        }
        var first = true
        for part in value.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false) {
            if first {
                guard matches(part, "application/x-www-form-urlencoded") else { return false }
                first = false
            } else if !matches(part, "charset=utf-8"), !matches(part, "charset=\"utf-8\"") {
                return false
            }
        }
        return !first
    }

    /// A verified client assertion whose `jti` is still to be recorded in
    /// the replay cache (``authenticateDeferringReplay``).
    struct PendingReplay: Sendable {
        /// The assertion's `jti`.
        let tokenID: String
        /// Until when the replay-cache row must be kept.
        let expiresAt: Int64
    }

    /// The client, authenticated by exactly one method (RFC 6749 §2.3); a
    /// client assertion's `jti` is consumed (a replay refused) before it returns.
    /// `gate` runs once the claimed client id is known, before any proof is checked.
    func authenticate(authorization: String?, form: FormBody, now: Int64, claimed: inout String,
                      gate: (String) throws -> Void) async throws -> RegisteredClient {
        let (client, replay) = try await authenticateDeferringReplay(authorization: authorization, form: form, now: now,
                                                                     claimed: &claimed, gate: gate)
        if let replay {
            guard try await store.consumeAssertion(clientID: client.id, tokenID: replay.tokenID, expiresAt: replay.expiresAt,
                                                   now: now) else {
                throw OAuthError(.invalidClient, "the client assertion was already used")
            }
        }
        return client
    }

    /// ``authenticate(authorization:form:now:claimed:gate:)`` that leaves a
    /// verified client assertion's `jti` to the caller, who must consume it
    /// (``TokenServiceStore/consumeAssertion(clientID:tokenID:expiresAt:now:recording:)``)
    /// before anything is returned to the client.
    func authenticateDeferringReplay(authorization: String?, form: FormBody, now: Int64, claimed: inout String,
                                     gate: (String) throws -> Void) async throws -> (RegisteredClient, PendingReplay?) {
        let usesAssertion = form["client_assertion"] != nil || form["client_assertion_type"] != nil
        let usesPost = form["client_secret"] != nil
        let usesBasic = authorization != nil
        guard [usesAssertion, usesPost, usesBasic].filter({ $0 }).count <= 1 else {
            throw OAuthError(.invalidRequest, "more than one client authentication method was used")
        }
        if usesBasic {
            let (id, secret) = try Self.basicCredentials(authorization ?? "")
            claimed = id
            try gate(id)
            if let formID = form["client_id"], ExactString(formID) != ExactString(id) {
                throw OAuthError(.invalidRequest, "client_id in the body differs from the HTTP Basic user")
            }
            return (try await checkSecret(id: id, secret: secret, method: .clientSecretBasic), nil)
        }
        if usesPost {
            guard let id = form["client_id"] else { throw OAuthError(.invalidRequest, "client_secret without client_id") }
            claimed = id
            try gate(id)
            return (try await checkSecret(id: id, secret: form["client_secret"] ?? "", method: .clientSecretPost), nil)
        }
        if usesAssertion {
            guard let type = form["client_assertion_type"], ExactString(type) == ExactString(ClientAssertion.jwtBearerType) else {
                throw OAuthError(.invalidClient, "client_assertion_type must be \(ClientAssertion.jwtBearerType)")
            }
            guard let text = form["client_assertion"] else { throw OAuthError(.invalidRequest, "client_assertion is missing") }
            let assertion = try ClientAssertion(parsing: text)
            claimed = assertion.clientID
            try gate(assertion.clientID)
            if let formID = form["client_id"], ExactString(formID) != ExactString(assertion.clientID) {
                throw OAuthError(.invalidClient, "client_id differs from the assertion's issuer")
            }
            guard let client = try await lookup(assertion.clientID), client.method == .privateKeyJWT,
                  case let .publicKey(key) = client.credential else {
                throw OAuthError(.invalidClient, "client authentication failed")
            }
            try assertion.verify(key: key, audience: config.tokenEndpoint, maximumLifetime: config.maximumAssertionLifetime, now: now)
            return (client, PendingReplay(tokenID: assertion.tokenID, expiresAt: assertion.expiresAt + ClientAssertion.leeway))
        }
        throw OAuthError(.invalidClient, "no client authentication")
    }

    func lookup(_ id: String) async throws -> RegisteredClient? {
        if let client = configuredClients[Array(id.utf8)] { return client }
        guard RegisteredClient.isValidID(id) else { return nil }
        do { return try await store.client(id: id) } catch {
            throw OAuthError(.invalidClient, "client authentication failed")
        }
    }

    /// The Argon2id parameters of the decoy hash: those most of the
    /// configured secret clients' hashes use (the first such set on a tie),
    /// or, without any, ``SecretHash/defaultParameters`` (what `serve client
    /// add` stores). An unknown id then costs what a known client's wrong
    /// secret costs as long as every client shares one parameter set.
    public static func decoyParameters(for clients: [RegisteredClient]) -> Argon2id.Parameters {
        var counts: [Argon2id.Parameters: Int] = [:]
        var order: [Argon2id.Parameters] = []
        for client in clients {
            guard case let .secret(hash) = client.credential else { continue }
            if counts[hash.parameters] == nil { order.append(hash.parameters) }
            counts[hash.parameters, default: 0] += 1
        }
        var best: Argon2id.Parameters?
        for parameters in order where best.map({ counts[parameters, default: 0] > counts[$0, default: 0] }) ?? true {
            best = parameters
        }
        return best ?? SecretHash.defaultParameters
    }

    /// Checks a secret in constant work whether or not the client exists.
    func checkSecret(id: String, secret: String, method: RegisteredClient.AuthMethod) async throws -> RegisteredClient {
        guard let client = try await lookup(id), case let .secret(hash) = client.credential else {
            _ = await Self.matches(decoyHash, secret)
            throw OAuthError(.invalidClient, "client authentication failed")
        }
        guard await Self.matches(hash, secret), client.method == method else {
            throw OAuthError(.invalidClient, "client authentication failed")
        }
        return client
    }

    /// Whether `secret` matches `hash`, computed on NIO's blocking thread
    /// pool (Argon2id takes milliseconds of CPU; the cooperative pool has
    /// only as many threads as cores), or inline when that pool is shut down.
    static func matches(_ hash: SecretHash, _ secret: String) async -> Bool {
        if let result = try? await NIOThreadPool.singleton.runIfActive({ hash.matches(secret) }) { return result }
        return hash.matches(secret)
    }

    /// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
    static func basicCredentials(_ header: String) throws -> (String, String) {
        let bytes = Array(header.utf8)
        guard bytes.count > 6, bytes.count <= 4096,
              String(decoding: bytes[0..<6], as: UTF8.self).lowercased() == "basic " else {
            throw OAuthError(.invalidClient, "the Authorization header is not HTTP Basic")
        }
        let encoded = String(decoding: bytes[6...], as: UTF8.self)
        guard let data = Data(base64Encoded: encoded), data.base64EncodedString() == encoded,
              let colon = data.firstIndex(of: UInt8(ascii: ":")) else {
            throw OAuthError(.invalidClient, "the HTTP Basic credentials are malformed")
        }
        let raw = Array(data)
        let split = colon - data.startIndex
        do {
            let id = try FormBody.decode(raw[0..<split], what: "client id")
            let secret = try FormBody.decode(raw[(split + 1)...], what: "client secret")
            return (String(decoding: id, as: UTF8.self), String(decoding: secret, as: UTF8.self))
        } catch {
            throw OAuthError(.invalidClient, "the HTTP Basic credentials are malformed")
        }
    }

    /// The requested scopes (all of the client's when none are asked for),
    /// each covered by one of the client's patterns.
    func grantedScopes(_ requested: String?, client: RegisteredClient) throws -> [ModelScope] {
        guard let requested else { return client.scopes }
        let scopes = try Self.parseScopes(requested)
        guard client.allows(scopes) else {
            throw OAuthError(.invalidScope, "a requested scope is beyond what the client is granted")
        }
        return scopes
    }

    /// `scope` split on the byte 0x20 exactly (RFC 6749 §3.3: no empty
    /// entries), each a model scope.
    static func parseScopes(_ requested: String) throws -> [ModelScope] {
        let parts = Array(requested.utf8).split(separator: 0x20, omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= 64, parts.allSatisfy({ !$0.isEmpty }) else {
            throw OAuthError(.invalidScope, "scope must be 1 to 64 scope tokens separated by single spaces")
        }
        var scopes: [ModelScope] = []
        for part in parts {
            guard let scope = try? ModelScope(parsing: String(decoding: part, as: UTF8.self)) else {
                throw OAuthError(.invalidScope, "a requested scope is not model:<action>:<name>@<version>")
            }
            scopes.append(scope)
        }
        return scopes
    }

    /// The RFC 6749 §5.1 body; `issuedTokenType` adds RFC 8693 §2.2.1's
    /// `issued_token_type` (an exchange's answer).
    static func responseBody(_ issued: AccessTokenIssuer.IssuedToken, lifetime: TokenDuration,
                             issuedTokenType: String? = nil) throws -> [UInt8] {
        // Written directly (members in sorted order), as JSONEncoder with
        // .sortedKeys wrote it: an encoder per token cost more than its signature.
        var out = [UInt8]()
        out.reserveCapacity(issued.token.utf8.count + 160)
        out += Array(#"{"access_token":"#.utf8)
        LineLogHandler.appendJSONString(issued.token, to: &out)
        out += Array(#","expires_in":"#.utf8) + Array(String(lifetime.seconds).utf8)
        if let issuedTokenType {
            out += Array(#","issued_token_type":"#.utf8)
            LineLogHandler.appendJSONString(issuedTokenType, to: &out)
        }
        out += Array(#","scope":"#.utf8)
        LineLogHandler.appendJSONString(issued.claims.scope, to: &out)
        out += Array(#","token_type":"Bearer"}"#.utf8)
        return out
    }
}
