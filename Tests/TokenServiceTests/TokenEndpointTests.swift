import AccessTokens
import Foundation
import ModelSecCrypto
import TokenService
import XCTest

/// `POST /token` without HTTP: each bad input gets its exact RFC 6749 §5.2
/// error; good requests get tokens that `AccessTokenVerifier` accepts.
class TokenEndpointTests: XCTestCase {
    /// The state store's engine (``TokenEndpointTestsPostgreSQL`` runs every test again on PostgreSQL).
    class var engine: TokenServiceFixture.Engine { .sqlite }

    private var fixture: TokenServiceFixture!
    private var endpoint: TokenEndpoint!
    private var store: (any TokenServiceStore)!
    private var config: ServiceConfig!
    private let form = "application/x-www-form-urlencoded"

    override func setUpWithError() throws {
        fixture = try TokenServiceFixture(engine: Self.engine)
        (config, store, endpoint) = try fixture.makeEndpoint()
    }

    override func tearDownWithError() throws {
        if let fixture { try? FileManager.default.removeItem(at: fixture.directory) }
    }

    private func post(_ body: String, authorization: String? = nil, contentType: String? = "application/x-www-form-urlencoded",
                      now: Date = Date()) throws -> TokenEndpoint.Success {
        try endpoint.handle(authorization: authorization, contentType: contentType, body: Array(body.utf8), now: now)
    }

    private func assertRefused(_ code: OAuthError.Code, _ body: String, authorization: String? = nil,
                               contentType: String? = "application/x-www-form-urlencoded",
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try post(body, authorization: authorization, contentType: contentType), file: file, line: line) { error in
            guard let refusal = error as? OAuthError else { return XCTFail("not an OAuthError: \(error)", file: file, line: line) }
            XCTAssertEqual(refusal.code, code, refusal.description, file: file, line: line)
            XCTAssertEqual(refusal.status, code == .invalidClient ? 401 : 400, file: file, line: line)
            if code == .invalidClient { XCTAssertEqual(refusal.wwwAuthenticate, "Basic realm=\"modelsec\"", file: file, line: line) }
        }
    }

    private func verify(_ token: String) throws -> VerifiedAccessToken {
        let verifier = try AccessTokenVerifier(keys: [VerificationKey(fixture.issuerKey.publicKey)],
                                               issuer: TokenServiceFixture.issuerURL, audience: TokenServiceFixture.audience)
        return try verifier.verify(token)
    }

    private func assertion(_ overrides: [String: Any?] = [:], header: String = #"{"alg":"ES256","typ":"JWT"}"#) throws -> String {
        let text = try fixture.assertion(overrides, header: header)
        return "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" + text
    }

    // MARK: client_secret_basic and client_secret_post

    func testClientSecretBasicIssuesAVerifiableToken() throws {
        let success = try post("grant_type=client_credentials&scope=model%3Adeploy%3Aresnet%402.1.0",
                               authorization: TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret))
        let verified = try verify(success.issued.token)
        XCTAssertEqual(verified.claims.subject, "basic-client")
        XCTAssertEqual(verified.claims.clientID, "basic-client")
        XCTAssertEqual(verified.claims.scope, "model:deploy:resnet@2.1.0")
        XCTAssertEqual(verified.claims.expiresAt - verified.claims.issuedAt, 600, "the service's default_ttl")
        let body = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(success.body)) as? [String: Any])
        XCTAssertEqual(body["token_type"] as? String, "Bearer")
        XCTAssertEqual(body["expires_in"] as? Int, 600)
        XCTAssertEqual(body["access_token"] as? String, success.issued.token)
    }

    func testClientSecretPostWithoutScopeGetsTheClientsScopes() throws {
        let success = try post("grant_type=client_credentials&client_id=post-client&client_secret=\(TokenServiceFixture.postSecret)")
        XCTAssertEqual(try verify(success.issued.token).claims.scope, "model:pull:resnet@*")
    }

    func testWrongSecretAndUnknownClientAreInvalidClient() {
        assertRefused(.invalidClient, "grant_type=client_credentials",
                      authorization: TokenServiceFixture.basic("basic-client", "wrong"))
        assertRefused(.invalidClient, "grant_type=client_credentials",
                      authorization: TokenServiceFixture.basic("nobody", TokenServiceFixture.basicSecret))
        assertRefused(.invalidClient, "grant_type=client_credentials&client_id=post-client&client_secret=wrong")
        assertRefused(.invalidClient, "grant_type=client_credentials", authorization: "Bearer abc")
        assertRefused(.invalidClient, "grant_type=client_credentials", authorization: "Basic !!!")
        assertRefused(.invalidClient, "grant_type=client_credentials")
    }

    func testClientUsingAnotherMethodThanRegisteredIsInvalidClient() {
        assertRefused(.invalidClient, "grant_type=client_credentials&client_id=basic-client&client_secret=\(TokenServiceFixture.basicSecret)")
        assertRefused(.invalidClient, "grant_type=client_credentials",
                      authorization: TokenServiceFixture.basic("post-client", TokenServiceFixture.postSecret))
    }

    func testTwoAuthenticationMethodsAreInvalidRequest() {
        assertRefused(.invalidRequest, "grant_type=client_credentials&client_id=post-client&client_secret=\(TokenServiceFixture.postSecret)",
                      authorization: TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret))
    }

    func testScopeEscalationIsInvalidScope() {
        let auth = TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret)
        assertRefused(.invalidScope, "grant_type=client_credentials&scope=model%3Adeploy%3Aresnet%402.2.0", authorization: auth)
        assertRefused(.invalidScope, "grant_type=client_credentials&scope=model%3Adeploy%3Aresnet%40*", authorization: auth)
        assertRefused(.invalidScope, "grant_type=client_credentials&scope=model%3Adeploy%3Aresnet%402.1.0++model%3Adeploy%3Aresnet%402.1.0",
                      authorization: auth)
        assertRefused(.invalidScope, "grant_type=client_credentials&scope=admin", authorization: auth)
    }

    func testGrantTypeErrors() {
        let auth = TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret)
        assertRefused(.invalidRequest, "scope=model%3Adeploy%3Aresnet%402.1.0", authorization: auth)
        assertRefused(.unsupportedGrantType, "grant_type=password&username=a&password=b", authorization: auth)
        assertRefused(.unsupportedGrantType, "grant_type=Client_Credentials", authorization: auth)
    }

    func testMalformedBodiesAndContentTypesAreInvalidRequest() {
        let auth = TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret)
        assertRefused(.invalidRequest, "grant_type=client_credentials&grant_type=client_credentials", authorization: auth)
        assertRefused(.invalidRequest, "grant_type=client_credentials&scope=%zz", authorization: auth)
        assertRefused(.invalidRequest, #"{"grant_type":"client_credentials"}"#, authorization: auth, contentType: "application/json")
        assertRefused(.invalidRequest, "grant_type=client_credentials", authorization: auth, contentType: nil)
        assertRefused(.invalidRequest, "grant_type=client_credentials", authorization: auth,
                      contentType: "application/x-www-form-urlencoded; charset=latin1")
        assertRefused(.invalidRequest, "grant_type=client_credentials&pad=" + String(repeating: "a", count: TokenEndpoint.maximumBodySize),
                      authorization: auth)
    }

    func testContentTypeWithUTF8CharsetIsAccepted() throws {
        _ = try post("grant_type=client_credentials", authorization: TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret),
                     contentType: "Application/X-WWW-Form-Urlencoded; charset=UTF-8")
    }

    // MARK: private_key_jwt

    func testPrivateKeyJWTIssuesAndCapsTheLifetime() throws {
        let success = try post(try assertion() + "&scope=model%3Apull%3Aanything%401")
        let claims = try verify(success.issued.token).claims
        XCTAssertEqual(claims.subject, "jwt-client")
        XCTAssertEqual(claims.scope, "model:pull:anything@1")
        XCTAssertEqual(claims.expiresAt - claims.issuedAt, 300, "the client's max_ttl")
    }

    func testReplayedAssertionIsInvalidClient() throws {
        let body = try assertion()
        _ = try post(body)
        assertRefused(.invalidClient, body)
        // An assertion whose request was refused after authentication (a scope
        // the client lacks) is used up too: it cannot be replayed with another scope.
        let refused = try assertion()
        assertRefused(.invalidScope, refused + "&scope=model%3Adeploy%3Aother%401.0")
        assertRefused(.invalidClient, refused)
    }

    func testExpiredOrLongLivedAssertionIsInvalidClient() throws {
        let now = Int64(Date().timeIntervalSince1970)
        assertRefused(.invalidClient, try assertion(["exp": now - 120]))
        assertRefused(.invalidClient, try assertion(["exp": now + 3600]))
        assertRefused(.invalidClient, try assertion(["exp": nil]))
        assertRefused(.invalidClient, try assertion(["exp": "\(now + 60)"]))
        assertRefused(.invalidClient, try assertion(["iat": now + 3600]))
    }

    func testAssertionForAnotherAudienceIsInvalidClient() throws {
        assertRefused(.invalidClient, try assertion(["aud": "https://other.example/token"]))
        assertRefused(.invalidClient, try assertion(["aud": TokenServiceFixture.issuerURL]))
        _ = try post(try assertion(["aud": ["https://other.example", TokenServiceFixture.issuerURL + "/token"]]))
    }

    func testAssertionIdentityAndHeaderRules() throws {
        assertRefused(.invalidClient, try assertion(["sub": "basic-client"]))
        assertRefused(.invalidClient, try assertion(["iss": "basic-client", "sub": "basic-client"]))
        assertRefused(.invalidClient, try assertion(["jti": nil]))
        assertRefused(.invalidClient, try assertion(header: #"{"alg":"EdDSA"}"#))
        assertRefused(.invalidClient, try assertion(header: #"{"alg":"ES256","crit":["x"]}"#))
        assertRefused(.invalidClient, try assertion(header: #"{"alg":"ES256","alg":"none"}"#))
        assertRefused(.invalidClient, try assertion() + "&client_id=basic-client")
    }

    func testAssertionSignedByAnotherKeyIsInvalidClient() throws {
        let other = try fixture.assertion([:], key: PrivateKey.generate(.p256))
        assertRefused(.invalidClient, "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" + other)
        let wrongType = try fixture.assertion()
        assertRefused(.invalidClient, "grant_type=client_credentials&client_assertion_type=jwt&client_assertion=" + wrongType)
    }

    // MARK: failure throttle

    func testBurstOfBadCredentialsMeetsSlowDownWhileOthersAreServed() throws {
        let basic = TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret)
        let wrong = TokenServiceFixture.basic("basic-client", "wrong")
        func attempt(_ authorization: String, from address: String) -> OAuthError? {
            do {
                _ = try endpoint.handle(authorization: authorization, contentType: form, body: Array("grant_type=client_credentials".utf8),
                                       address: address)
                return nil
            } catch { return error as? OAuthError }
        }
        for _ in 0..<10 { XCTAssertEqual(attempt(wrong, from: "192.0.2.1")?.code, .invalidClient) }
        let throttled = try XCTUnwrap(attempt(wrong, from: "192.0.2.1"))
        XCTAssertEqual(throttled.code, .slowDown)
        XCTAssertEqual(throttled.status, 429)
        XCTAssertGreaterThanOrEqual(throttled.retryAfter ?? 0, 1)
        // The client id is throttled from any address, even with the right secret...
        XCTAssertEqual(attempt(basic, from: "192.0.2.99")?.code, .slowDown)
        // ...and the address for any client; other clients elsewhere are served.
        XCTAssertEqual(attempt("Basic " + Data("post-client:x".utf8).base64EncodedString(), from: "192.0.2.1")?.code, .slowDown)
        XCTAssertNil(try? post("grant_type=client_credentials&client_id=post-client&client_secret=wrong"), "still refused, not throttled")
        _ = try post("grant_type=client_credentials&client_id=post-client&client_secret=\(TokenServiceFixture.postSecret)")
    }

    func testThrottleRefillsAndStaysBounded() {
        let throttle = FailureThrottle(policy: .init(burst: 2, perSecond: 1))
        throttle.recordFailure("k", now: 100)
        XCTAssertNil(throttle.retryAfter("k", now: 100))
        throttle.recordFailure("k", now: 100)
        XCTAssertEqual(throttle.retryAfter("k", now: 100), 1)
        XCTAssertNil(throttle.retryAfter("k", now: 101))
        XCTAssertNil(throttle.retryAfter("other", now: 100))
        let strict = FailureThrottle(policy: .init(burst: 1, perSecond: 0.001))
        strict.recordFailure("flood-0", now: 200)
        XCTAssertNotNil(strict.retryAfter("flood-0", now: 200))
        for i in 1...FailureThrottle.maximumKeys { strict.recordFailure("flood-\(i)", now: 200) }
        XCTAssertNil(strict.retryAfter("flood-0", now: 200), "a flood of keys empties the table instead of growing it")
    }

    // MARK: audit

    func testIssuesAndRefusalsAreAudited() throws {
        let success = try post("grant_type=client_credentials",
                               authorization: TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret))
        assertRefused(.invalidClient, "grant_type=client_credentials", authorization: TokenServiceFixture.basic("basic-client", "x"))
        let records = try store.auditRecords(limit: 10)
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records.first?.event, "issue")
        XCTAssertEqual(records.first?.tokenID, success.issued.claims.tokenID)
        XCTAssertEqual(records.last?.event, "refuse")
        XCTAssertEqual(records.last?.clientID, "basic-client")
        XCTAssertEqual(records.last?.outcome, "invalid_client")
    }
}

/// ``TokenEndpointTests`` with the state in PostgreSQL (the shared test cluster).
final class TokenEndpointTestsPostgreSQL: TokenEndpointTests {
    override class var engine: TokenServiceFixture.Engine { .postgres }

    // Linux XCTest discovers only the methods a class declares: each test again, on PostgreSQL.
    override func testClientSecretBasicIssuesAVerifiableToken() throws { try super.testClientSecretBasicIssuesAVerifiableToken() }
    override func testClientSecretPostWithoutScopeGetsTheClientsScopes() throws { try super.testClientSecretPostWithoutScopeGetsTheClientsScopes() }
    override func testWrongSecretAndUnknownClientAreInvalidClient() { super.testWrongSecretAndUnknownClientAreInvalidClient() }
    override func testClientUsingAnotherMethodThanRegisteredIsInvalidClient() { super.testClientUsingAnotherMethodThanRegisteredIsInvalidClient() }
    override func testTwoAuthenticationMethodsAreInvalidRequest() { super.testTwoAuthenticationMethodsAreInvalidRequest() }
    override func testScopeEscalationIsInvalidScope() { super.testScopeEscalationIsInvalidScope() }
    override func testGrantTypeErrors() { super.testGrantTypeErrors() }
    override func testMalformedBodiesAndContentTypesAreInvalidRequest() { super.testMalformedBodiesAndContentTypesAreInvalidRequest() }
    override func testContentTypeWithUTF8CharsetIsAccepted() throws { try super.testContentTypeWithUTF8CharsetIsAccepted() }
    override func testPrivateKeyJWTIssuesAndCapsTheLifetime() throws { try super.testPrivateKeyJWTIssuesAndCapsTheLifetime() }
    override func testReplayedAssertionIsInvalidClient() throws { try super.testReplayedAssertionIsInvalidClient() }
    override func testExpiredOrLongLivedAssertionIsInvalidClient() throws { try super.testExpiredOrLongLivedAssertionIsInvalidClient() }
    override func testAssertionForAnotherAudienceIsInvalidClient() throws { try super.testAssertionForAnotherAudienceIsInvalidClient() }
    override func testAssertionIdentityAndHeaderRules() throws { try super.testAssertionIdentityAndHeaderRules() }
    override func testAssertionSignedByAnotherKeyIsInvalidClient() throws { try super.testAssertionSignedByAnotherKeyIsInvalidClient() }
    override func testBurstOfBadCredentialsMeetsSlowDownWhileOthersAreServed() throws { try super.testBurstOfBadCredentialsMeetsSlowDownWhileOthersAreServed() }
    override func testThrottleRefillsAndStaysBounded() { super.testThrottleRefillsAndStaysBounded() }
    override func testIssuesAndRefusalsAreAudited() throws { try super.testIssuesAndRefusalsAreAudited() }
}
