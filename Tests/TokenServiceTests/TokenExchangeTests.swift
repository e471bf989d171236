import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import TestSupport
import TokenService
import XCTest

/// A workload identity issuer made in the test: a P-256 key published in a
/// JWK Set file, signing Kubernetes-shaped service-account tokens (ES256, as
/// a cluster whose service-account key is EC signs them; RS256 is covered by
/// WorkloadRSATests).
struct WorkloadIssuer {
    static let issuer = "https://kubernetes.default.svc.cluster.local"
    static let audience = "https://tokens.example"
    static let keyID = "k8s-sa-key-1"

    let key = ECDSA.PrivateKey(curve: .p256)

    /// The JWK Set document publishing the key.
    var jwks: String {
        get throws { try JSONWebKeySet.document(for: [VerificationKey(.ecdsa(key.publicKey), keyID: Self.keyID)]) }
    }

    /// A service-account token for `namespace`/`name`, with `overrides`
    /// replacing top-level claims (a nil value drops the claim).
    func token(namespace: String = "prod", name: String = "deployer", overrides: [String: Any?] = [:],
               header: String = #"{"alg":"ES256","kid":"k8s-sa-key-1"}"#, signer: ECDSA.PrivateKey? = nil,
               now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> String {
        var claims: [String: Any] = [
            "iss": Self.issuer, "aud": [Self.audience], "sub": "system:serviceaccount:\(namespace):\(name)",
            "exp": now + 600, "iat": now, "nbf": now, "jti": UUID().uuidString,
            "kubernetes.io": ["namespace": namespace, "serviceaccount": ["name": name, "uid": UUID().uuidString],
                              "pod": ["name": "deploy-gate-abc", "uid": UUID().uuidString]],
        ]
        for (claim, value) in overrides { claims[claim] = value }
        let payload = try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])
        return try sign(header: header, payload: Array(payload), signer: signer)
    }

    func sign(header: String, payload: [UInt8], signer: ECDSA.PrivateKey? = nil) throws -> String {
        try CompactJWS.sign(header: Array(header.utf8), payload: payload, with: SigningPrivateKey.ecdsa(signer ?? key))
    }

    /// The trust policy the tests use: the Kubernetes rule, a single-use rule
    /// for another namespace, and a prefix-glob rule.
    static let trustYAML = """
        trust:
          - name: k8s-prod-deployer
            issuer: "\(issuer)"
            jwks_file: k8s-jwks.json
            audience: "\(audience)"
            claims:
              kubernetes.io.namespace: prod
              kubernetes.io.serviceaccount.name: [deployer, deployer-canary]
            scopes: ["model:deploy:resnet@*"]
            max_ttl: 2m
          - name: k8s-batch
            issuer: "\(issuer)"
            jwks_file: k8s-jwks.json
            audience: "\(audience)"
            claims:
              sub: "system:serviceaccount:batch:*"
            scopes: ["model:pull:*@*"]
            single_use: true

        """
}

/// RFC 8693 token exchange at `POST /token`, without HTTP: a workload's
/// identity token for an access token, as the trust policy allows; every
/// refusal with its exact RFC error.
class TokenExchangeTests: XCTestCase {
    /// The state store's engine (``TokenExchangeTestsPostgreSQL`` runs every test again on PostgreSQL).
    class var engine: TokenServiceFixture.Engine { .sqlite }

    private var fixture: TokenServiceFixture!
    private var endpoint: TokenEndpoint!
    private var store: (any TokenServiceStore)!
    private var config: ServiceConfig!
    private let workload = WorkloadIssuer()
    private let form = "application/x-www-form-urlencoded"
    private let grant = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
    private let jwtType = "subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
    /// The one description of a subject token refused before its signature is known good.
    static let unverified = "cannot be verified with the keys of a trusted issuer"

    override func setUpWithError() throws {
        fixture = try TokenServiceFixture(files: ["k8s-jwks.json": try workload.jwks], extraYAML: WorkloadIssuer.trustYAML, engine: Self.engine)
        (config, store, endpoint) = try fixture.makeEndpoint()
    }

    override func tearDownWithError() throws {
        if let fixture { try? FileManager.default.removeItem(at: fixture.directory) }
    }

    private func body(_ subjectToken: String, scope: String? = "model:deploy:resnet@2.1.0", extra: String = "") -> String {
        var text = grant + "&" + jwtType + "&subject_token=" + subjectToken
        if let scope { text += "&scope=" + scope.replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: "@", with: "%40").replacingOccurrences(of: " ", with: "+") }
        return text + extra
    }

    private func post(_ body: String, authorization: String? = nil) throws -> TokenEndpoint.Success {
        try endpoint.handle(authorization: authorization, contentType: form, body: Array(body.utf8))
    }

    /// `because`: a part of the description the refusal must have (so it
    /// is refused for the reason the test is about, not an earlier one).
    private func assertRefused(_ code: OAuthError.Code, _ body: String, authorization: String? = nil, _ message: String = "",
                               because: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try post(body, authorization: authorization), message, file: file, line: line) { error in
            guard let refusal = error as? OAuthError else { return XCTFail("not an OAuthError: \(error)", file: file, line: line) }
            XCTAssertEqual(refusal.code, code, "\(message): \(refusal.description)", file: file, line: line)
            if let because {
                XCTAssertTrue(refusal.description.contains(because), "\(message): refused for another reason: \(refusal.description)",
                              file: file, line: line)
            }
            XCTAssertEqual(refusal.status, code == .invalidClient ? 401 : 400, file: file, line: line)
        }
    }

    private func verify(_ token: String) throws -> VerifiedAccessToken {
        let verifier = try AccessTokenVerifier(keys: [VerificationKey(fixture.issuerKey.publicKey)],
                                               issuer: TokenServiceFixture.issuerURL, audience: TokenServiceFixture.audience)
        return try verifier.verify(token)
    }

    // MARK: success

    func testAKubernetesServiceAccountTokenIsExchangedForTheRulesScopes() throws {
        let success = try post(body(try workload.token()))
        let verified = try verify(success.issued.token)
        XCTAssertEqual(verified.claims.subject, "system:serviceaccount:prod:deployer", "sub identifies the workload")
        XCTAssertEqual(verified.claims.clientID, "k8s-prod-deployer", "client_id is the trust rule")
        XCTAssertEqual(verified.claims.scope, "model:deploy:resnet@2.1.0")
        XCTAssertEqual(verified.claims.expiresAt - verified.claims.issuedAt, 120, "the rule's max_ttl")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(success.body)) as? [String: Any])
        XCTAssertEqual(json["issued_token_type"] as? String, "urn:ietf:params:oauth:token-type:access_token")
        XCTAssertEqual(json["token_type"] as? String, "Bearer")
        XCTAssertEqual(json["expires_in"] as? Int, 120)
        let claims = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(CompactJWS(parsing: success.issued.token).payload)) as? [String: Any])
        XCTAssertNil(claims["act"], "no actor token, no delegation: no act claim")
        let audit = try store.auditRecords(limit: 10)
        XCTAssertEqual(audit.last?.event, "exchange")
        XCTAssertEqual(audit.last?.clientID, "k8s-prod-deployer")
        XCTAssertEqual(audit.last?.subject, "system:serviceaccount:prod:deployer")

        // The other listed service account, the id_token type, and no scope (all of the rule's).
        let canary = try post(grant + "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token&subject_token="
                              + (try workload.token(name: "deployer-canary")))
        XCTAssertEqual(try verify(canary.issued.token).claims.scope, "model:deploy:resnet@*")
    }

    func testAudienceParameterNarrowsTheTokenAndUnknownTargetsAreInvalidTarget() throws {
        let narrowed = try post(body(try workload.token(), extra: "&audience=deploy-gateway"))
        XCTAssertEqual(try verify(narrowed.issued.token).claims.audience, ["deploy-gateway"])
        assertRefused(.invalidTarget, body(try workload.token(), extra: "&audience=https%3A%2F%2Fother.example"), "unknown audience")
        assertRefused(.invalidTarget, body(try workload.token(), extra: "&resource=https%3A%2F%2Fapi.example"), "resource")
    }

    func testAPrefixGlobMatchesAndASingleUseRuleRefusesAReplay() throws {
        let token = try workload.token(namespace: "batch", name: "trainer")
        let first = try post(body(token, scope: "model:pull:resnet@1"))
        XCTAssertEqual(try verify(first.issued.token).claims.clientID, "k8s-batch")
        XCTAssertEqual(try verify(first.issued.token).claims.expiresAt - (try verify(first.issued.token).claims.issuedAt), 600,
                       "no max_ttl on the rule: the service's default_ttl")
        assertRefused(.invalidRequest, body(token, scope: "model:pull:resnet@1"), "a single-use token replayed", because: "already used")
        assertRefused(.invalidRequest, body(try workload.token(namespace: "batch", name: "trainer", overrides: ["jti": nil]),
                                            scope: "model:pull:resnet@1"), "single use needs a jti", because: "has no jti")
        // The multi-use rule accepts the same token again (a pod restart reuses its projected token).
        let again = try workload.token()
        XCTAssertNoThrow(try post(body(again)))
        XCTAssertNoThrow(try post(body(again)))
    }

    func testAnOptionalClientMustAuthenticateIfItTries() throws {
        XCTAssertNoThrow(try post(body(try workload.token()),
                                  authorization: TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret)))
        assertRefused(.invalidClient, body(try workload.token()), authorization: TokenServiceFixture.basic("basic-client", "wrong"),
                      "a wrong secret is refused even though the exchange needs none")
        XCTAssertNoThrow(try post(body(try workload.token(), extra: "&client_id=some-public-client")), "a bare client_id is allowed")
    }

    // MARK: refusals of the subject token (RFC 8693 §2.2.2: invalid_request)

    func testUntrustedIssuerWrongAudienceAndClaimMismatchAreRefused() throws {
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["iss": "https://evil.example"])), "untrusted issuer", because: Self.unverified)
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["aud": ["https://other.example"]])), "wrong audience", because: "matches no trust rule")
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["aud": nil])), "no audience")
        assertRefused(.invalidRequest, body(try workload.token(namespace: "staging")), "another namespace", because: "matches no trust rule")
        assertRefused(.invalidRequest, body(try workload.token(name: "intruder")), "another service account", because: "matches no trust rule")
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["kubernetes.io": nil])), "no kubernetes.io claim", because: "matches no trust rule")
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["kubernetes.io": ["namespace": 7, "serviceaccount": ["name": "deployer"]]])),
                      "a number where a string claim is matched", because: "matches no trust rule")
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["kubernetes.io.namespace": "prod",
                                                                           "kubernetes.io": ["namespace": "prod", "serviceaccount": ["name": "deployer"]]])),
                      "an ambiguous path (two members could be kubernetes.io.namespace)", because: "matches no trust rule")
        assertRefused(.invalidRequest, body(try workload.token(namespace: "PROD")), "claims compare as exact bytes", because: "matches no trust rule")
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["sub": "system:serviceaccount:prod:deployer\n"])),
                      "a control character in sub", because: "without control characters")
        for hidden in ["\u{202E}", "\u{2028}", "\u{85}", "\u{2066}"] {
            assertRefused(.invalidRequest, body(try workload.token(overrides: ["sub": "system:serviceaccount:prod:deployer" + hidden])),
                          "a bidi, separator or C1 character in sub", because: "without control characters")
        }
        assertRefused(.invalidRequest, body(try workload.token(namespace: "batch-x", name: "y"), scope: "model:pull:a@1"),
                      "the batch rule's glob is on sub, which this token's namespace prefix does not reach")
    }

    /// Before the signature is known good, every refusal reads the same: a
    /// token from an issuer no rule names, one naming a kid the trusted
    /// issuer does not publish, one with another alg, one with a bad
    /// signature. A prober who cannot sign as a trusted issuer learns
    /// neither which issuers are trusted nor their keys' kids or algorithms.
    func testRefusalsBeforeTheSignatureDoNotRevealTheTrustPolicy() throws {
        let other = ECDSA.PrivateKey(curve: .p256)
        let probes: [(String, String)] = [
            ("an untrusted issuer", try workload.token(overrides: ["iss": "https://evil.example"])),
            ("an untrusted issuer, the trusted kid", try workload.token(overrides: ["iss": "https://evil.example"], signer: other)),
            ("the trusted issuer, an unknown kid", try workload.token(header: #"{"alg":"ES256","kid":"guess"}"#, signer: other)),
            ("the trusted issuer, another alg", try workload.token(header: #"{"alg":"EdDSA","kid":"k8s-sa-key-1"}"#, signer: other)),
            ("the trusted issuer, a bad signature", try workload.token(signer: other)),
        ]
        var descriptions: [String: String] = [:]
        for (label, token) in probes {
            XCTAssertThrowsError(try post(body(token)), label) { error in
                let refusal = error as? OAuthError
                XCTAssertEqual(refusal?.code, .invalidRequest, label)
                XCTAssertEqual(refusal?.status, 400, label)
                descriptions[label] = refusal?.description ?? "\(error)"
            }
        }
        XCTAssertEqual(Set(descriptions.values).count, 1, "one description for all: \(descriptions)")
        let text = descriptions.values.first ?? ""
        XCTAssertTrue(text.contains(Self.unverified), text)
        for secret in [WorkloadIssuer.issuer, "kubernetes", "k8s-sa-key-1", "ES256", "EdDSA"] {
            XCTAssertFalse(text.contains(secret), "\(secret) in \(text)")
        }
    }

    func testExpiredFutureAndBadlySignedTokensAreRefused() throws {
        let now = Int64(Date().timeIntervalSince1970)
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["exp": now - 60])), "expired beyond the skew", because: "has expired")
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["exp": nil])), "no exp")
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["nbf": now + 600])), "not valid yet", because: "not valid yet")
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["iat": now + 600])), "issued in the future", because: "issued in the future")
        assertRefused(.invalidRequest, body(try workload.token(overrides: ["exp": Double(now) + 600.5])), "a fractional exp", because: "not an integer NumericDate")
        XCTAssertNoThrow(try post(body(try workload.token(overrides: ["exp": now - 10]))), "within the 30 s skew")
        assertRefused(.invalidRequest, body(try workload.token(signer: ECDSA.PrivateKey(curve: .p256))), "signed by another key", because: Self.unverified)
        assertRefused(.invalidRequest, body(try workload.token(header: #"{"alg":"ES256","kid":"other-kid"}"#)), "unknown kid", because: Self.unverified)
        assertRefused(.invalidRequest, body(try workload.token(header: #"{"alg":"ES256"}"#)), "no kid")
        assertRefused(.invalidRequest, body(try workload.token(header: #"{"alg":"ES256","kid":"k8s-sa-key-1","crit":["exp"]}"#)), "crit")
        assertRefused(.invalidRequest, body(try workload.token(header: #"{"alg":"ES256","kid":"k8s-sa-key-1","kid":"x"}"#)),
                      "a repeated header member")
        let token = try workload.token()
        var tampered = Array(token.utf8)
        tampered[tampered.count - 5] = tampered[tampered.count - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        assertRefused(.invalidRequest, body(String(decoding: tampered, as: UTF8.self)), "a changed signature", because: Self.unverified)
    }

    func testAlgNoneAndHMACConfusionAreRefused() throws {
        let parts = try workload.token().split(separator: ".")
        let noneHeader = Base64URL.encode(Array(#"{"alg":"none","kid":"k8s-sa-key-1"}"#.utf8))
        assertRefused(.invalidRequest, body(noneHeader + "." + parts[1] + "."), "alg none, empty signature", because: Self.unverified)
        // HS256 keyed with the published JWK Set bytes (the classic confusion).
        let hsHeader = Base64URL.encode(Array(#"{"alg":"HS256","kid":"k8s-sa-key-1"}"#.utf8))
        let input = hsHeader + "." + parts[1]
        let mac = HMACSHA256.authenticationCode(for: Array(input.utf8), using: SecretKey(copying: Array(try workload.jwks.utf8)))
        assertRefused(.invalidRequest, body(input + "." + Base64URL.encode(mac)), "HS256 with the public key as secret", because: Self.unverified)
        assertRefused(.invalidRequest, body(try workload.token(header: #"{"alg":"ES384","kid":"k8s-sa-key-1"}"#)),
                      "an alg other than the key's", because: Self.unverified)
    }

    func testScopeEscalationIsInvalidScope() throws {
        assertRefused(.invalidScope, body(try workload.token(), scope: "model:pull:resnet@2.1.0"), "an action the rule lacks")
        assertRefused(.invalidScope, body(try workload.token(), scope: "model:deploy:*@*"), "every model")
        assertRefused(.invalidScope, body(try workload.token(), scope: "model:deploy:resnet@1 model:sign:resnet@1"), "one scope too many")
        assertRefused(.invalidScope, body(try workload.token(), scope: "not-a-scope"), "malformed")
    }

    func testOversizedMalformedAndUnsupportedRequestsAreInvalidRequest() throws {
        let padded = try workload.token(overrides: ["padding": String(repeating: "a", count: 9000)])
        XCTAssertGreaterThan(padded.utf8.count, SubjectToken.maximumSize)
        assertRefused(.invalidRequest, body(padded), "larger than 8 KiB", because: "larger than 8192 bytes")
        assertRefused(.invalidRequest, body("not.a.jwt"), "not a JWS")
        assertRefused(.invalidRequest, grant + "&" + jwtType, "no subject_token")
        assertRefused(.invalidRequest, grant + "&subject_token=" + (try workload.token()), "no subject_token_type")
        assertRefused(.invalidRequest, grant + "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&subject_token="
                      + (try workload.token()), "an unsupported subject_token_type")
        assertRefused(.invalidRequest, body(try workload.token(), extra: "&actor_token=x&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"),
                      "delegation")
        assertRefused(.invalidRequest, body(try workload.token(), extra: "&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Arefresh_token"),
                      "a refresh token")
        let duplicated = try workload.sign(header: #"{"alg":"ES256","kid":"k8s-sa-key-1"}"#, payload: Array("""
            {"iss":"\(WorkloadIssuer.issuer)","aud":"\(WorkloadIssuer.audience)","sub":"system:serviceaccount:prod:deployer",\
            "exp":\(Int64(Date().timeIntervalSince1970) + 600),"kubernetes.io":{"namespace":"prod","namespace":"staging",\
            "serviceaccount":{"name":"deployer"}}}
            """.utf8))
        assertRefused(.invalidRequest, body(duplicated), "a repeated member inside a matched object", because: "matches no trust rule")
        let unparsable = try workload.sign(header: #"{"alg":"ES256","kid":"k8s-sa-key-1"}"#, payload: Array("""
            {"iss":"\(WorkloadIssuer.issuer)","aud":"\(WorkloadIssuer.audience)","sub":"system:serviceaccount:prod:deployer",\
            "exp":\(Int64(Date().timeIntervalSince1970) + 600),"x":tru,"kubernetes.io":{"namespace":"prod",\
            "serviceaccount":{"name":"deployer"}}}
            """.utf8))
        assertRefused(.invalidRequest, body(unparsable), "claims that are not JSON throughout", because: "not a JSON object")
    }

    // MARK: configuration

    func testWithoutATrustPolicyTheGrantIsUnsupported() throws {
        XCTAssertEqual(config.trustRules.map(\.name), ["k8s-prod-deployer", "k8s-batch"])
        let plain = try TokenServiceFixture()
        defer { try? FileManager.default.removeItem(at: plain.directory) }
        let plainConfig = try ServiceConfig.load(plain.configPath)
        XCTAssertTrue(plainConfig.trustRules.isEmpty)
        guard case let .ed25519(key) = plain.issuerKey else { return XCTFail("ed25519") }
        let plainEndpoint = try TokenEndpoint(
            config: plainConfig, issuer: try AccessTokenIssuer(signingKey: SigningPrivateKey.ed25519(key), issuer: plainConfig.issuer),
            store: try SQLiteTokenStore(path: plainConfig.statePath))
        XCTAssertThrowsError(try plainEndpoint.handle(authorization: nil, contentType: form, body: Array(body(try workload.token()).utf8))) {
            XCTAssertEqual(($0 as? OAuthError)?.code, .unsupportedGrantType, "without a trust policy the grant is not offered")
        }
    }

    func testAStoredClientMayNotHaveATrustRulesName() throws {
        let refused = try TestSupport.modelsec(["serve", "client", "add", "k8s-prod-deployer", "--config", fixture.configPath,
                                                "--scope", "model:pull:*@*", "--json"])
        XCTAssertEqual(refused.status, 2, refused.stderrText)
        XCTAssertTrue(refused.stdoutText.contains("serve.client-exists"), refused.stdoutText)
        let cheap = Argon2id.Parameters(iterations: 1, memoryKiB: 64)
        try store.addClient(RegisteredClient(id: "k8s-batch", method: .clientSecretBasic,
                                             credential: .secret(try SecretHash(hashing: "x", parameters: cheap)),
                                             scopes: [try ModelScope(parsing: "model:pull:*@*")], maximumTTL: nil), now: 0)
        guard case let .ed25519(key) = fixture.issuerKey else { return XCTFail("ed25519") }
        XCTAssertThrowsError(try TokenEndpoint(config: config, issuer: try AccessTokenIssuer(signingKey: SigningPrivateKey.ed25519(key),
                                                                                             issuer: config.issuer), store: store)) {
            XCTAssertEqual($0 as? TokenServiceError, .clientExists(name: "k8s-batch"))
        }
    }

    func testTrustRulesThatWouldTrustTooMuchAreRefusedAtLoad() throws {
        func assertInvalid(_ rule: String, _ why: String, file: StaticString = #filePath, line: UInt = #line) throws {
            XCTAssertThrowsError(try TokenServiceFixture(files: ["k8s-jwks.json": try workload.jwks, "other.json": try workload.jwks],
                                                         extraYAML: "trust:\n" + rule), why, file: file, line: line) { error in
                XCTAssertEqual((error as? TokenServiceError)?.code, "serve.invalid-config", "\(why): \(error)", file: file, line: line)
            }
        }
        let head = """
              - name: r1
                issuer: "\(WorkloadIssuer.issuer)"
                jwks_file: k8s-jwks.json
                audience: a
                scopes: ["model:pull:*@*"]

            """
        try assertInvalid(head, "no claims")
        try assertInvalid(head + "    claims: {}\n", "empty claims")
        try assertInvalid(head + "    claims: {sub: \"*\"}\n", "a bare '*'")
        try assertInvalid(head + "    claims: {sub: \"a*b\"}\n", "a '*' inside a value")
        try assertInvalid(head + "    claims: {sub: \"*a\"}\n", "a leading '*'")
        try assertInvalid(head + "    claims: {\"a..b\": x}\n", "an empty path segment")
        try assertInvalid(head + "    claims: {sub: x}\n    max_ttl: 2h\n", "max_ttl above the service's")
        try assertInvalid(head + "    claims: {sub: x}\n    colour: red\n", "an unknown key")
        try assertInvalid(head.replacingOccurrences(of: "r1", with: "jwt-client") + "    claims: {sub: x}\n", "a client's name")
        try assertInvalid(head + "    claims: {sub: x}\n" + head.replacingOccurrences(of: "r1", with: "r2")
                          .replacingOccurrences(of: "k8s-jwks.json", with: "other.json") + "    claims: {sub: y}\n",
                          "one issuer, two JWK Set files")
        XCTAssertThrowsError(try TokenServiceFixture(files: ["k8s-jwks.json": #"{"keys":[]}"#],
                                                     extraYAML: "trust:\n" + head + "    claims: {sub: x}\n")) {
            XCTAssertEqual(($0 as? TokenServiceError)?.code, "serve.unusable-file", "\($0)")
        }
    }
}

/// ``TokenExchangeTests`` with the state in PostgreSQL (the shared test cluster).
final class TokenExchangeTestsPostgreSQL: TokenExchangeTests {
    override class var engine: TokenServiceFixture.Engine { .postgres }

    // Linux XCTest discovers only the methods a class declares: each test again, on PostgreSQL.
    override func testAKubernetesServiceAccountTokenIsExchangedForTheRulesScopes() throws { try super.testAKubernetesServiceAccountTokenIsExchangedForTheRulesScopes() }
    override func testAudienceParameterNarrowsTheTokenAndUnknownTargetsAreInvalidTarget() throws { try super.testAudienceParameterNarrowsTheTokenAndUnknownTargetsAreInvalidTarget() }
    override func testAPrefixGlobMatchesAndASingleUseRuleRefusesAReplay() throws { try super.testAPrefixGlobMatchesAndASingleUseRuleRefusesAReplay() }
    override func testAnOptionalClientMustAuthenticateIfItTries() throws { try super.testAnOptionalClientMustAuthenticateIfItTries() }
    override func testUntrustedIssuerWrongAudienceAndClaimMismatchAreRefused() throws { try super.testUntrustedIssuerWrongAudienceAndClaimMismatchAreRefused() }
    override func testExpiredFutureAndBadlySignedTokensAreRefused() throws { try super.testExpiredFutureAndBadlySignedTokensAreRefused() }
    override func testAlgNoneAndHMACConfusionAreRefused() throws { try super.testAlgNoneAndHMACConfusionAreRefused() }
    override func testScopeEscalationIsInvalidScope() throws { try super.testScopeEscalationIsInvalidScope() }
    override func testOversizedMalformedAndUnsupportedRequestsAreInvalidRequest() throws { try super.testOversizedMalformedAndUnsupportedRequestsAreInvalidRequest() }
    override func testWithoutATrustPolicyTheGrantIsUnsupported() throws { try super.testWithoutATrustPolicyTheGrantIsUnsupported() }
    override func testAStoredClientMayNotHaveATrustRulesName() throws { try super.testAStoredClientMayNotHaveATrustRulesName() }
    override func testTrustRulesThatWouldTrustTooMuchAreRefusedAtLoad() throws { try super.testTrustRulesThatWouldTrustTooMuchAreRefusedAtLoad() }
}
