import Foundation
import ModelSecKeys
import TestSupport
import TokenService
import XCTest

/// The real server (`modelsec serve` as a subprocess on an ephemeral port)
/// against real clients: Authlib and PyJWT from the pinned environment.
final class TokenServerTests: XCTestCase {
    /// A running `modelsec serve`, its stderr in a file.
    typealias ServerProcess = ServeProcess

    private func clients(_ mode: String, _ server: ServerProcess, _ fixture: TokenServiceFixture,
                         exchange: String? = nil) throws -> [String: Any] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("oauth_clients.py").path
        let r = try TestSupport.run(try TestSupport.python(), [
            script, mode, server.base, TokenServiceFixture.issuerURL + "/token", TokenServiceFixture.issuerURL,
            TokenServiceFixture.audience, "basic-client", TokenServiceFixture.basicSecret, "jwt-client", fixture.clientKeyPath,
        ] + (exchange.map { [$0] } ?? []))
        XCTAssertEqual(r.status, 0, r.stderrText + "\nserver log:\n" + server.log)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText)
    }

    private func assertRefusal(_ value: Any?, status: Int, error: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let r = value as? [String: Any] else { return XCTFail("no observation", file: file, line: line) }
        XCTAssertEqual(r["status"] as? Int, status, "\(r)", file: file, line: line)
        XCTAssertEqual(r["error"] as? String, error, "\(r)", file: file, line: line)
        XCTAssertEqual(r["cacheControl"] as? String, "no-store", file: file, line: line)
        if status == 401 { XCTAssertEqual(r["wwwAuthenticate"] as? String, "Basic realm=\"modelsec\"", file: file, line: line) }
    }

    /// `modelsec token fetch` against the running server: both client kinds
    /// get tokens that `token verify` accepts, written 0600; a wrong secret is
    /// `token.fetch-refused` (exit 1).
    private func fetchWithTheCLI(_ server: ServerProcess, _ fixture: TokenServiceFixture, subjectToken: String) throws {
        let dir = fixture.directory
        let issuerPublic = dir.appendingPathComponent("issuer.pub.pem").path
        try KeyFile.write(fixture.issuerKey.publicKey, to: issuerPublic)
        let secretFile = dir.appendingPathComponent("basic.secret").path
        try (TokenServiceFixture.basicSecret + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        let wrongFile = dir.appendingPathComponent("wrong.secret").path
        try "wrong\n".write(toFile: wrongFile, atomically: true, encoding: .utf8)
        let subjectFile = dir.appendingPathComponent("github-oidc.jwt").path
        try (subjectToken + "\n").write(toFile: subjectFile, atomically: true, encoding: .utf8)
        let runs: [(String, [String])] = [
            ("basic.token", ["--client-id", "basic-client", "--client-secret-file", secretFile, "--scope", "model:deploy:resnet@2.1.0"]),
            ("jwt.token", ["--client-id", "jwt-client", "--client-key", fixture.clientKeyPath, "--scope", "model:deploy:resnet@2.1.0"]),
            ("exchanged.token", ["--subject-token-file", subjectFile, "--scope", "model:deploy:resnet@2.1.0"]),
        ]
        for (name, arguments) in runs {
            let output = dir.appendingPathComponent(name).path
            let r = try TestSupport.modelsec(["token", "fetch", "--server", server.base, "--output", output] + arguments)
            XCTAssertEqual(r.status, 0, r.stderrText)
            let mode = try FileManager.default.attributesOfItem(atPath: output)[.posixPermissions] as? NSNumber
            XCTAssertEqual(mode?.intValue, 0o600, name)
            let verified = try TestSupport.modelsec([
                "token", "verify", "--token-file", output, "--public-key", issuerPublic, "--issuer", TokenServiceFixture.issuerURL,
                "--audience", TokenServiceFixture.audience, "--require-scope", "model:deploy:resnet@2.1.0",
            ])
            XCTAssertEqual(verified.status, 0, name + ": " + verified.stderrText)
        }
        // Online: the keys from the server's /jwks.json and an introspection
        // check accept the token; once it is revoked, the same command refuses it.
        let online = ["token", "verify", "--token-file", dir.appendingPathComponent("basic.token").path,
                      "--token-jwks-url", server.base + "/jwks.json", "--issuer", TokenServiceFixture.issuerURL,
                      "--audience", TokenServiceFixture.audience, "--token-introspect", server.base,
                      "--introspect-client-id", "basic-client", "--introspect-secret-file", secretFile, "--json"]
        let active = try TestSupport.modelsec(online)
        XCTAssertEqual(active.status, 0, active.stdoutText + active.stderrText + "\nserver log:\n" + server.log)
        let token = try String(contentsOf: dir.appendingPathComponent("basic.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let revoke = try TestSupport.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u",
                                                  "basic-client:" + TokenServiceFixture.basicSecret, "--data-urlencode", "token=" + token,
                                                  server.base + "/revoke"])
        XCTAssertEqual(revoke.stdoutText, "200", revoke.stderrText)
        let revoked = try TestSupport.modelsec(online)
        XCTAssertEqual(revoked.status, 1, revoked.stdoutText + revoked.stderrText)
        XCTAssertTrue(revoked.stdoutText.contains("\"revoked\""), revoked.stdoutText)
        // The introspection_endpoint itself is accepted as the URL too.
        var endpointForm = online
        endpointForm[endpointForm.firstIndex(of: "--token-introspect")! + 1] = server.base + "/introspect"
        XCTAssertEqual(try TestSupport.modelsec(endpointForm).status, 1, "the revoked token, through the endpoint URL")
        // A verifier misconfigured (a wrong path, wrong credentials) is exit 2, not a refused token.
        var wrongPath = online
        wrongPath[wrongPath.firstIndex(of: "--token-introspect")! + 1] = server.base + "/nowhere"
        let notFound = try TestSupport.modelsec(wrongPath)
        XCTAssertEqual(notFound.status, 2, notFound.stdoutText)
        XCTAssertTrue(notFound.stdoutText.contains("\"token.introspection-failed\""), notFound.stdoutText)
        var wrongSecret = online
        wrongSecret[wrongSecret.firstIndex(of: "--introspect-secret-file")! + 1] = wrongFile
        let refusedClient = try TestSupport.modelsec(wrongSecret)
        XCTAssertEqual(refusedClient.status, 2, refusedClient.stdoutText)
        XCTAssertTrue(refusedClient.stdoutText.contains("\"token.introspection-failed\""), refusedClient.stdoutText)
        // Without the online check the signature alone still passes: what introspection adds.
        XCTAssertEqual(try TestSupport.modelsec(Array(online.prefix(10)) + ["--json"]).status, 0)
        // A key set URL that is plain http to a non-loopback host is refused before any request.
        let insecure = try TestSupport.modelsec(["token", "verify", "--token-file", dir.appendingPathComponent("basic.token").path,
                                                 "--token-jwks-url", "http://127.evil.example/jwks.json", "--issuer", "i", "--audience", "a"])
        XCTAssertEqual(insecure.status, 2, insecure.stderrText)

        // The service's error_description reaches the user (what a trust or scope mistake needs).
        let escalation = try TestSupport.modelsec(["token", "fetch", "--server", server.base, "--client-id", "basic-client",
                                                   "--client-secret-file", secretFile, "--scope", "model:deploy:other@1.0.0",
                                                   "--output", dir.appendingPathComponent("escalated.token").path])
        XCTAssertEqual(escalation.status, 1, escalation.stderrText)
        XCTAssertTrue(escalation.stderrText.contains("invalid_scope (HTTP 400): a requested scope is beyond what the client is granted"),
                      escalation.stderrText)

        let refused = try TestSupport.modelsec(["token", "fetch", "--server", server.base, "--client-id", "basic-client",
                                                "--client-secret-file", wrongFile, "--output", dir.appendingPathComponent("no.token").path, "--json"])
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        XCTAssertTrue(refused.stdoutText.contains("\"token.fetch-refused\""), refused.stdoutText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("no.token").path))
    }

    /// examples/deploy-token.sh in its token-exchange mode (what the GitHub
    /// Actions and GitLab CI examples run): the CI's OIDC token becomes a
    /// deploy token for exactly RELEASE_NAME@RELEASE_VERSION.
    private func exchangeWithTheExampleScript(_ server: ServerProcess, _ fixture: TokenServiceFixture, subjectToken: String) throws {
        let dir = fixture.directory
        let subjectFile = dir.appendingPathComponent("ci-oidc.jwt").path
        try subjectToken.write(toFile: subjectFile, atomically: true, encoding: .utf8)
        let tokenFile = dir.appendingPathComponent("ci-deploy.token").path
        let script = TestSupport.repositoryRoot.appendingPathComponent("examples/deploy-token.sh").path
        let r = try TestSupport.run("/bin/bash", [script], environment: [
            "PATH": "/usr/bin:/bin", "MODELSEC": TestSupport.modelsecBinary.path, "TOKEN_SERVER": server.base,
            "SUBJECT_TOKEN_FILE": subjectFile, "TOKEN_FILE": tokenFile, "RELEASE_NAME": "resnet", "RELEASE_VERSION": "2.1.0",
        ])
        XCTAssertEqual(r.status, 0, r.stderrText + "\nserver log:\n" + server.log)
        let mode = try FileManager.default.attributesOfItem(atPath: tokenFile)[.posixPermissions] as? NSNumber
        XCTAssertEqual(mode?.intValue, 0o600)
        let issuerPublic = dir.appendingPathComponent("issuer-for-script.pub.pem").path
        try KeyFile.write(fixture.issuerKey.publicKey, to: issuerPublic)
        let strict = try TestSupport.modelsec([
            "token", "verify", "--token-file", tokenFile, "--public-key", issuerPublic, "--issuer", TokenServiceFixture.issuerURL,
            "--audience", TokenServiceFixture.audience, "--require-scope", "model:deploy:resnet@2.1.0",
        ])
        XCTAssertEqual(strict.status, 0, strict.stderrText)
    }

    func testRealClientsBadInputsSIGTERMAndRestartWithTheSameStore() throws {
        let (issuerDirectory, tokens) = try WorkloadRSATests.makeIssuer()
        defer { try? FileManager.default.removeItem(at: issuerDirectory) }
        let fixture = try TokenServiceFixture(
            listen: "127.0.0.1:0",
            files: ["github-jwks.json": try String(contentsOf: issuerDirectory.appendingPathComponent("github-jwks.json"), encoding: .utf8)],
            extraYAML: WorkloadRSATests.trustYAML)
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let exchangeFile = fixture.directory.appendingPathComponent("exchange.json").path
        try JSONSerialization.data(withJSONObject: [
            "subject_token": try XCTUnwrap(tokens["rs256"]), "untrusted_issuer": try XCTUnwrap(tokens["otherIssuer"]),
            "claims_mismatch": try XCTUnwrap(tokens["otherRepo"]), "escalation_token": try XCTUnwrap(tokens["rs256c"]),
            "scope": "model:deploy:resnet@2.1.0",
        ]).write(to: URL(fileURLWithPath: exchangeFile))
        let server = try ServerProcess(config: fixture.configPath, logDirectory: fixture.directory)
        var stopped = false
        defer { if !stopped { _ = server.stop() } }
        try fetchWithTheCLI(server, fixture, subjectToken: try XCTUnwrap(tokens["rs256b"]))
        try exchangeWithTheExampleScript(server, fixture, subjectToken: try XCTUnwrap(tokens["rs256d"]))
        let seen = try clients("full", server, fixture, exchange: exchangeFile)

        // Introspection and revocation with `requests`.
        let active = try XCTUnwrap(seen["introspectActive"] as? [String: Any], "\(seen)")
        XCTAssertEqual(active["active"] as? Bool, true)
        XCTAssertEqual(active["client_id"] as? String, "basic-client")
        XCTAssertEqual(seen["revokeStatus"] as? Int, 200)
        XCTAssertEqual((seen["introspectRevoked"] as? [String: Any])?["active"] as? Bool, false)
        assertRefusal(seen["introspectUnauthenticated"], status: 401, error: "invalid_client")
        assertRefusal(seen["revokeUnauthenticated"], status: 401, error: "invalid_client")

        // RFC 8693 token exchange by Authlib (a public client), the token checked by PyJWT.
        let exchanged = try XCTUnwrap(seen["exchange"] as? [String: Any], "\(seen)")
        XCTAssertEqual(exchanged["sub"] as? String, "repo:example-org/models:ref:refs/heads/main")
        XCTAssertEqual(exchanged["client_id"] as? String, "github-release")
        XCTAssertEqual(exchanged["scope"] as? String, "model:deploy:resnet@2.1.0")
        XCTAssertEqual(exchanged["ttl"] as? Int, 300)
        XCTAssertEqual(exchanged["issued_token_type"] as? String, "urn:ietf:params:oauth:token-type:access_token")
        XCTAssertEqual(seen["exchangeReplayed"] as? String, "invalid_request", "the rule is single_use")
        assertRefusal(seen["exchangeUntrustedIssuer"], status: 400, error: "invalid_request")
        assertRefusal(seen["exchangeClaimsMismatch"], status: 400, error: "invalid_request")
        assertRefusal(seen["exchangeEscalation"], status: 400, error: "invalid_scope")

        let basic = try XCTUnwrap(seen["basic"] as? [String: Any])
        XCTAssertEqual(basic["typ"] as? String, "at+jwt")
        XCTAssertEqual(basic["sub"] as? String, "basic-client")
        XCTAssertEqual(basic["scope"] as? String, "model:deploy:resnet@2.1.0")
        let viaJWT = try XCTUnwrap(seen["privateKeyJWT"] as? [String: Any])
        XCTAssertEqual(viaJWT["sub"] as? String, "jwt-client")
        XCTAssertEqual(viaJWT["ttl"] as? Int, 300)
        XCTAssertEqual(seen["replayed"] as? String, "invalid_client")
        XCTAssertEqual(seen["expired"] as? String, "invalid_client")
        XCTAssertEqual(seen["otherAudience"] as? String, "invalid_client")

        assertRefusal(seen["wrongSecret"], status: 401, error: "invalid_client")
        assertRefusal(seen["unknownClient"], status: 401, error: "invalid_client")
        assertRefusal(seen["scopeEscalation"], status: 400, error: "invalid_scope")
        assertRefusal(seen["malformedForm"], status: 400, error: "invalid_request")
        assertRefusal(seen["wrongContentType"], status: 400, error: "invalid_request")
        assertRefusal(seen["oversizedBody"], status: 400, error: "invalid_request")
        assertRefusal(seen["unsupportedGrant"], status: 400, error: "unsupported_grant_type")

        let metadata = try XCTUnwrap(seen["metadata"] as? [String: Any])
        XCTAssertEqual(metadata["issuer"] as? String, TokenServiceFixture.issuerURL)
        XCTAssertEqual(metadata["token_endpoint"] as? String, TokenServiceFixture.issuerURL + "/token")
        XCTAssertEqual(metadata["jwks_uri"] as? String, TokenServiceFixture.issuerURL + "/jwks.json")
        XCTAssertEqual(metadata["grant_types_supported"] as? [String],
                       ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"])
        XCTAssertEqual((metadata["token_endpoint_auth_methods_supported"] as? [String])?.contains("none"), true)
        XCTAssertEqual(metadata["revocation_endpoint"] as? String, TokenServiceFixture.issuerURL + "/revoke")
        XCTAssertEqual(metadata["introspection_endpoint"] as? String, TokenServiceFixture.issuerURL + "/introspect")

        XCTAssertEqual(seen["servedDuringSlowLoris"] as? Int, 200)
        let closedAfter = try XCTUnwrap(seen["slowLorisClosedAfter"] as? Double, "the slow connection was never closed")
        XCTAssertLessThan(closedAfter, 20)
        XCTAssertEqual(seen["healthzAfter"] as? Int, 200)
        // The burst: failures are plain invalid_client until the address's
        // bucket (FailureThrottle.Policy(): 10 at once, 0.5 a second) is
        // empty, then 429. Judged by the time the 401s took, not by how many
        // fit in a fixed burst: at most 10 + 0.5 per second of them (+1 for
        // rounding), however slow the machine.
        let burst = try XCTUnwrap(seen["burstStatuses"] as? [Int], "\(seen)")
        XCTAssertEqual(burst.first, 401, "the first failures are plain invalid_client: \(burst)")
        XCTAssertEqual(burst.last, 429, "no 429 in \(burst.count) failed authentications: \(burst)")
        XCTAssertEqual(Set(burst.dropLast()), [401], "\(burst)")
        let burstSeconds = try XCTUnwrap(seen["burstSeconds"] as? Double, "\(seen)")
        let failures = burst.filter { $0 == 401 }.count
        let policy = FailureThrottle.Policy()
        XCTAssertLessThanOrEqual(Double(failures), policy.burst + policy.perSecond * burstSeconds + 1,
                                 "\(failures) failures in \(burstSeconds) s were let through: \(burst)")
        print("failure burst: \(failures) × 401 in \(burstSeconds) s, then 429")
        assertRefusal(seen["burstLast"], status: 429, error: "slow_down")
        XCTAssertGreaterThanOrEqual(Int(seen["retryAfter"] as? String ?? "") ?? 0, 1)
        XCTAssertEqual(seen["healthzDuringThrottle"] as? Int, 200)

        XCTAssertEqual(server.stop(), 0, "SIGTERM is a clean shutdown: \(server.log)")
        stopped = true

        // The same store after a restart: the registered client still works.
        let again = try ServerProcess(config: fixture.configPath, logDirectory: fixture.directory)
        defer { _ = again.stop() }
        let second = try clients("basic", again, fixture)
        XCTAssertEqual((second["basic"] as? [String: Any])?["sub"] as? String, "basic-client")
    }
}
