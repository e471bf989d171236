import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import TestSupport
import TokenService
import XCTest

/// Per-client rate limits (`rate_limit`): token buckets in the same
/// ``FailureThrottle`` as the failed-authentication throttle.
final class RateLimitTests: XCTestCase {
    private var fixture: TokenServiceFixture!
    private var endpoint: TokenEndpoint!
    private var management: TokenManagement!
    private let form = "application/x-www-form-urlencoded"
    private let basic = TokenServiceFixture.basic("basic-client", TokenServiceFixture.basicSecret)

    override func setUpWithError() throws {
        fixture = try TokenServiceFixture(extraYAML: """
            rate_limit: {requests_per_second: 5, burst: 20}

            """)
        // basic-client (stored) has the default; post-client gets an override through a second config below.
        let config = try ServiceConfig.load(fixture.configPath)
        XCTAssertEqual(config.rateLimit(for: "basic-client"), FailureThrottle.Policy(burst: 20, perSecond: 5))
        let store = try SQLiteTokenStore(path: config.statePath)
        guard case let .ed25519(key) = fixture.issuerKey else { return XCTFail("ed25519 issuer") }
        let issuer = try AccessTokenIssuer(signingKey: SigningPrivateKey.ed25519(key), issuer: config.issuer, maximumLifetime: config.maximumTTL)
        endpoint = try TokenEndpoint(config: config, issuer: issuer, store: store)
        management = try TokenManagement(endpoint: endpoint, key: VerificationKey(fixture.issuerKey.publicKey))
    }

    override func tearDownWithError() throws {
        if let fixture { try? FileManager.default.removeItem(at: fixture.directory) }
    }

    private func outcome(_ authorization: String?, _ body: String, at now: Date) -> (status: Int, retryAfter: Int?, code: String?) {
        do {
            _ = try endpoint.handle(authorization: authorization, contentType: form, body: Array(body.utf8), now: now)
            return (200, nil, nil)
        } catch let refusal as OAuthError {
            return (refusal.status, refusal.retryAfter, refusal.code.rawValue)
        } catch {
            return (500, nil, "\(error)")
        }
    }

    /// 10,000 requests from one client in one second: the burst (20) and the
    /// refill (5/s) are served, the rest get 429 slow_down with Retry-After,
    /// while the post client, interleaved, is served every time.
    func testTenThousandRequestsFromOneClientAreLimitedWhileAnotherIsServed() throws {
        let start = Date(timeIntervalSince1970: 1_900_000_000)
        var served = 0, limited = 0, other = 0
        for i in 0..<10_000 {
            let now = start.addingTimeInterval(Double(i) / 10_000)
            let r = outcome(basic, "grant_type=client_credentials", at: now)
            switch r.status {
            case 200: served += 1
            case 429:
                limited += 1
                XCTAssertEqual(r.code, "slow_down")
                XCTAssertGreaterThanOrEqual(r.retryAfter ?? 0, 1)
            default: XCTFail("unexpected \(r)")
            }
            if i % 500 == 0 {
                let p = outcome(nil, "grant_type=client_credentials&client_id=post-client&client_secret=\(TokenServiceFixture.postSecret)", at: now)
                if p.status == 200 { other += 1 } else { XCTFail("the other client was refused: \(p)") }
            }
        }
        // burst 20 plus at most 5 refilled in the second.
        XCTAssertGreaterThanOrEqual(served, 20)
        XCTAssertLessThanOrEqual(served, 25)
        XCTAssertEqual(served + limited, 10_000)
        XCTAssertEqual(other, 20)
        // A second later the bucket has refilled.
        XCTAssertEqual(outcome(basic, "grant_type=client_credentials", at: start.addingTimeInterval(2)).status, 200)
    }

    func testLimitedClientIsRefusedBeforeItsSecretIsCheckedAndFailuresDoNotDrainIt() throws {
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        // Failed authentications naming the client do not take from its rate bucket.
        for _ in 0..<5 {
            XCTAssertEqual(outcome(TokenServiceFixture.basic("basic-client", "wrong"), "grant_type=client_credentials", at: now).code,
                           "invalid_client")
        }
        for _ in 0..<20 { XCTAssertEqual(outcome(basic, "grant_type=client_credentials", at: now).status, 200) }
        // Empty: even a wrong secret is answered slow_down (no Argon2id work), not invalid_client.
        XCTAssertEqual(outcome(TokenServiceFixture.basic("basic-client", "wrong"), "grant_type=client_credentials", at: now).code, "slow_down")
        // Introspection by the limited client shares the bucket.
        XCTAssertThrowsError(try management.introspect(authorization: basic, contentType: form, body: Array("token=x".utf8), now: now)) {
            XCTAssertEqual(($0 as? OAuthError)?.code, .slowDown)
        }
    }

    func testConfigurationOverridesAndBounds() throws {
        let dir = try TestSupport.makeTemporaryDirectory("rate-limit-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        try KeyFile.write(PrivateKey.generate(.ed25519), to: dir.appendingPathComponent("issuer.pem").path)
        let base = "issuer: http://127.0.0.1:8787\nsigning_key: issuer.pem\naudience: a\n"
        func load(_ yaml: String) throws -> ServiceConfig {
            let path = dir.appendingPathComponent("service-\(UUID().uuidString).yaml").path
            try (base + yaml).write(toFile: path, atomically: true, encoding: .utf8)
            return try ServiceConfig.load(path)
        }
        let config = try load("""
            rate_limit: {requests_per_second: 0.5, burst: 3}
            clients:
              - id: fast
                auth: client_secret_basic
                secret_hash: "\(try SecretHash(hashing: "x", parameters: Argon2id.Parameters(iterations: 1, memoryKiB: 64)).encoded)"
                scopes: ["model:pull:*@*"]
                rate_limit: {requests_per_second: 100, burst: 200}
            """)
        XCTAssertEqual(config.rateLimit(for: "fast"), FailureThrottle.Policy(burst: 200, perSecond: 100))
        XCTAssertEqual(config.rateLimit(for: "other"), FailureThrottle.Policy(burst: 3, perSecond: 0.5))
        XCTAssertNil(try load("").rateLimit(for: "any"), "no rate_limit: unlimited")
        for bad in ["rate_limit: {requests_per_second: 0, burst: 3}", "rate_limit: {requests_per_second: 1, burst: 0}",
                    "rate_limit: {requests_per_second: 1, burst: 2.5}", "rate_limit: {requests_per_second: -1, burst: 2}",
                    "rate_limit: {requests_per_second: 1}", "rate_limit: {requests_per_second: 1, burst: 2, extra: 1}",
                    "rate_limit: {requests_per_second: 1e9, burst: 2}"] {
            XCTAssertThrowsError(try load(bad), bad) { XCTAssertEqual(($0 as? TokenServiceError)?.code, "serve.invalid-config", bad) }
        }
    }

    /// Over HTTP: the limited client meets 429 with `Retry-After` and an
    /// RFC 6749-style JSON body; the other client is served meanwhile.
    func testOverHTTPTheLimitedClientGets429WithRetryAfter() throws {
        let live = try TokenServiceFixture(listen: "127.0.0.1:0", extraYAML: """
            rate_limit: {requests_per_second: 1, burst: 5}

            """)
        defer { try? FileManager.default.removeItem(at: live.directory) }
        let server = try TokenServerTests.ServerProcess(config: live.configPath, logDirectory: live.directory)
        defer { _ = server.stop() }
        let script = """
            import json, sys, time, requests
            base, basic_secret, post_secret = sys.argv[1:4]
            s, o = requests.Session(), requests.Session()
            statuses, others, last = [], [], None
            started = time.monotonic()
            for i in range(200):
                r = s.post(base + "/token", data={"grant_type": "client_credentials"}, auth=("basic-client", basic_secret), timeout=10)
                statuses.append(r.status_code)
                if r.status_code == 429:
                    last = {"retryAfter": r.headers.get("Retry-After"), "body": r.json(), "cacheControl": r.headers.get("Cache-Control")}
                if i % 50 == 0:
                    others.append(o.post(base + "/token", data={"grant_type": "client_credentials", "client_id": "post-client",
                                                                "client_secret": post_secret}, timeout=10).status_code)
            elapsed = time.monotonic() - started
            print(json.dumps({"statuses": statuses, "others": others, "last": last, "elapsed": elapsed}))
            """
        let r = try TestSupport.run(try TestSupport.python(), ["-c", script, server.base, TokenServiceFixture.basicSecret,
                                                               TokenServiceFixture.postSecret])
        XCTAssertEqual(r.status, 0, r.stderrText + "\nserver log:\n" + server.log)
        let seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText)
        let statuses = try XCTUnwrap(seen["statuses"] as? [Int])
        XCTAssertEqual(statuses.count, 200)
        XCTAssertEqual(Array(statuses.prefix(5)), [200, 200, 200, 200, 200])
        XCTAssertEqual(Set(statuses), [200, 429])
        // The bucket holds 5 and regains 1 a second: over the measured time
        // the loop took (which holds every refill the server saw), at most
        // 5 + ceil(elapsed) requests are served (+1 for rounding), however
        // slow the machine; every other one is a 429.
        let elapsed = try XCTUnwrap(seen["elapsed"] as? Double, r.stdoutText)
        let served = statuses.filter { $0 == 200 }.count
        XCTAssertGreaterThanOrEqual(served, 5)
        XCTAssertLessThanOrEqual(Double(served), 5 + elapsed.rounded(.up) + 1, "\(served) served in \(elapsed) s: \(statuses)")
        XCTAssertEqual(statuses.filter { $0 == 429 }.count, 200 - served, "\(statuses)")
        print("rate limit: \(served) of 200 served in \(elapsed) s")
        XCTAssertEqual(seen["others"] as? [Int], Array(repeating: 200, count: 4), "the other client is served (within its own burst of 5)")
        let last = try XCTUnwrap(seen["last"] as? [String: Any])
        XCTAssertGreaterThanOrEqual(Int(last["retryAfter"] as? String ?? "") ?? 0, 1)
        XCTAssertEqual((last["body"] as? [String: Any])?["error"] as? String, "slow_down")
        XCTAssertEqual(last["cacheControl"] as? String, "no-store")
    }

    /// A trust rule's own rate_limit caps its exchanges; the client_credentials
    /// clients keep the top-level limit.
    func testTrustRuleRateLimit() throws {
        let workload = WorkloadIssuer()
        let yaml = WorkloadIssuer.trustYAML.replacingOccurrences(of: "    max_ttl: 2m\n",
                                                                 with: "    max_ttl: 2m\n    rate_limit: {requests_per_second: 0.1, burst: 2}\n")
        XCTAssertNotEqual(yaml, WorkloadIssuer.trustYAML)
        let live = try TokenServiceFixture(files: ["k8s-jwks.json": try workload.jwks],
                                           extraYAML: "rate_limit: {requests_per_second: 5, burst: 20}\n" + yaml)
        defer { try? FileManager.default.removeItem(at: live.directory) }
        let config = try ServiceConfig.load(live.configPath)
        XCTAssertEqual(config.rateLimit(for: "k8s-prod-deployer"), FailureThrottle.Policy(burst: 2, perSecond: 0.1))
        XCTAssertEqual(config.rateLimit(for: "k8s-batch"), FailureThrottle.Policy(burst: 20, perSecond: 5))
        guard case let .ed25519(key) = live.issuerKey else { return XCTFail("ed25519 issuer") }
        let exchanging = try TokenEndpoint(config: config, issuer: try AccessTokenIssuer(signingKey: SigningPrivateKey.ed25519(key),
                                                                                         issuer: config.issuer), store: try SQLiteTokenStore(path: config.statePath))
        let now = Date()
        func exchange() -> String? {
            let body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&subject_token="
                + ((try? workload.token()) ?? "")
            do {
                let success = try exchanging.handle(authorization: nil, contentType: form, body: Array(body.utf8), now: now)
                return "ok " + success.issued.claims.clientID
            } catch let refusal as OAuthError {
                return refusal.code.rawValue + " \(refusal.retryAfter ?? 0)"
            } catch {
                return "\(error)"
            }
        }
        let outcomes = (0..<3).map { _ in exchange() }
        XCTAssertEqual(outcomes, ["ok k8s-prod-deployer", "ok k8s-prod-deployer", "slow_down 10"], "burst 2, then one every 10 s")
        // The client_credentials client is not affected.
        XCTAssertNoThrow(try exchanging.handle(authorization: basic, contentType: form, body: Array("grant_type=client_credentials".utf8), now: now))
    }
}
