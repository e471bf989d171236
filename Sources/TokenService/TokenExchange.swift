import AccessTokens
import Foundation
import ModelSecKeys
import NIOPosix

extension TokenEndpoint {
    /// The parameters of RFC 8693 §2.1 this service does not act on; each is
    /// refused rather than ignored.
    static let unsupportedExchangeParameters = ["actor_token", "actor_token_type"]

    /// An RFC 8693 token exchange: a workload's identity token (the subject
    /// token) for an access token, as the trust policy allows
    /// (docs/token-service.md, "Token exchange").
    ///
    /// Client authentication is optional: a request that presents a client
    /// credential is refused unless it is valid (`invalid_client`), but the
    /// grant depends on the subject token alone; a bare `client_id` (a public
    /// client's, RFC 6749 §2.3) is only recorded in the audit trail.
    func exchange(authorization: String?, form: FormBody, now: Date, claimed: inout String,
                  gate: (String) throws -> Void, requestID: String = "") async throws -> Success {
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let presentsCredential = authorization != nil || form["client_secret"] != nil
            || form["client_assertion"] != nil || form["client_assertion_type"] != nil
        if presentsCredential {
            _ = try await authenticate(authorization: authorization, form: form, now: seconds, claimed: &claimed, gate: gate)
        } else if let id = form["client_id"] {
            claimed = RegisteredClient.isValidID(id) ? id : ""
        }
        for name in Self.unsupportedExchangeParameters where form[name] != nil {
            throw OAuthError(.invalidRequest, "\(name) is not supported (no delegation: the token is issued to the subject)")
        }
        guard let subjectText = form["subject_token"] else { throw OAuthError(.invalidRequest, "subject_token is missing") }
        guard let type = form["subject_token_type"] else { throw OAuthError(.invalidRequest, "subject_token_type is missing") }
        guard SubjectToken.acceptedTypes.contains(where: { ExactString($0) == ExactString(type) }) else {
            throw OAuthError(.invalidRequest, "subject_token_type must be \(SubjectToken.acceptedTypes.joined(separator: " or "))")
        }
        if let requested = form["requested_token_type"], ExactString(requested) != ExactString(Self.accessTokenType) {
            throw OAuthError(.invalidRequest, "requested_token_type must be \(Self.accessTokenType) (the only type issued)")
        }
        if form["resource"] != nil {
            throw OAuthError(.invalidTarget, "resource is not supported; name one of the service's audiences with audience")
        }
        var audiences = config.audiences
        if let audience = form["audience"] {
            guard let known = config.audiences.first(where: { ExactString($0) == ExactString(audience) }) else {
                throw OAuthError(.invalidTarget, "the audience is not one the service issues tokens for")
            }
            audiences = [known]
        }
        let subject = try SubjectToken(parsing: subjectText)
        let issuerBytes = Array(subject.issuer.utf8)
        guard let source = config.issuerKeys[issuerBytes] else {
            throw SubjectToken.unverified
        }
        let keys: [IssuerKey]
        // A URL's keys may be downloaded here: the fetch suspends (SwiftNIO), holding no thread.
        do { keys = try await source.keys(for: subject.keyID) } catch {
            throw OAuthError(.temporarilyUnavailable, "the subject token's issuer keys could not be fetched; try again later")
        }
        try subject.verify(keys: keys, now: seconds)
        let candidates = config.trustRules.filter {
            Array($0.issuer.utf8) == issuerBytes && subject.hasAudience($0.audience) && subject.matches($0.claims)
        }
        guard let first = candidates.first else {
            throw SubjectToken.refuse("matches no trust rule (audience or claims)")
        }
        let rule: TrustRule
        let scopes: [ModelScope]
        if let requested = form["scope"] {
            scopes = try Self.parseScopes(requested)
            guard let allowing = candidates.first(where: { $0.allows(scopes) }) else {
                throw OAuthError(.invalidScope, "a requested scope is beyond what the matching trust rules grant")
            }
            rule = allowing
        } else {
            rule = first
            scopes = first.scopes
        }
        try limit(rule.name, now: now.timeIntervalSince1970)
        if rule.singleUse {
            guard let jti = subject.tokenID else { throw SubjectToken.refuse("has no jti (the trust rule accepts each token once)") }
            guard try await store.consumeAssertion(clientID: "subject-token " + subject.issuer, tokenID: jti,
                                             expiresAt: subject.expiresAt + SubjectToken.leeway, now: seconds) else {
                throw SubjectToken.refuse("was already used (the trust rule accepts each token once)")
            }
        }
        let lifetime = min(rule.maximumTTL ?? config.defaultTTL, config.maximumTTL)
        let issued = try await self.keys.current(now: now).issuer.issue(.init(subject: subject.subject, audiences: audiences, scopes: scopes,
                                            lifetime: lifetime, clientID: rule.name), now: now)
        try? await store.record(AuditRecord(time: seconds, event: "exchange", clientID: rule.name, subject: subject.subject,
                                      scopes: issued.claims.scope, tokenID: issued.claims.tokenID, outcome: "ok",
                                      requestID: requestID))
        return Success(body: try Self.responseBody(issued, lifetime: lifetime, issuedTokenType: Self.accessTokenType),
                       issued: issued)
    }
}
