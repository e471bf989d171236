import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import TestSupport
import TokenService
import XCTest

/// A trust rule's `jwks_url`: the issuer's JWK Set served over loopback HTTP
/// by Python's http.server from a folder the test rewrites; fetched, cached,
/// refreshed on an unknown `kid` at most every 30 s, bounded in size, no
/// redirects, a stale copy used for a while when the server is gone.
final class RemoteKeySetTests: XCTestCase {
    private var fixture: TokenServiceFixture!
    private var endpoint: TokenEndpoint!
    private var served: URL!
    private var server: Process?
    private var port = 0
    private let workload = WorkloadIssuer()
    private let form = "application/x-www-form-urlencoded"

    /// Python's http.server on 127.0.0.1, an ephemeral port, serving `served`.
    private func startServer() throws {
        (server, port) = try TestSupport.startStaticHTTPServer(directory: served)
        XCTAssertGreaterThan(port, 0, "http.server did not report its port")
    }

    private func stopServer() {
        guard let server, server.isRunning else { return }
        server.terminate()
        server.waitUntilExit()
    }

    private func load(jwksURL: String) throws {
        let yaml = """
            trust:
              - name: k8s-remote
                issuer: "\(WorkloadIssuer.issuer)"
                jwks_url: "\(jwksURL)"
                audience: "\(WorkloadIssuer.audience)"
                claims: {kubernetes.io.namespace: prod}
                scopes: ["model:deploy:resnet@*"]

            """
        if let fixture { try? FileManager.default.removeItem(at: fixture.directory) }
        fixture = try TokenServiceFixture(extraYAML: yaml)
        let config = try ServiceConfig.load(fixture.configPath)
        endpointKeySet = config.issuerKeys[Array(WorkloadIssuer.issuer.utf8)]
        guard case let .ed25519(key) = fixture.issuerKey else { return XCTFail("ed25519 issuer") }
        endpoint = try TokenEndpoint(config: config, issuer: try AccessTokenIssuer(signingKey: SigningPrivateKey.ed25519(key),
                                                                                   issuer: config.issuer, maximumLifetime: config.maximumTTL),
                                     store: try SQLiteTokenStore(path: config.statePath))
    }

    override func setUpWithError() throws {
        served = try TestSupport.makeTemporaryDirectory("jwks-served")
        try workload.jwks.write(to: served.appendingPathComponent("jwks.json"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: served.appendingPathComponent("moved"), withIntermediateDirectories: true)
        try startServer()
    }

    override func tearDownWithError() throws {
        stopServer()
        if let served { try? FileManager.default.removeItem(at: served) }
        if let fixture { try? FileManager.default.removeItem(at: fixture.directory) }
    }

    /// The monotonic seconds the loaded configuration's key set reads (see ``fakeClock()``).
    private let monotonic = FakeClock()

    /// A settable clock.
    final class FakeClock: Sendable {
        private let value = Locked<Double>(0)
        func read() -> Double { value.withLock { $0 } }
        func withLock(_ body: (inout Double) -> Void) { value.withLock { body(&$0) } }
    }

    /// Makes the loaded configuration's remote key set read ``monotonic``
    /// instead of the real monotonic clock.
    private func fakeClock() throws {
        guard case let .remote(set)? = endpointKeySet else { return XCTFail("no remote key set") }
        set.clock = { [monotonic] in monotonic.read() }
    }

    /// The remote key set the endpoint uses (the one `load` made).
    private var endpointKeySet: IssuerKeys?

    private func exchange(_ token: String, at offset: TimeInterval = 0) throws -> TokenEndpoint.Success {
        let body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
            + "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&subject_token=" + token
        return try endpoint.handle(authorization: nil, contentType: form, body: Array(body.utf8), now: Date(timeIntervalSinceNow: offset))
    }

    private func assertRefused(_ code: OAuthError.Code, _ token: String, at offset: TimeInterval = 0, _ message: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try exchange(token, at: offset), message, file: file, line: line) {
            XCTAssertEqual(($0 as? OAuthError)?.code, code, "\(message): \($0)", file: file, line: line)
        }
    }

    func testKeysAreFetchedCachedAndRefreshedOnANewKeyID() throws {
        try load(jwksURL: "http://127.0.0.1:\(port)/jwks.json")
        try fakeClock()
        func elapse(_ seconds: Double) { monotonic.withLock { $0 = seconds } }
        XCTAssertEqual(try verifiedSubject(try exchange(try workload.token())), "system:serviceaccount:prod:deployer")

        // The issuer rotates to a new key; a token under it is refused until
        // 30 s after the last fetch, then the set is fetched again.
        let rotated = ECDSA.PrivateKey(curve: .p256)
        try JSONWebKeySet.document(for: [VerificationKey(.ecdsa(workload.key.publicKey), keyID: WorkloadIssuer.keyID),
                                         VerificationKey(.ecdsa(rotated.publicKey), keyID: "k8s-sa-key-2")])
            .write(to: served.appendingPathComponent("jwks.json"), atomically: true, encoding: .utf8)
        let underNewKey = try workload.token(header: #"{"alg":"ES256","kid":"k8s-sa-key-2"}"#, signer: rotated)
        elapse(5)
        assertRefused(.invalidRequest, underNewKey, "an unknown kid within 30 s of the last fetch")
        elapse(31)
        XCTAssertNoThrow(try exchange(underNewKey), "refetched after 30 s")

        // The server goes away: the cached copy serves until it is an hour old.
        stopServer()
        let late = try workload.token(overrides: ["exp": Int64(Date().timeIntervalSince1970) + 7200])
        elapse(400)
        XCTAssertNoThrow(try exchange(late), "a failed refresh keeps the previous copy")
        elapse(3700)
        assertRefused(.temporarilyUnavailable, late, "the copy is too old and the URL does not answer")
    }

    /// Cache ages run on the monotonic clock: a step of the wall clock (the
    /// request's time moved 400 s ahead, past the 5-minute refresh age)
    /// neither refreshes the copy nor makes it old; only monotonic time does.
    func testAWallClockStepNeitherRefreshesNorAgesTheCopy() throws {
        try load(jwksURL: "http://127.0.0.1:\(port)/jwks.json")
        let old = try workload.token(overrides: ["exp": Int64(Date().timeIntervalSince1970) + 7200])
        XCTAssertNoThrow(try exchange(old), "the first fetch")
        // The issuer drops the old key: a refresh would make tokens under it unknown.
        let rotated = ECDSA.PrivateKey(curve: .p256)
        try JSONWebKeySet.document(for: [VerificationKey(.ecdsa(rotated.publicKey), keyID: "k8s-sa-key-2")])
            .write(to: served.appendingPathComponent("jwks.json"), atomically: true, encoding: .utf8)
        for step in [400.0, 401, 4000] {
            XCTAssertNoThrow(try exchange(old, at: step), "the wall clock \(Int(step)) s ahead: the cached copy, unrefreshed")
            Thread.sleep(forTimeInterval: 0.5) // a background refresh, had one started, finishes
        }
        XCTAssertNoThrow(try exchange(old), "still the first copy")
        // Monotonic time past the refresh age does refresh it (in the background, then the copy lacks the old key).
        try fakeClock()
        monotonic.withLock { $0 = RemoteKeySet.monotonicSeconds() + 301 }
        _ = try? exchange(old)
        let deadline = Date().addingTimeInterval(10)
        var refreshed = false
        while !refreshed, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            do { _ = try exchange(old) } catch { refreshed = (error as? OAuthError)?.code == .invalidRequest }
        }
        XCTAssertTrue(refreshed, "after 301 monotonic seconds the copy was refreshed")
    }

    func testOversizedRedirectedAndMissingKeySetsAreUnavailable() throws {
        try String(repeating: " ", count: IssuerKeySet.maximumDocumentSize + 1)
            .write(to: served.appendingPathComponent("big.json"), atomically: true, encoding: .utf8)
        for (path, why) in [("big.json", "over 256 KiB"), ("moved", "a redirect (to moved/)"), ("absent.json", "404")] {
            try load(jwksURL: "http://127.0.0.1:\(port)/\(path)")
            assertRefused(.temporarilyUnavailable, try workload.token(), why)
            XCTAssertEqual(OAuthError(.temporarilyUnavailable, "").status, 503)
        }
        // The reasons, from the key set itself: the download stops at the limit.
        for (path, reason) in [("big.json", "larger than \(IssuerKeySet.maximumDocumentSize) bytes"), ("moved", "HTTP 301"),
                               ("absent.json", "HTTP 404")] {
            let set = RemoteKeySet(url: try XCTUnwrap(URL(string: "http://127.0.0.1:\(port)/\(path)")))
            XCTAssertThrowsError(try set.keys(for: "k"), path) {
                XCTAssertTrue("\($0)".contains(reason), "\(path): \($0)")
            }
        }
    }

    func testOnlyHTTPSOrLoopbackURLsAreAccepted() throws {
        for url in ["http://jwks.example/keys", "ftp://127.0.0.1/keys", "https://user:pw@jwks.example/keys", "not a url"] {
            XCTAssertThrowsError(try load(jwksURL: url), url) {
                XCTAssertEqual(($0 as? TokenServiceError)?.code, "serve.invalid-config", "\(url): \($0)")
            }
        }
        XCTAssertNoThrow(try load(jwksURL: "https://token.actions.githubusercontent.com/.well-known/jwks"))
        XCTAssertThrowsError(try TokenServiceFixture(files: ["k.json": try workload.jwks], extraYAML: """
            trust:
              - name: both
                issuer: i
                jwks_file: k.json
                jwks_url: "https://jwks.example/keys"
                audience: a
                claims: {sub: x}
                scopes: ["model:pull:*@*"]

            """)) { XCTAssertEqual(($0 as? TokenServiceError)?.code, "serve.invalid-config", "\($0)") }
    }

    private func verifiedSubject(_ success: TokenEndpoint.Success) throws -> String {
        try AccessTokenVerifier(keys: [VerificationKey(fixture.issuerKey.publicKey)], issuer: TokenServiceFixture.issuerURL,
                                audience: TokenServiceFixture.audience).verify(success.issued.token).claims.subject
    }
}

/// Which URLs the service's outgoing requests (key sets, `token fetch`) may use.
final class OutgoingURLTests: XCTestCase {
    func testOnlyHTTPSOrLiteralLoopbackIsAccepted() throws {
        for good in ["https://issuer.example/keys", "http://127.0.0.1:8787/", "http://localhost/jwks", "http://[::1]:80/x", "http://127.1.2.3/"] {
            XCTAssertTrue(RemoteKeySet.isAcceptable(URL(string: good)!), good)
        }
        for bad in ["http://127.evil.com/", "http://127.0.0.1.evil.com/", "http://%31%32%37.0.0.1/", "http://127.0.0.1%00.evil.com/",
                    "http://user:pw@127.0.0.1/", "ftp://127.0.0.1/", "file:///etc/passwd", "http://issuer.example/"] {
            if let url = URL(string: bad) { XCTAssertFalse(RemoteKeySet.isAcceptable(url), bad) }
        }
        // token fetch uses the same rule: a name that starts with "127." is not loopback.
        XCTAssertThrowsError(try TokenClient(server: URL(string: "http://127.evil.com:8787")!, clientID: "c",
                                             credential: .secret("s", post: false), scopes: []))
        XCTAssertNoThrow(try TokenClient(server: URL(string: "http://127.0.0.1:8787")!, clientID: "c",
                                         credential: .secret("s", post: false), scopes: []))
    }
}

/// `TokenClient.isActive` reads RFC 7662's `active` as a JSON boolean and
/// nothing else (Foundation would take 1 for true), against answers served by
/// a small Python server.
final class IntrospectionAnswerTests: XCTestCase {
    func testOnlyAJSONBooleanIsAVerdict() throws {
        let dir = try TestSupport.makeTemporaryDirectory("introspection-answers")
        defer { try? FileManager.default.removeItem(at: dir) }
        let answers = ["yes": #"{"active": true, "sub": "ci"}"#, "no": #"{"active":false}"#, "one": #"{"active": 1}"#,
                       "text": #"{"active": "true"}"#, "twice": #"{"active": false, "active": true}"#, "none": #"{"sub": "ci"}"#]
        for (name, body) in answers { try body.write(to: dir.appendingPathComponent(name + "_introspect"), atomically: true, encoding: .utf8) }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: try TestSupport.python())
        server.arguments = ["-c", """
            import http.server, os, sys
            root = sys.argv[1]
            class Answer(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    body = open(os.path.join(root, self.path.strip("/").replace("/", "_")), "rb").read()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *args): pass
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """, dir.path]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        let port = Int(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(port, 0)

        func verdict(_ name: String) throws -> Bool {
            let client = try TokenClient(server: URL(string: "http://127.0.0.1:\(port)/\(name)")!, clientID: "gate",
                                         credential: .secret("s", post: false), scopes: [])
            let result = Locked<Result<Bool, any Error>?>(nil)
            let done = DispatchSemaphore(value: 0)
            Task.detached {
                do { let active = try await client.isActive("token"); result.withLock { $0 = .success(active) } } catch {
                    result.withLock { $0 = .failure(error) }
                }
                done.signal()
            }
            XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
            return try XCTUnwrap(result.withLock { $0 }).get()
        }
        XCTAssertEqual(try verdict("yes"), true)
        XCTAssertEqual(try verdict("no"), false)
        for name in ["one", "text", "twice", "none"] {
            XCTAssertThrowsError(try verdict(name), name) { XCTAssertEqual(($0 as? TokenFetchError)?.code, "token.fetch-bad-response", name) }
        }
    }
}
