import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import ModelSecStore
import TestSupport
import TokenService
import XCTest

/// The attacker reviews' leftovers for `modelsec serve` and its clients:
/// the decoy hash's cost, the permission check of client secret files, the
/// audit trail's retention and truncation, and the warning for a PostgreSQL
/// store reached without `sslmode=verify-full`.
final class ReviewLeftoverTests: XCTestCase {
    private var fixture: TokenServiceFixture!

    override func setUpWithError() throws {
        fixture = try TokenServiceFixture()
    }

    override func tearDownWithError() throws {
        if let fixture { try? FileManager.default.removeItem(at: fixture.directory) }
    }

    private func path(_ name: String) -> String { fixture.directory.appendingPathComponent(name).path }

    private func endpoint(_ config: ServiceConfig, store: (any TokenServiceStore)? = nil) throws -> TokenEndpoint {
        guard case let .ed25519(key) = fixture.issuerKey else { throw XCTSkip("the fixture's issuer is ed25519") }
        let issuer = try AccessTokenIssuer(signingKey: SigningPrivateKey.ed25519(key), issuer: config.issuer,
                                           maximumLifetime: config.maximumTTL)
        return try TokenEndpoint(config: config, issuer: issuer, store: try store ?? fixture.openStore())
    }

    // MARK: - timing of unknown client ids

    /// An unknown client id costs the Argon2id work of a known client's
    /// wrong secret: the decoy hash takes the configured clients' parameters
    /// (here 4 MiB, 1 pass, far below the 19 MiB, 2-pass default the decoy
    /// used to have whatever the clients used). Measured as the ratio of the
    /// medians of alternating requests, each with a fresh id (so the failure
    /// throttle never answers first), in the process's CPU time (the hash
    /// runs on NIO's thread pool, so not the calling thread's): wall time on a
    /// busy CI machine once gave 0.37, other processes' load counts for nothing here.
    func testAnUnknownClientIdCostsWhatAWrongSecretCosts() throws {
        var config = try ServiceConfig.load(fixture.configPath)
        let parameters = Argon2id.Parameters(iterations: 1, memoryKiB: 4096)
        let rounds = 9
        for i in 0..<rounds {
            config.clients.append(RegisteredClient(id: "timed-\(i)", method: .clientSecretBasic,
                                                   credential: .secret(try SecretHash(hashing: "right-\(i)", parameters: parameters)),
                                                   scopes: [try ModelScope(parsing: "model:pull:*@*")], maximumTTL: nil))
        }
        XCTAssertEqual(TokenEndpoint.decoyParameters(for: config.clients), parameters)
        XCTAssertEqual(TokenEndpoint.decoyParameters(for: []), SecretHash.defaultParameters, "no secret client: serve client add's")
        let endpoint = try endpoint(config)
        func refuse(_ id: String) {
            XCTAssertThrowsError(try endpoint.handle(authorization: TokenServiceFixture.basic(id, "wrong"),
                                                     contentType: "application/x-www-form-urlencoded",
                                                     body: Array("grant_type=client_credentials".utf8))) {
                XCTAssertEqual(($0 as? OAuthError)?.code, .invalidClient, "\(id): \($0)")
            }
        }
        func seconds(_ id: String) -> Double { TestSupport.cpuSeconds(of: .process) { refuse(id) }.seconds }
        _ = seconds("warm-up-unknown")
        var known: [Double] = [], unknown: [Double] = []
        for i in 0..<rounds {
            known.append(seconds("timed-\(i)"))
            unknown.append(seconds("unknown-\(i)"))
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let ratio = median(unknown) / median(known)
        XCTAssertTrue((0.4...2.5).contains(ratio), "unknown/known = \(ratio): unknown \(unknown), known \(known)")
    }

    // MARK: - secret file permissions

    /// A client secret file the group or others can read is warned about,
    /// and refused with --strict-permissions before anything is sent, as a
    /// key file is: `token verify --introspect-secret-file` and `token fetch
    /// --client-secret-file`.
    func testAnExposedSecretFileIsWarnedAboutOrRefused() throws {
        let issuerKey = path("issuer.pem"), issuerPublic = path("issuer.pub.pem")
        try KeyFile.write(fixture.issuerKey.publicKey, to: issuerPublic)
        let token = try TestSupport.modelsec(["token", "issue", "--key", issuerKey, "--issuer", "https://i.example", "--audience", "a",
                                              "--subject", "s", "--scope", "model:pull:m@1", "--ttl", "5m"])
        XCTAssertEqual(token.status, 0, token.stderrText)
        try token.stdout.write(to: URL(fileURLWithPath: path("t.jwt")))
        let secret = path("introspect.secret")
        XCTAssertTrue(FileManager.default.createFile(atPath: secret, contents: Data("s3cret\n".utf8), attributes: [.posixPermissions: 0o644]))
        // Nothing listens on port 1: a request that went out would be "unreachable".
        let verify = ["token", "verify", "--token-file", path("t.jwt"), "--public-key", issuerPublic, "--issuer", "https://i.example",
                      "--audience", "a", "--token-introspect", "http://127.0.0.1:1", "--introspect-client-id", "c",
                      "--introspect-secret-file", secret, "--json"]
        let warned = try TestSupport.modelsec(verify)
        XCTAssertEqual(warned.status, 2, warned.stdoutText)
        XCTAssertTrue(warned.stderrText.contains("introspect.secret: the secret is accessible by others (mode 644)"), warned.stderrText)
        XCTAssertTrue(warned.stdoutText.contains("\"token.fetch-unreachable\""), warned.stdoutText)
        let strict = try TestSupport.modelsec(verify + ["--strict-permissions"])
        XCTAssertEqual(strict.status, 2, strict.stdoutText)
        XCTAssertTrue(strict.stdoutText.contains("\"key.permissions-too-open\""), strict.stdoutText)
        let byEnvironment = try TestSupport.modelsec(["token", "fetch", "--server", "http://127.0.0.1:1", "--client-id", "c",
                                                      "--client-secret-file", secret, "--output", path("out.jwt"), "--json"],
                                                     environment: ["MODELSEC_STRICT_PERMISSIONS": "1"])
        XCTAssertEqual(byEnvironment.status, 2, byEnvironment.stdoutText)
        XCTAssertTrue(byEnvironment.stdoutText.contains("\"key.permissions-too-open\""), byEnvironment.stdoutText)
        // 0600: no warning, the request goes out (and finds no server).
        XCTAssertEqual(chmod(secret, 0o600), 0)
        let quiet = try TestSupport.modelsec(verify + ["--strict-permissions"])
        XCTAssertTrue(quiet.stdoutText.contains("\"token.fetch-unreachable\""), quiet.stdoutText)
        XCTAssertFalse(quiet.stderrText.contains("accessible by others"), quiet.stderrText)
    }

    // MARK: - audit trail

    /// `serve audit` shows the newest --limit records, oldest first, and
    /// says when the limit cut older ones off (stderr; --json `truncated`).
    func testServeAuditShowsTheNewestRecordsAndSaysWhenTheLimitCut() throws {
        let store = try fixture.openStore()
        let now = Int64(Date().timeIntervalSince1970)
        for i in 0..<5 {
            try store.record(AuditRecord(time: now - 50 + Int64(i), event: "issue", clientID: "c\(i)", subject: "s", scopes: "",
                                         tokenID: "j\(i)", outcome: "ok"))
        }
        let cut = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--limit", "2"])
        XCTAssertEqual(cut.status, 0, cut.stderrText)
        let lines = cut.stdoutText.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, cut.stdoutText)
        XCTAssertTrue(lines.first?.contains("client=c3 ") == true && lines.last?.contains("client=c4 ") == true, cut.stdoutText)
        XCTAssertTrue(cut.stderrText.contains("showing the newest 2 records; older ones match too"), cut.stderrText)
        let json = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--limit", "2", "--json"])
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        XCTAssertEqual(result["truncated"] as? Bool, true)
        XCTAssertEqual((result["records"] as? [[String: Any]])?.compactMap { $0["clientId"] as? String }, ["c3", "c4"])
        let all = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--limit", "5", "--json"])
        let whole = try XCTUnwrap(try JSONSerialization.jsonObject(with: all.stdout) as? [String: Any])
        XCTAssertEqual(whole["truncated"] as? Bool, false)
        XCTAssertEqual(whole["count"] as? Int, 5)
        let exact = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--limit", "5"])
        XCTAssertFalse(exact.stderrText.contains("showing the newest"), exact.stderrText)
    }

    /// `audit_retention` in service.yaml: a duration (at least 1h) or
    /// `forever`, which is also the default (nothing is deleted unless asked).
    func testAuditRetentionIsReadWithADefault() throws {
        XCTAssertNil(try ServiceConfig.load(fixture.configPath).auditRetention)
        let original = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
        for (value, expected) in [("30d", Optional(TokenDuration(seconds: 30 * 86_400))), ("forever", nil), ("2h", TokenDuration(seconds: 7200))] {
            try (original + "audit_retention: \(value)\n").write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
            XCTAssertEqual(try ServiceConfig.load(fixture.configPath).auditRetention, expected, value)
        }
        for bad in ["30m", "never", "0s", "-1d"] {
            try (original + "audit_retention: \(bad)\n").write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try ServiceConfig.load(fixture.configPath), bad) {
                XCTAssertEqual(($0 as? TokenServiceError)?.code, "serve.invalid-config", "\(bad): \($0)")
            }
        }
    }

    /// The sweeper deletes records older than the retention, on both
    /// engines, and keeps the rest; `forever` deletes nothing.
    func testTheSweeperEnforcesTheRetentionOnBothEngines() throws {
        for engine in TokenServiceFixture.Engine.allCases {
            let fixture = try TokenServiceFixture(extraYAML: "audit_retention: 30d\n", engine: engine)
            defer { try? FileManager.default.removeItem(at: fixture.directory) }
            var config = try ServiceConfig.load(fixture.configPath)
            let store = try fixture.openStore()
            let now = Date()
            let seconds = Int64(now.timeIntervalSince1970)
            let ages: [Int64] = [40 * 86_400, 31 * 86_400, 30 * 86_400 - 60, 86_400, 0]
            for (i, age) in ages.enumerated() {
                try store.record(AuditRecord(time: seconds - age, event: "issue", clientID: "c\(i)", subject: "s", scopes: "",
                                             tokenID: "j\(i)", outcome: "ok"))
            }
            config.auditRetention = nil
            let keeping = try TokenServer(config: config, signer: try signer(fixture), store: store)
            XCTAssertEqual(try blockingWait { await keeping.sweepAudit(now: now, logger: nil) }, 0, "\(engine): forever")
            config.auditRetention = TokenDuration(seconds: 30 * 86_400)
            let server = try TokenServer(config: config, signer: try signer(fixture), store: store)
            XCTAssertEqual(try blockingWait { await server.sweepAudit(now: now, logger: nil) }, 2, "\(engine)")
            XCTAssertEqual(try store.auditRecords(limit: 10).map(\.clientID), ["c2", "c3", "c4"], "\(engine)")
        }
    }

    /// A running `modelsec serve` sweeps at start.
    func testServeSweepsAtStart() throws {
        let fixture = try TokenServiceFixture(listen: "127.0.0.1:0", extraYAML: "audit_retention: 7d\n")
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let store = try fixture.openStore()
        let seconds = Int64(Date().timeIntervalSince1970)
        try store.record(AuditRecord(time: seconds - 8 * 86_400, event: "issue", clientID: "old", subject: "s", scopes: "",
                                     tokenID: "j1", outcome: "ok"))
        try store.record(AuditRecord(time: seconds - 6 * 86_400, event: "issue", clientID: "recent", subject: "s", scopes: "",
                                     tokenID: "j2", outcome: "ok"))
        let server = try ServerHardeningTests.LiveServer(config: fixture.configPath, directory: fixture.directory)
        defer { _ = server.stop() }
        let deadline = Date().addingTimeInterval(10)
        var clients: [String] = []
        repeat {
            clients = try store.auditRecords(limit: 10).map(\.clientID)
            if clients == ["recent"] { break }
            usleep(100_000)
        } while Date() < deadline
        XCTAssertEqual(clients, ["recent"], server.log)
    }

    private func signer(_ fixture: TokenServiceFixture) throws -> any Signer {
        guard case let .ed25519(key) = fixture.issuerKey else { throw XCTSkip("the fixture's issuer is ed25519") }
        return SigningPrivateKey.ed25519(key)
    }

    // MARK: - PostgreSQL transport

    /// `serve` warns at start when its PostgreSQL store is on another host
    /// and the sslmode is below verify-full; loopback hosts and verify-full
    /// get no warning. (192.0.2.1 is a documentation address: the connection
    /// then fails, after the warning.)
    func testServeWarnsAboutAWeakSSLModeToARemoteStore() throws {
        let cases: [(String, Bool)] = [
            ("postgres://tok@192.0.2.1:5432/db?sslmode=require&connect_timeout=1", true),
            ("postgres://tok@db.invalid:5432/db?sslmode=verify-ca&connect_timeout=1", true),
            ("postgres://tok@192.0.2.1:5432/db?connect_timeout=1", true),
            ("postgres://tok@192.0.2.1:5432/db?sslmode=verify-full&connect_timeout=1", false),
            ("postgres://tok@127.0.0.1:1/db?sslmode=disable&connect_timeout=1", false),
            ("postgres://tok@localhost:1/db?sslmode=prefer&connect_timeout=1", false),
        ]
        for (url, warns) in cases {
            let r = try TestSupport.modelsec(["serve", "--config", fixture.configPath, "--store", url], timeout: 60)
            XCTAssertEqual(r.status, 2, "\(url): \(r.stderrText)")
            XCTAssertEqual(r.stderrText.contains("warning: the state store postgres://"), warns, "\(url): \(r.stderrText)")
            if warns { XCTAssertTrue(r.stderrText.contains("use sslmode=verify-full"), r.stderrText) }
        }
    }
}
