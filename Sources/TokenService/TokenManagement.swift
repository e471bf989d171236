import AccessTokens
import Foundation
import ModelSecKeys

/// `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662) without the
/// HTTP server around them. Both take the same form bodies and client
/// authentication as `POST /token` (a registered client is required; failures
/// feed the same throttle) and a `token` parameter: an access token this
/// service issued, checked with its own key, `issuer` and audiences.
public struct TokenManagement: Sendable {
    let endpoint: TokenEndpoint
    /// The keys tokens are checked with; nil: the keys `endpoint` publishes.
    let fixedKeys: [VerificationKey]?

    /// Management for the tokens `endpoint` issues, which `key` verifies.
    public init(endpoint: TokenEndpoint, key: VerificationKey) throws {
        self.endpoint = endpoint
        fixedKeys = [key]
    }

    /// Management for the tokens `endpoint` issues, verified with every key
    /// it publishes (current, next, retired-but-unexpired).
    public init(endpoint: TokenEndpoint) {
        self.endpoint = endpoint
        fixedKeys = nil
    }

    /// The access token `text` if it is one of ours, unexpired, whatever its
    /// revocation state; nil otherwise. One verifier per configured audience
    /// (an issued token carries one or all of them).
    func ours(_ text: String, now: Date) async -> VerifiedAccessToken? {
        var keys = fixedKeys ?? []
        if fixedKeys == nil { keys = await endpoint.keys.current(now: now).keys }
        for audience in endpoint.config.audiences {
            guard let verifier = try? AccessTokenVerifier(keys: keys, issuer: endpoint.config.issuer, audience: audience,
                                                          leeway: TokenDuration(seconds: 0)) else { return nil }
            do { return try verifier.verify(text, now: now) } catch TokenRejection.wrongAudience { continue } catch { return nil }
        }
        return nil
    }

    /// RFC 7009 §2: revokes `token` if it is a valid token issued to the
    /// authenticated client. A token that is not valid (malformed, expired,
    /// not ours) is answered with success and nothing is done (§2.2); a valid
    /// token of another client is refused with `unauthorized_client`.
    /// Returns the (empty) answer body.
    public func revoke(authorization: String?, contentType: String?, body: [UInt8], address: String? = nil,
                       now: Date = Date(), note: RequestNote? = nil) async throws -> [UInt8] {
        try await endpoint.authenticated(authorization: authorization, contentType: contentType, body: body,
                                         address: address, now: now, note: note) { form, client, seconds in
            guard let text = form["token"] else { throw OAuthError(.invalidRequest, "token is missing") }
            guard let token = await ours(text, now: now) else { return ([], nil) }
            guard ExactString(token.claims.clientID) == ExactString(client.id) else {
                throw OAuthError(.unauthorizedClient, "the token was issued to another client")
            }
            try await endpoint.store.revoke(tokenID: token.claims.tokenID, clientID: client.id, expiresAt: token.claims.expiresAt,
                                      now: seconds)
            return ([], AuditRecord(time: seconds, event: "revoke", clientID: client.id, subject: token.claims.subject,
                                    scopes: token.claims.scope, tokenID: token.claims.tokenID, outcome: "ok"))
        }
    }

    /// RFC 7662 §2: `{"active": false}` for a token that is malformed, not
    /// ours, expired, not yet valid or revoked; otherwise `active` with the
    /// token's `scope`, `client_id`, `sub`, `aud`, `iss`, `exp`, `iat`,
    /// `nbf` (if any), `jti` and `token_type` `Bearer`. Any authenticated
    /// client may introspect any token (a bearer token's claims are readable
    /// by whoever holds it; what this adds is whether it is still active).
    public func introspect(authorization: String?, contentType: String?, body: [UInt8], address: String? = nil,
                           now: Date = Date(), note: RequestNote? = nil) async throws -> [UInt8] {
        try await endpoint.authenticated(authorization: authorization, contentType: contentType, body: body,
                                         address: address, now: now, note: note) { form, client, seconds in
            guard let text = form["token"] else { throw OAuthError(.invalidRequest, "token is missing") }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let found = await ours(text, now: now)
            // The store is asked at every introspection (no cache): a
            // revocation through any replica sharing it counts at once.
            var revoked = false
            if let found { revoked = try await endpoint.store.isRevoked(tokenID: found.claims.tokenID) }
            guard let token = found, !revoked else {
                return (Array(#"{"active":false}"#.utf8),
                        AuditRecord(time: seconds, event: "introspect", clientID: client.id, subject: "", scopes: "", tokenID: "",
                                    outcome: "inactive"))
            }
            struct Active: Encodable {
                let active = true
                let scope, client_id, sub, iss, jti: String
                let aud: [String]
                let exp, iat: Int64
                let nbf: Int64?
                let token_type = "Bearer"
            }
            let c = token.claims
            let answer = Active(scope: c.scope, client_id: c.clientID, sub: c.subject, iss: c.issuer, jti: c.tokenID,
                                aud: c.audience, exp: c.expiresAt, iat: c.issuedAt, nbf: c.notBefore)
            return (Array(try encoder.encode(answer)),
                    AuditRecord(time: seconds, event: "introspect", clientID: client.id, subject: c.subject, scopes: c.scope,
                                tokenID: c.tokenID, outcome: "active"))
        }
    }
}

extension TokenEndpoint {
    /// The common frame of the client-authenticated endpoints: the address
    /// throttle, content type, size and form checks, client authentication
    /// (required), then `operation`, which returns the answer body and the
    /// audit record to keep. Refusals are audited as `refuse` and
    /// `invalid_client` ones feed the failure throttle, as for `/token`;
    /// other errors (the store failing) propagate (HTTP 500).
    func authenticated(authorization: String?, contentType: String?, body: [UInt8], address: String?,
                       now: Date, note: RequestNote?,
                       _ operation: (FormBody, RegisteredClient, Int64) async throws -> ([UInt8], AuditRecord?)) async throws -> [UInt8] {
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let clock = now.timeIntervalSince1970
        var claimedClient = ""
        do {
            let form = try checkedForm(contentType: contentType, body: body, address: address, clock: clock)
            let client = try await authenticate(authorization: authorization, form: form, now: seconds, claimed: &claimedClient,
                                          gate: gate(now: clock))
            try limit(client.id, now: clock)
            note?.clientID = client.id
            let (answer, record) = try await operation(form, client, seconds)
            if var record {
                record.requestID = note?.requestID ?? ""
                try? await store.record(record)
            }
            return answer
        } catch let refusal as OAuthError {
            await recordRefusal(refusal, claimed: claimedClient, address: address, clock: clock, seconds: seconds, note: note)
            throw refusal
        }
    }
}
