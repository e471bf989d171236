import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import TestSupport
import TokenService
import XCTest

/// `modelsec serve` as a subprocess under conditions a deployment meets:
/// HTTPS with a private CA, SIGTERM while many clients are mid-request, a
/// restart on the same state, slow-loris connections, and issuer key sets
/// that hang. Clients are `modelsec token fetch` and the pinned Python
/// environment (requests, Authlib, PyJWT).
final class ServerHardeningTests: XCTestCase {
    /// A running `modelsec serve` whose startup line gives its scheme and port.
    typealias LiveServer = ServeProcess

    /// Runs a Python script from the pinned environment and decodes the one
    /// JSON object it prints.
    private func python(_ script: String, _ arguments: [String], server: LiveServer? = nil,
                        file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try TestSupport.run(try TestSupport.python(), ["-c", script] + arguments)
        XCTAssertEqual(r.status, 0, r.stderrText + "\nserver log:\n" + (server?.log ?? ""), file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText + r.stderrText,
                             file: file, line: line)
    }

    /// A private CA and a server certificate it issued for 127.0.0.1 and
    /// A token service fixture serving HTTPS with `pki`'s server certificate,
    /// started; stopped and removed when the test ends.
    private func startHTTPSServer(_ pki: PKI) throws -> (fixture: TokenServiceFixture, server: LiveServer) {
        let fixture = try TokenServiceFixture(listen: "127.0.0.1:0", files: ["server.pem": try pki.certificate, "server.key": try pki.key],
                                              extraYAML: "tls_cert: server.pem\ntls_key: server.key\n")
        addTeardownBlock { try? FileManager.default.removeItem(at: fixture.directory) }
        let server = try LiveServer(config: fixture.configPath, directory: fixture.directory)
        addTeardownBlock { _ = server.stop() }
        return (fixture, server)
    }

    /// localhost (made with the openssl command), and a second, unrelated CA.
    private struct PKI {
        let directory: URL
        var caPath: String { directory.appendingPathComponent("ca.pem").path }
        var otherCAPath: String { directory.appendingPathComponent("other-ca.pem").path }
        var certificate: String { get throws { try String(contentsOf: directory.appendingPathComponent("server.pem"), encoding: .utf8) } }
        var key: String { get throws { try String(contentsOf: directory.appendingPathComponent("server.key"), encoding: .utf8) } }
    }

    private func makePKI(subjectAltName: String = "IP:127.0.0.1,DNS:localhost", commonName: String = "localhost") throws -> PKI {
        let dir = try TestSupport.makeTemporaryDirectory("serve-pki")
        func openssl(_ arguments: [String]) throws {
            let r = try TestSupport.run("openssl", arguments, currentDirectory: dir)
            XCTAssertEqual(r.status, 0, "openssl \(arguments.joined(separator: " ")): \(r.stderrText)")
        }
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        for name in ["ca", "other-ca"] {
            try openssl(["req", "-x509"] + curve + ["-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2",
                                                    "-subj", "/CN=modelsec test \(name)",
                                                    "-addext", "basicConstraints=critical,CA:TRUE",
                                                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        try openssl(["req", "-new"] + curve + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=\(commonName)"])
        try """
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=serverAuth
            subjectAltName=\(subjectAltName)
            subjectKeyIdentifier=hash
            authorityKeyIdentifier=keyid
            """.write(to: dir.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "server.pem", "-days", "2", "-extfile", "server.ext"])
        return PKI(directory: dir)
    }

    // MARK: - TLS

    /// A certificate that names the server only by its IP address (and has
    /// the host name as its common name) does not prove the host name:
    /// `token fetch` to https://localhost refuses it before sending the
    /// client secret, while https://127.0.0.1 (the name it does carry) is
    /// served.
    func testACertificateForTheAddressDoesNotProveTheHostName() throws {
        let pki = try makePKI(subjectAltName: "IP:127.0.0.1", commonName: "localhost")
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let (fixture, server) = try startHTTPSServer(pki)
        let secretFile = fixture.directory.appendingPathComponent("basic.secret").path
        try (TokenServiceFixture.basicSecret + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        func fetch(_ base: String) throws -> TestSupport.ProcessResult {
            try TestSupport.modelsec(["token", "fetch", "--server", base, "--ca-file", pki.caPath, "--client-id", "basic-client",
                                      "--client-secret-file", secretFile, "--scope", "model:deploy:resnet@2.1.0", "--json",
                                      "--output", fixture.directory.appendingPathComponent("\(UUID().uuidString).token").path])
        }
        let byName = try fetch("https://localhost:\(server.port)")
        XCTAssertEqual(byName.status, 2, byName.stdoutText + byName.stderrText)
        XCTAssertTrue(byName.stdoutText.contains("does not name localhost as a DNS name"), byName.stdoutText)
        XCTAssertFalse(server.log.contains("\"path\":\"/token\""), "no request reached the server: \(server.log)")
        let byAddress = try fetch("https://127.0.0.1:\(server.port)")
        XCTAssertEqual(byAddress.status, 0, byAddress.stdoutText + byAddress.stderrText)
    }

    /// With tls_cert/tls_key the service speaks HTTPS only: `token fetch
    /// --ca-file` (both client kinds), Authlib and `requests` trusting the
    /// private CA get tokens PyJWT and `token verify` accept; without the CA,
    /// or with another CA, no client gets an answer, and plain http to the
    /// port gets none either.
    func testHTTPSWithAPrivateCA() throws {
        let pki = try makePKI()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let (fixture, server) = try startHTTPSServer(pki)
        XCTAssertEqual(server.scheme, "https", server.log)

        let dir = fixture.directory
        let secretFile = dir.appendingPathComponent("basic.secret").path
        try (TokenServiceFixture.basicSecret + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        let issuerPublic = dir.appendingPathComponent("issuer.pub.pem").path
        try KeyFile.write(fixture.issuerKey.publicKey, to: issuerPublic)
        let credentials: [(String, [String])] = [
            ("basic", ["--client-id", "basic-client", "--client-secret-file", secretFile]),
            ("jwt", ["--client-id", "jwt-client", "--client-key", fixture.clientKeyPath]),
        ]
        for (name, arguments) in credentials {
            let output = dir.appendingPathComponent("\(name).token").path
            let fetched = try TestSupport.modelsec(["token", "fetch", "--server", server.base, "--ca-file", pki.caPath,
                                                    "--scope", "model:deploy:resnet@2.1.0", "--output", output] + arguments)
            XCTAssertEqual(fetched.status, 0, name + ": " + fetched.stderrText + "\nserver log:\n" + server.log)
            let verified = try TestSupport.modelsec(["token", "verify", "--token-file", output, "--public-key", issuerPublic,
                                                     "--issuer", TokenServiceFixture.issuerURL, "--audience", TokenServiceFixture.audience,
                                                     "--require-scope", "model:deploy:resnet@2.1.0"])
            XCTAssertEqual(verified.status, 0, name + ": " + verified.stderrText)

            // The system's CAs do not know this one; another CA is not it either.
            for (label, extra) in [("no --ca-file", [String]()), ("another CA", ["--ca-file", pki.otherCAPath])] {
                let refused = try TestSupport.modelsec(["token", "fetch", "--server", server.base, "--output",
                                                        dir.appendingPathComponent("\(name)-untrusted.token").path, "--json"]
                                                       + extra + arguments)
                XCTAssertEqual(refused.status, 2, "\(name), \(label): " + refused.stdoutText + refused.stderrText)
                XCTAssertTrue(refused.stdoutText.contains("\"token.fetch-unreachable\""), "\(name), \(label): " + refused.stdoutText)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("basic-untrusted.token").path))
        // The CA file must hold a certificate.
        let notPEM = try TestSupport.modelsec(["token", "fetch", "--server", server.base, "--ca-file", secretFile,
                                               "--output", dir.appendingPathComponent("x.token").path] + credentials[0].1)
        XCTAssertEqual(notPEM.status, 2, notPEM.stderrText)
        XCTAssertTrue(notPEM.stderrText.contains("holds no PEM certificate"), notPEM.stderrText)
        // Plain http to the TLS port is not answered.
        let plain = try TestSupport.modelsec(["token", "fetch", "--server", "http://127.0.0.1:\(server.port)",
                                              "--output", dir.appendingPathComponent("plain.token").path] + credentials[0].1)
        XCTAssertEqual(plain.status, 2, plain.stderrText)

        let script = """
            import json, sys, time, jwt, requests
            from authlib.integrations.requests_client import OAuth2Session
            base, ca, other_ca, issuer, audience, secret = sys.argv[1:7]
            out = {}
            jwks = jwt.PyJWKSet.from_dict(requests.get(base + "/jwks.json", verify=ca, timeout=10).json())
            def verify(token):
                header = jwt.get_unverified_header(token)
                claims = jwt.decode(token, jwks[header["kid"]].key, algorithms=[header["alg"]], audience=audience, issuer=issuer)
                return claims["sub"]
            session = OAuth2Session("basic-client", secret, token_endpoint_auth_method="client_secret_basic",
                                    scope="model:deploy:resnet@2.1.0")
            out["authlib"] = verify(session.fetch_token(base + "/token", grant_type="client_credentials", verify=ca)["access_token"])
            r = requests.post(base + "/token", data={"grant_type": "client_credentials", "client_id": "post-client",
                                                     "client_secret": "\(TokenServiceFixture.postSecret)"}, verify=ca, timeout=10)
            out["requests"] = verify(r.json()["access_token"])
            out["cacheControl"] = r.headers.get("Cache-Control")
            for name, verify_with in (("systemCAs", True), ("otherCA", other_ca)):
                try:
                    requests.get(base + "/healthz", verify=verify_with, timeout=10)
                    out[name] = "answered"
                except requests.exceptions.SSLError:
                    out[name] = "certificate refused"
            print(json.dumps(out))
            """
        let seen = try python(script, [server.base, pki.caPath, pki.otherCAPath, TokenServiceFixture.issuerURL,
                                       TokenServiceFixture.audience, TokenServiceFixture.basicSecret], server: server)
        XCTAssertEqual(seen["authlib"] as? String, "basic-client")
        XCTAssertEqual(seen["requests"] as? String, "post-client")
        XCTAssertEqual(seen["cacheControl"] as? String, "no-store")
        XCTAssertEqual(seen["systemCAs"] as? String, "certificate refused")
        XCTAssertEqual(seen["otherCA"] as? String, "certificate refused")
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    /// The verifiers' online checks over HTTPS with a private CA: `token
    /// verify --ca-file` and the deploy gate's `release verify
    /// --token-ca-file` fetch the JWK Set and ask `/introspect` of a server
    /// whose certificate only that CA vouches for; without the option (the
    /// system's CAs) or with another CA they get no answer (exit 2), and a
    /// file without a certificate is refused.
    func testTheVerifiersOnlineChecksTrustAGivenCAFile() throws {
        let pki = try makePKI()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let (fixture, server) = try startHTTPSServer(pki)
        let dir = fixture.directory
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let secretFile = path("basic.secret")
        XCTAssertTrue(FileManager.default.createFile(atPath: secretFile, contents: Data((TokenServiceFixture.basicSecret + "\n").utf8),
                                       attributes: [.posixPermissions: 0o600]))
        let tokenFile = path("deploy.token")
        let fetched = try TestSupport.modelsec(["token", "fetch", "--server", server.base, "--ca-file", pki.caPath, "--client-id", "basic-client",
                                                "--client-secret-file", secretFile, "--scope", "model:deploy:resnet@2.1.0", "--output", tokenFile])
        XCTAssertEqual(fetched.status, 0, fetched.stderrText + "\nserver log:\n" + server.log)
        let online = ["--token-jwks-url", server.base + "/jwks.json", "--token-introspect", server.base,
                      "--introspect-client-id", "basic-client", "--introspect-secret-file", secretFile]

        let verify = ["token", "verify", "--token-file", tokenFile, "--issuer", TokenServiceFixture.issuerURL,
                      "--audience", TokenServiceFixture.audience, "--json"] + online
        let accepted = try TestSupport.modelsec(verify + ["--ca-file", pki.caPath])
        XCTAssertEqual(accepted.status, 0, accepted.stdoutText + accepted.stderrText + "\nserver log:\n" + server.log)
        for (label, extra) in [("the system's CAs", [String]()), ("another CA", ["--ca-file", pki.otherCAPath])] {
            let refused = try TestSupport.modelsec(verify + extra)
            XCTAssertEqual(refused.status, 2, "\(label): " + refused.stdoutText)
            XCTAssertTrue(refused.stdoutText.contains("\"token.fetch-unreachable\""), "\(label): " + refused.stdoutText)
        }
        // The introspection alone (keys from a file) uses the CA file too.
        let issuerPublic = path("issuer.pub.pem")
        try KeyFile.write(fixture.issuerKey.publicKey, to: issuerPublic)
        let introspectOnly = ["token", "verify", "--token-file", tokenFile, "--issuer", TokenServiceFixture.issuerURL,
                              "--audience", TokenServiceFixture.audience, "--public-key", issuerPublic] + online.dropFirst(2)
        XCTAssertEqual(try TestSupport.modelsec(introspectOnly + ["--ca-file", pki.caPath]).status, 0)
        XCTAssertEqual(try TestSupport.modelsec(introspectOnly).status, 2, "the system's CAs do not know the service's")
        let notPEM = try TestSupport.modelsec(verify + ["--ca-file", secretFile])
        XCTAssertEqual(notPEM.status, 2, notPEM.stdoutText)
        XCTAssertTrue(notPEM.stdoutText.contains("holds no PEM certificate"), notPEM.stdoutText)
        let alone = try TestSupport.modelsec(["token", "verify", "--token-file", tokenFile, "--issuer", "i", "--audience", "a",
                                              "--public-key", issuerPublic, "--ca-file", pki.caPath])
        XCTAssertEqual(alone.status, 2, "--ca-file without an online check: " + alone.stderrText)

        // The deploy gate.
        func ok(_ arguments: [String]) throws {
            let r = try TestSupport.modelsec(arguments)
            XCTAssertEqual(r.status, 0, arguments.joined(separator: " ") + ": " + r.stderrText)
        }
        try ok(["keygen", "--type", "ed25519", "--out", path("release.pem")])
        try ok(["keygen", "--type", "x25519", "--out", path("deploy.pem")])
        try FileManager.default.createDirectory(atPath: path("model"), withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: URL(fileURLWithPath: path("model/weights.bin")))
        try ok(["release", "create", path("model"), "--name", "resnet", "--version", "2.1.0", "--signing-key", path("release.pem"),
                "--recipient", path("deploy.pem.pub"), "--output", path("rel")])
        let gate = ["release", "verify", path("rel"), "--public-key", path("release.pem.pub"), "--identity", path("deploy.pem"),
                    "--token-file", tokenFile, "--token-issuer", TokenServiceFixture.issuerURL, "--audience", TokenServiceFixture.audience,
                    "--json"] + online
        let deployed = try TestSupport.modelsec(gate + ["--token-ca-file", pki.caPath, "--output", path("out-ok")])
        XCTAssertEqual(deployed.status, 0, deployed.stdoutText + deployed.stderrText + "\nserver log:\n" + server.log)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("out-ok/weights.bin")))
        for (label, extra) in [("the system's CAs", [String]()), ("another CA", ["--token-ca-file", pki.otherCAPath])] {
            let refused = try TestSupport.modelsec(gate + extra + ["--output", path("out-\(extra.count)")])
            XCTAssertNotEqual(refused.status, 0, "\(label): " + refused.stdoutText)
            XCTAssertTrue(refused.stdoutText.contains("token.fetch-unreachable"), "\(label): " + refused.stdoutText)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out-\(extra.count)/weights.bin")), label)
        }
    }

    /// Plain HTTP on an address other than loopback: `modelsec serve` refuses
    /// to start without `allow_plain_http: true`, starts with it, and starts
    /// without it when TLS is configured.
    func testPlainHTTPOffLoopbackIsRefusedAtStart() throws {
        let pki = try makePKI()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let fixture = try TokenServiceFixture(listen: "127.0.0.1:0", files: ["server.pem": try pki.certificate, "server.key": try pki.key])
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let loopbackYAML = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
        XCTAssertTrue(loopbackYAML.contains("listen: \"127.0.0.1:0\""))
        let anyAddress = loopbackYAML.replacingOccurrences(of: "listen: \"127.0.0.1:0\"", with: "listen: \"0.0.0.0:0\"")

        try anyAddress.write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        let refused = try TestSupport.modelsec(["serve", "--config", fixture.configPath])
        XCTAssertEqual(refused.status, 2, refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("allow_plain_http"), refused.stderrText)

        for (label, extra, scheme) in [("allow_plain_http", "allow_plain_http: true\n", "http"),
                                       ("TLS", "tls_cert: server.pem\ntls_key: server.key\n", "https")] {
            try (anyAddress + extra).write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
            let server = try LiveServer(config: fixture.configPath, directory: fixture.directory)
            XCTAssertEqual(server.scheme, scheme, label)
            XCTAssertTrue(server.log.contains("listening on \(scheme)://0.0.0.0:"), label + ": " + server.log)
            let health = try TestSupport.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", pki.caPath,
                                                      "\(scheme)://127.0.0.1:\(server.port)/healthz"])
            XCTAssertEqual(health.stdoutText, "200", label + ": " + health.stderrText)
            XCTAssertEqual(server.stop(), 0, label + ": " + server.log)
        }
    }

    // MARK: - SIGTERM under load, restart

    /// 50 clients post to /token in a loop (half on keep-alive sessions, half
    /// on a new connection per request); SIGTERM arrives mid-load. Every
    /// request that got a response head got a whole, valid answer (a token
    /// PyJWT verifies, or a JSON OAuth error); the rest got no response at all
    /// (refused or closed before any byte). The server exits 0 within 10 s.
    /// Restarted on the same state file: the same clients are served, tokens
    /// issued before verify against the new /jwks.json and introspect as
    /// active, and a client assertion used before is still a replay.
    func testSIGTERMDuringLoadAnswersWholeOrNotAtAllAndARestartServesTheSameClients() throws {
        // Assertions may live 10 minutes, so the one replayed after the restart is refused as a replay, not as expired.
        let fixture = try TokenServiceFixture(listen: "127.0.0.1:0", extraYAML: "assertion_max_lifetime: 10m\n")
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let server = try LiveServer(config: fixture.configPath, directory: fixture.directory)
        var stopped = false
        defer { if !stopped { _ = server.stop() } }
        let assertion = try fixture.assertion(["exp": Int64(Date().timeIntervalSince1970) + 590])
        let script = """
            import http.client, json, os, sys, threading, time, jwt, requests
            base, pid, secret, issuer, audience, assertion = sys.argv[1], int(sys.argv[2]), *sys.argv[3:7]
            jwks = jwt.PyJWKSet.from_dict(requests.get(base + "/jwks.json", timeout=10).json())
            def verify(token):
                header = jwt.get_unverified_header(token)
                return jwt.decode(token, jwks[header["kid"]].key, algorithms=[header["alg"]], audience=audience, issuer=issuer)
            out = {"assertionBefore": requests.post(base + "/token", data={
                "grant_type": "client_credentials", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion}, timeout=10).status_code}
            lock = threading.Lock()
            answered, whole, invalid, half, unanswered, kept = [0], [0], [], [], [0], []
            signalled = threading.Event()
            done_at = [None]
            def client(index):
                session = requests.Session() if index % 2 == 0 else None
                quiet_since = None
                while True:
                    post = (session or requests).post
                    try:
                        r = post(base + "/token", data={"grant_type": "client_credentials"}, auth=("basic-client", secret),
                                 timeout=20, stream=True)
                    except requests.exceptions.RequestException as e:
                        with lock: unanswered[0] += 1
                        if signalled.is_set():
                            quiet_since = quiet_since or time.time()
                            if time.time() - quiet_since > 1: return
                        time.sleep(0.01)
                        if session is not None: session = requests.Session()
                        continue
                    with lock: answered[0] += 1
                    try:
                        body = r.content
                    except Exception as e:
                        with lock: half.append(repr(e))
                        continue
                    try:
                        document = json.loads(body)
                        if r.status_code == 200:
                            verify(document["access_token"])
                            if len(kept) < 5:
                                with lock: kept.append(document["access_token"])
                        elif not isinstance(document.get("error"), str):
                            raise ValueError("no error code")
                        with lock: whole[0] += 1
                    except Exception as e:
                        with lock: invalid.append("%d %r %r" % (r.status_code, body[:200], e))
            threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
            for t in threads: t.start()
            loading = time.time()
            while answered[0] < 300 and time.time() - loading < 60: time.sleep(0.01)
            before = answered[0]
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                out["goneBeforeSignal"] = True
            signalled.set()
            signalled_at = time.time()
            exited_after = None
            while time.time() - signalled_at < 20:
                try:
                    state = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
                except (FileNotFoundError, ProcessLookupError):  # gone, or reaped between open and read
                    state = "X"
                if state in ("Z", "X"):
                    exited_after = time.time() - signalled_at
                    break
                time.sleep(0.02)
            for t in threads: t.join(30)
            out.update({"answeredBeforeSignal": before, "answered": answered[0], "whole": whole[0], "invalid": invalid[:5],
                        "half": half[:5], "halfCount": len(half), "unanswered": unanswered[0], "exitedAfter": exited_after,
                        "tokens": kept, "threadsLeft": sum(t.is_alive() for t in threads)})
            print(json.dumps(out))
            """
        let seen = try python(script, [server.base, String(server.pid), TokenServiceFixture.basicSecret, TokenServiceFixture.issuerURL,
                                       TokenServiceFixture.audience, assertion], server: server)
        print("SIGTERM under load:", ["answeredBeforeSignal", "answered", "whole", "unanswered", "halfCount", "exitedAfter"]
            .map { "\($0)=\(seen[$0] ?? "nil")" }.joined(separator: " "))
        if seen["goneBeforeSignal"] as? Bool == true {
            _ = server.waitForExit(seconds: 5)
            XCTFail("the server ended before SIGTERM (\(server.process.terminationReason == .uncaughtSignal ? "signal" : "exit status") \(server.process.terminationStatus)): \(server.log.suffix(2000))")
            stopped = true
            return
        }
        XCTAssertEqual(seen["assertionBefore"] as? Int, 200)
        let answered = try XCTUnwrap(seen["answered"] as? Int)
        XCTAssertGreaterThanOrEqual(answered, 300)
        XCTAssertEqual(seen["whole"] as? Int, answered, "every answer is whole and valid: \(seen)")
        XCTAssertEqual(seen["halfCount"] as? Int, 0, "no half answer: \(seen["half"] ?? "")")
        XCTAssertEqual((seen["invalid"] as? [String])?.isEmpty, true, "\(seen["invalid"] ?? "")")
        XCTAssertEqual(seen["threadsLeft"] as? Int, 0)
        let exitedAfter = try XCTUnwrap(seen["exitedAfter"] as? Double, "the server did not exit within 20 s of SIGTERM: \(server.log)")
        XCTAssertLessThan(exitedAfter, 10)
        XCTAssertEqual(server.waitForExit(seconds: 5), 0, "SIGTERM under load is a clean exit: \(server.log)")
        stopped = true

        // The same state file after a restart.
        let again = try LiveServer(config: fixture.configPath, directory: fixture.directory)
        defer { _ = again.stop() }
        let tokens = try XCTUnwrap(seen["tokens"] as? [String])
        XCTAssertFalse(tokens.isEmpty)
        let tokenFile = fixture.directory.appendingPathComponent("before-restart.token").path
        try (tokens[0] + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let secretFile = fixture.directory.appendingPathComponent("basic.secret").path
        try (TokenServiceFixture.basicSecret + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        let verified = try TestSupport.modelsec([
            "token", "verify", "--token-file", tokenFile, "--token-jwks-url", again.base + "/jwks.json",
            "--issuer", TokenServiceFixture.issuerURL, "--audience", TokenServiceFixture.audience, "--token-introspect", again.base,
            "--introspect-client-id", "basic-client", "--introspect-secret-file", secretFile,
        ])
        XCTAssertEqual(verified.status, 0, verified.stderrText + "\nserver log:\n" + again.log)
        let after = try python("""
            import json, sys, requests
            base, secret, assertion = sys.argv[1:4]
            basic = requests.post(base + "/token", data={"grant_type": "client_credentials"}, auth=("basic-client", secret), timeout=10)
            replay = requests.post(base + "/token", data={
                "grant_type": "client_credentials", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion}, timeout=10)
            print(json.dumps({"basic": basic.status_code, "replay": replay.status_code, "replayError": replay.json().get("error")}))
            """, [again.base, TokenServiceFixture.basicSecret, assertion], server: again)
        XCTAssertEqual(after["basic"] as? Int, 200)
        XCTAssertEqual(after["replay"] as? Int, 401, "the assertion's jti was consumed before the restart")
        XCTAssertEqual(after["replayError"] as? String, "invalid_client")
        let fresh = try TestSupport.modelsec(["token", "fetch", "--server", again.base, "--client-id", "jwt-client",
                                              "--client-key", fixture.clientKeyPath, "--output",
                                              fixture.directory.appendingPathComponent("after.token").path])
        XCTAssertEqual(fresh.status, 0, fresh.stderrText)
    }

    // MARK: - Slow loris

    /// 200 connections trickle a request one byte a second (100 in their
    /// headers, 100 in a body whose head arrived whole, which resets the idle
    /// timer with each byte). Each is closed once the documented receive limit
    /// (10 s) has passed and not before; meanwhile a normal client is answered
    /// every time, promptly.
    func testSlowLorisConnectionsAreCutAtTheReceiveLimitWhileOthersAreServed() throws {
        let fixture = try TokenServiceFixture(listen: "127.0.0.1:0")
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let server = try LiveServer(config: fixture.configPath, directory: fixture.directory)
        defer { _ = server.stop() }
        let script = """
            import json, select, socket, sys, time, requests
            base, secret = sys.argv[1:3]
            host, port = base.split("//")[1].split(":")
            slow = []
            for i in range(200):
                opened = time.monotonic()  # before connecting: the server's clock starts later, at accept
                s = socket.create_connection((host, int(port)))
                s.setblocking(False)
                if i % 2 == 0:
                    head = b"POST /token HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/x-www-form-urlencoded\\r\\n"
                    rest = b"X-Padding: " + b"a" * 100 + b"\\r\\n\\r\\n"
                else:
                    head = (b"POST /token HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/x-www-form-urlencoded\\r\\n"
                            b"Content-Length: 200\\r\\n\\r\\n")
                    rest = b"grant_type=client_credentials&pad=" + b"a" * 166
                s.sendall(head)
                slow.append({"socket": s, "rest": rest, "opened": opened, "closed": None, "kind": i % 2})
            latencies, statuses = [], []
            started = time.monotonic()
            next_drip = started
            while time.monotonic() - started < 30 and any(c["closed"] is None for c in slow):
                now = time.monotonic()
                if now >= next_drip:
                    for c in slow:
                        if c["closed"] is None and c["rest"]:
                            try:
                                c["socket"].send(c["rest"][:1])
                                c["rest"] = c["rest"][1:]
                            except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                                pass
                    next_drip = now + 1
                    t = time.monotonic()
                    r = requests.post(base + "/token", data={"grant_type": "client_credentials"}, auth=("basic-client", secret), timeout=10)
                    latencies.append(time.monotonic() - t)
                    statuses.append(r.status_code)
                readable, _, _ = select.select([c["socket"] for c in slow if c["closed"] is None], [], [], 0.05)
                for s in readable:
                    c = next(c for c in slow if c["socket"] is s)
                    try:
                        data = s.recv(4096)
                    except (ConnectionResetError, BlockingIOError):
                        data = b""
                    if data == b"":
                        c["closed"] = time.monotonic() - c["opened"]
                    else:
                        c.setdefault("answers", []).append(data[:60].decode("latin-1"))
            loop_seconds = time.monotonic() - started
            answered = [c["answers"] for c in slow if c.get("answers")]
            print(json.dumps({"closedAfter": [c["closed"] for c in slow], "kinds": [c["kind"] for c in slow],
                              "latencies": latencies, "statuses": statuses, "answered": answered[:3],
                              "loopSeconds": loop_seconds}))
            """
        let seen = try python(script, [server.base, TokenServiceFixture.basicSecret], server: server)
        let closed = try XCTUnwrap(seen["closedAfter"] as? [Any])
        let kinds = try XCTUnwrap(seen["kinds"] as? [Int])
        XCTAssertEqual(closed.count, 200)
        for (index, value) in closed.enumerated() {
            let what = kinds[index] == 0 ? "headers" : "body"
            guard let seconds = value as? Double else {
                XCTFail("slow connection \(index) (\(what)) was never closed")
                continue
            }
            // "opened" is taken before connecting, so this is never less
            // than the server's own 10 s; the close is only seen at the
            // loop's next turn (after a drip and a normal request), hence
            // 18 s. A drip that restarted the limit would keep the
            // connection open past the loop's 30 s.
            XCTAssertGreaterThanOrEqual(seconds, 9.0, "connection \(index) (\(what)) closed before the limit")
            XCTAssertLessThan(seconds, 18.0, "connection \(index) (\(what)) closed late")
        }
        XCTAssertEqual((seen["answered"] as? [Any])?.count, 0, "a slow connection got an answer: \(seen["answered"] ?? "")")
        let statuses = try XCTUnwrap(seen["statuses"] as? [Int])
        let latencies = try XCTUnwrap(seen["latencies"] as? [Double])
        let loopSeconds = try XCTUnwrap(seen["loopSeconds"] as? Double)
        print("slow loris: closed after \(closed.compactMap { $0 as? Double }.min() ?? -1)...\(closed.compactMap { $0 as? Double }.max() ?? -1) s;",
              "\(statuses.count) normal requests in \(loopSeconds) s, client-side latencies \(latencies)")
        // The normal client was answered all through: at least one request
        // per 2 s of the loop (it asks once a second when answered at once).
        XCTAssertGreaterThanOrEqual(statuses.count, Int(loopSeconds / 2), "\(statuses.count) normal requests in \(loopSeconds) s")
        XCTAssertEqual(Set(statuses), [200])
        // Each was sent (timeout 10 s) and answered before the slow
        // connections' own receive limit ran out: none waited behind them.
        XCTAssertLessThan(latencies.max() ?? 99, 9.0, "a normal request waited behind the slow connections: \(latencies)")
        XCTAssertEqual(server.stop(), 0, server.log)
        // Promptly, by the server's own measure (`duration_ms`, from its
        // request head to its answer, in the request log), which does not
        // count the time the client or the machine took elsewhere.
        let durations = try Self.requestDurations(server.log, path: "/token", clientID: "basic-client")
        XCTAssertEqual(durations.count, statuses.count, "one request log line per normal request")
        XCTAssertLessThan(durations.max() ?? 99, 2000, "the normal client was slowed (server duration_ms): \(durations)")
    }

    /// The `duration_ms` of each request-log line (docs/token-service.md,
    /// "Request log") for `path` by `clientID`.
    static func requestDurations(_ log: String, path: String, clientID: String) throws -> [Double] {
        try log.split(separator: "\n").compactMap { line -> Double? in
            guard line.hasPrefix("{"),
                  let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["message"] as? String == "request",
                  object["path"] as? String == path, object["client_id"] as? String == clientID else { return nil }
            return try XCTUnwrap(object["duration_ms"] as? Double, String(line))
        }
    }

    // MARK: - Issuer key sets that hang

    /// Token exchanges whose issuers' `jwks_url`s accept the connection and
    /// never answer, more of them at once than the server has pool threads:
    /// each waits for its fetch (5 s) without holding a thread, so a
    /// client_credentials request sent while all of those fetches are
    /// connected and waiting is answered well before any of them could
    /// time out; each exchange is then answered `temporarily_unavailable`,
    /// and each failed fetch is a warning in the request log naming the URL.
    func testHangingIssuerKeySetsDoNotHoldTheServersThreads() throws {
        let accepted = try TestSupport.makeTemporaryDirectory("hang-accepted").appendingPathComponent("accepted")
        defer { try? FileManager.default.removeItem(at: accepted.deletingLastPathComponent()) }
        let hang = Process()
        hang.executableURL = URL(fileURLWithPath: try TestSupport.python())
        // One line in `accepted` per connection taken (and held, unanswered).
        hang.arguments = ["-c", """
            import socket, sys
            accepted = open(sys.argv[1], "a")
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(128)
            print(s.getsockname()[1], flush=True)
            held = []
            while True:
                held.append(s.accept()[0])
                accepted.write("accepted\\n")
                accepted.flush()
            """, accepted.path]
        let out = Pipe()
        hang.standardOutput = out
        hang.standardError = FileHandle.nullDevice
        try hang.run()
        defer { hang.terminate(); hang.waitUntilExit() }
        let port = Int(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(port, 0)

        let count = ProcessInfo.processInfo.activeProcessorCount + 2
        var yaml = "trust:\n"
        for index in 0..<count {
            yaml += """
                  - name: hang-\(index)
                    issuer: "https://hang-\(index).example"
                    jwks_url: "http://127.0.0.1:\(port)/jwks-\(index).json"
                    audience: "\(WorkloadIssuer.audience)"
                    claims: {kubernetes.io.namespace: prod}
                    scopes: ["model:deploy:resnet@*"]

                """
        }
        let fixture = try TokenServiceFixture(listen: "127.0.0.1:0", extraYAML: yaml)
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let server = try LiveServer(config: fixture.configPath, directory: fixture.directory)
        defer { _ = server.stop() }
        let workload = WorkloadIssuer()
        let tokens = try (0..<count).map { try workload.token(overrides: ["iss": "https://hang-\($0).example"]) }
        let script = """
            import json, sys, threading, time, requests
            base, secret, accepted, tokens = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
            exchanges = [None] * len(tokens)
            def exchange(i):
                started = time.monotonic()
                r = requests.post(base + "/token", data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": tokens[i],
                    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}, timeout=30)
                exchanges[i] = {"status": r.status_code, "error": r.json().get("error"), "seconds": time.monotonic() - started}
            def connected():
                with open(accepted) as f:
                    return f.read().count("\\n")
            threads = [threading.Thread(target=exchange, args=(i,)) for i in range(len(tokens))]
            for t in threads: t.start()
            # Only once every key set fetch is connected and waiting does the
            # basic request go: it then meets all of them at once.
            deadline = time.monotonic() + 30
            while connected() < len(tokens) and time.monotonic() < deadline:
                time.sleep(0.01)
            waiting = connected()
            started = time.monotonic()
            basic = requests.post(base + "/token", data={"grant_type": "client_credentials"}, auth=("basic-client", secret), timeout=30)
            basic_seconds = time.monotonic() - started
            for t in threads: t.join(60)
            print(json.dumps({"basic": basic.status_code, "basicSeconds": basic_seconds, "waitingFetches": waiting,
                              "exchanges": exchanges}))
            """
        let seen = try python(script, [server.base, TokenServiceFixture.basicSecret, accepted.path] + tokens, server: server)
        XCTAssertEqual(seen["waitingFetches"] as? Int, count, "the key set fetches were not all under way at once: \(server.log)")
        XCTAssertEqual(seen["basic"] as? Int, 200)
        // A request queued behind the fetches would be answered only when
        // one of them gives up, 5 s (RemoteKeySet.timeout) after it
        // connected, which was before this request was sent; 3.5 s leaves
        // room for a loaded machine and still tells the two apart.
        let basicSeconds = try XCTUnwrap(seen["basicSeconds"] as? Double)
        print("hanging key sets: basic request answered in \(basicSeconds) s with \(count) fetches waiting")
        XCTAssertLessThan(basicSeconds, RemoteKeySet.timeout - 1.5, "a client_credentials request waited behind key set fetches: \(server.log)")
        let exchanges = try XCTUnwrap(seen["exchanges"] as? [[String: Any]])
        XCTAssertEqual(exchanges.count, count)
        for (index, answer) in exchanges.enumerated() {
            XCTAssertEqual(answer["status"] as? Int, 503, "exchange \(index): \(answer)")
            XCTAssertEqual(answer["error"] as? String, "temporarily_unavailable", "exchange \(index)")
            XCTAssertGreaterThanOrEqual(answer["seconds"] as? Double ?? 0, 4.5, "exchange \(index) did not wait for its fetch")
        }
        XCTAssertEqual(server.stop(), 0)
        let warnings = server.log.split(separator: "\n").filter { $0.contains("could not be fetched") }
        XCTAssertEqual(warnings.count, count, server.log)
        for index in 0..<count {
            XCTAssertTrue(warnings.contains { $0.contains("http://127.0.0.1:\(port)/jwks-\(index).json") }, "\(index): \(warnings)")
        }
    }
}
