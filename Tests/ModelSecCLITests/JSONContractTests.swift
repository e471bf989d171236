import Foundation
import TestSupport
import XCTest

/// The `--json` contract (docs/cli-json.md): every command that takes
/// `--json` prints exactly one JSON document on stdout whatever happens,
/// `{"ok": true, ...}` or `{"ok": false, "error": {...}}`, every document
/// validates against its schema in docs/schemas/ (python `jsonschema`,
/// draft 2020-12), every field name is camelCase, `error.exitCode` is the
/// process's exit status, and every error code is listed in docs/errors.md
/// with that exit code.
final class JSONContractTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("cli-json") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// One run to check: the schema its output must satisfy.
    struct Case {
        let schema: String
        let arguments: [String]
        let status: Int32
        let stdout: Data
        let stderr: String
    }

    var cases: [Case] = []

    /// Runs modelsec, records the output for the schema check, and asserts
    /// the exit status.
    @discardableResult
    func run(_ schema: String, _ arguments: [String], expect status: Int32, stdin: Data? = nil,
             environment: [String: String]? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let started = Date()
        let r = try TestSupport.modelsec(arguments, stdin: stdin, environment: environment)
        if Date().timeIntervalSince(started) > 3 { print("slow (\(Int(Date().timeIntervalSince(started)))s): \(arguments.joined(separator: " "))") }
        XCTAssertEqual(r.status, status, "\(arguments.joined(separator: " ")): \(r.stderrText)", file: file, line: line)
        cases.append(Case(schema: schema, arguments: arguments, status: r.status, stdout: r.stdout, stderr: r.stderrText))
        return (try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]) ?? [:]
    }

    /// Every schema the test validates against, beside the envelope.
    static let schemas = ["sign", "verify", "keygen", "key-inspect", "encrypt", "decrypt", "inspect-encrypted", "token-issue",
                          "token-verify", "token-inspect", "release-create", "release-verify", "release-inspect", "scan",
                          "log-init", "log-append", "log-publish", "log-verify", "log-prove", "log-check-proof", "log-cosign", "log-add-cosignatures", "log-monitor",
                          "audit", "policy-lint", "store-status", "store-migrate", "store-copy", "serve-client-add", "serve-rotate-key", "serve-audit", "token-fetch",
                          "dp-release", "dp-budget", "dp-sgd"]

    func testEveryJSONOutputMatchesItsSchema() throws {
        // Keys.
        try run("keygen", ["keygen", "--type", "ed25519", "--out", path("sign.pem"), "--json"], expect: 0)
        try run("keygen", ["keygen", "--type", "x25519", "--out", path("deploy.pem"), "--json"], expect: 0)
        try run("keygen", ["keygen", "--type", "aes256", "--out", path("k.key"), "--json"], expect: 0)
        try run("keygen", ["keygen", "--type", "ed25519", "--out", path("other.pem"), "--json"], expect: 0)
        try "pass phrase\n".write(toFile: path("pass.txt"), atomically: true, encoding: .utf8)
        try run("keygen", ["keygen", "--type", "p256", "--out", path("locked.pem"), "--key-passphrase-file", path("pass.txt"), "--json"], expect: 0)
        try run("keygen", ["keygen", "--type", "ed25519", "--out", path("sign.pem"), "--json"], expect: 2)      // exists
        try run("keygen", ["keygen", "--type", "rsa", "--out", path("x.pem"), "--json"], expect: 2)            // bad value
        try run("key-inspect", ["key", "inspect", path("sign.pem"), "--json"], expect: 0)
        try run("key-inspect", ["key", "inspect", path("sign.pem.pub"), "--json"], expect: 0)
        try run("key-inspect", ["key", "inspect", path("locked.pem"), "--json"], expect: 0)
        try run("key-inspect", ["key", "inspect", path("k.key"), "--json"], expect: 0)
        try run("key-inspect", ["key", "inspect", path("nosuch.pem"), "--json"], expect: 2)

        // Signing.
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: model.appendingPathComponent("weights.bin"))
        try Data("{}".utf8).write(to: model.appendingPathComponent("config.json"))
        try run("sign", ["sign", model.path, "--key", path("sign.pem"), "--output", path("model.sig"), "--json"], expect: 0)
        try run("sign", ["sign", model.path, "--key", path("sign.pem"), "--output", path("model.sig"), "--json"], expect: 2)
        try run("sign", ["sign", model.path, "--key", path("sign.pem.pub"), "--output", path("m2.sig"), "--json"], expect: 2)
        try run("sign", ["sign", model.path, "--json"], expect: 2)                                                  // missing --key
        let verify = ["verify", model.path, "--signature", path("model.sig")]
        try run("verify", verify + ["--public-key", path("sign.pem.pub"), "--json"], expect: 0)
        try run("verify", verify + ["--public-key", path("other.pem.pub"), "--json"], expect: 1)               // untrusted
        try run("verify", verify + ["--pubkey", path("sign.pem.pub"), "--json"], expect: 2)                    // typo
        try run("verify", verify + ["--public-key", path("sign.pem.pub"), "--file", "nosuch.bin", "--json"], expect: 2)
        try Data("tampered".utf8).write(to: model.appendingPathComponent("weights.bin"))
        let mismatch = try run("verify", verify + ["--public-key", path("sign.pem.pub"), "--json"], expect: 1)
        XCTAssertEqual(mismatch["modified"] as? [String], ["weights.bin"], "the report rides beside the error")
        try run("verify", ["verify", model.path, "--signature", path("nosuch.sig"), "--public-key", path("sign.pem.pub"), "--json"], expect: 2)

        // Encryption.
        try Data(repeating: 7, count: 100_000).write(to: URL(fileURLWithPath: path("plain.bin")))
        try run("encrypt", ["encrypt", path("plain.bin"), "-o", path("p.enc"), "--recipient", path("deploy.pem.pub"), "--json"], expect: 0)
        try run("encrypt", ["encrypt", path("plain.bin"), "-o", path("p.enc"), "--recipient", path("deploy.pem.pub"), "--json"], expect: 2)
        try run("encrypt", ["encrypt", path("plain.bin"), "-o", path("q.enc"), "--json"], expect: 2)
        try run("encrypt", ["encrypt", path("nosuch.bin"), "-o", path("r.enc"), "--key-file", path("k.key"), "--json"], expect: 2)
        try run("decrypt", ["decrypt", path("p.enc"), "-o", path("p.out"), "--identity", path("deploy.pem"), "--json"], expect: 0)
        try run("decrypt", ["decrypt", path("p.enc"), "-o", path("p2.out"), "--key-file", path("k.key"), "--json"], expect: 1)
        try run("decrypt", ["decrypt", path("p.enc"), "-o", path("p3.out"), "--identity", path("deploy.pem.pub"), "--json"], expect: 2)
        try run("inspect-encrypted", ["inspect-encrypted", path("p.enc"), "--json"], expect: 0)
        try run("inspect-encrypted", ["inspect-encrypted", path("plain.bin"), "--json"], expect: 2)

        // Tokens.
        let issuer = ["--issuer", "https://reg.example", "--audience", "deploy"]
        let issued = try run("token-issue", ["token", "issue", "--key", path("sign.pem")] + issuer +
                             ["--subject", "ci", "--scope", "model:deploy:clf@1.0.0", "--json"], expect: 0)
        try run("token-issue", ["token", "issue", "--key", path("sign.pem")] + issuer + ["--subject", "ci", "--json"], expect: 2)
        let token = try XCTUnwrap(issued["token"] as? String)
        try token.write(toFile: path("tok"), atomically: true, encoding: .utf8)
        let tokenVerify = ["token", "verify", "--public-key", path("sign.pem.pub")] + issuer
        try run("token-verify", tokenVerify + ["--token-file", path("tok"), "--json"], expect: 0)
        try run("token-verify", tokenVerify + ["-", "--json"], expect: 0, stdin: Data(token.utf8))
        try run("token-verify", tokenVerify + ["--token-env", "MS_TOKEN", "--json"], expect: 0, environment: ["MS_TOKEN": token])
        let rejected = try run("token-verify", tokenVerify + ["--token-file", path("tok"), "--require-scope", "model:deploy:clf@2.0.0", "--json"], expect: 1)
        XCTAssertEqual((rejected["error"] as? [String: Any])?["exitCode"] as? Int, 1)
        try run("token-verify", tokenVerify + [path("tok"), "--json"], expect: 2)                                  // a file name
        try run("token-verify", ["token", "verify", "--public-key", path("sign.pem.pub"), "--issuer", "x", "--audience", "y", "--json"], expect: 2)
        try run("token-inspect", ["token", "inspect", token], expect: 0)
        try run("token-inspect", ["token", "inspect", "not-a-token"], expect: 2)

        // Releases.
        let clean = dir.appendingPathComponent("clean")
        try FileManager.default.createDirectory(at: clean, withIntermediateDirectories: true)
        try Data("safe weights".utf8).write(to: clean.appendingPathComponent("weights.bin"))
        let notAModel = dir.appendingPathComponent("docs-only")
        try FileManager.default.createDirectory(at: notAModel, withIntermediateDirectories: true)
        try Data("# readme".utf8).write(to: notAModel.appendingPathComponent("README.md"))
        let create = ["release", "create", clean.path, "--name", "clf", "--version", "1.0.0", "--signing-key", path("sign.pem"),
                      "--recipient", path("deploy.pem.pub")]
        try run("release-create", create + ["--output", path("rel"), "--json"], expect: 0)
        try run("release-create", create + ["--output", path("rel"), "--json"], expect: 2)                         // exists
        try run("release-create", create + ["--output", path("rel"), "--force", "--json"], expect: 0)
        try run("release-create", ["release", "create", clean.path, "--name", "clf", "--version", "1.0.0",
                                   "--signing-key", path("sign.pem"), "--output", path("rel2"), "--json"], expect: 2)
        try run("release-inspect", ["release", "inspect", path("rel"), "--json"], expect: 0)
        try run("release-inspect", ["release", "inspect", clean.path, "--json"], expect: 2)
        let gate = ["release", "verify", path("rel"), "--identity", path("deploy.pem")]
        try run("release-verify", gate + ["--public-key", path("sign.pem.pub"), "--output", path("deployed"), "--json"], expect: 0)
        let refused = try run("release-verify", gate + ["--public-key", path("other.pem.pub"), "--output", path("deployed2"), "--json"], expect: 1)
        XCTAssertEqual(refused["deployed"] as? Bool, false)
        try run("release-verify", gate + ["--output", path("deployed3"), "--json"], expect: 2)

        // Scanner.
        try run("scan", ["scan", notAModel.path, "--json"], expect: 0)
        let evil = dir.appendingPathComponent("evil")
        try FileManager.default.createDirectory(at: evil, withIntermediateDirectories: true)
        try Data("cos\nsystem\n(S'echo owned'\ntR.".utf8).write(to: evil.appendingPathComponent("model.pkl"))
        let findings = try run("scan", ["scan", evil.path, "--json"], expect: 1)
        XCTAssertEqual((findings["summary"] as? [String: Any])?["dangerous"] as? Int, 1)
        try run("scan", ["scan", path("nosuch"), "--json"], expect: 2)

        // Transparency log.
        try run("keygen", ["keygen", "--type", "ed25519", "--out", path("log.pem"), "--json"], expect: 0)
        try run("keygen", ["keygen", "--type", "ed25519", "--out", path("witness.pem"), "--json"], expect: 0)
        let logInit = ["log", "init", "--origin", "example.com/models", "--key", path("log.pem"), path("log"), "--json"]
        let created = try run("log-init", logInit, expect: 0)
        let vkey = try XCTUnwrap(created["vkey"] as? String)
        try run("log-init", logInit, expect: 2)                                                                    // not empty
        let append = ["log", "append", path("log"), "--key", path("log.pem"), "--release", path("rel")]
        try run("log-append", append + ["--public-key", path("other.pem.pub"), "--json"], expect: 1)             // not signed by it
        try run("log-append", append + ["--public-key", path("sign.pem.pub"), "--json"], expect: 0)
        try run("log-append", ["log", "append", path("nosuch-log"), "--key", path("log.pem"), "--release", path("rel"), "--json"], expect: 2)
        try run("log-verify", ["log", "verify", path("log"), "--log-key", vkey, "--json"], expect: 0)
        try run("log-verify", ["log", "verify", path("nosuch-log"), "--log-key", vkey, "--json"], expect: 2)
        try run("log-prove", ["log", "prove", path("log"), "--log-key", vkey, "--release", path("rel"), "--json"], expect: 0)
        try run("log-prove", ["log", "prove", path("log"), "--log-key", vkey, "--release", path("rel"), "--json"], expect: 2)  // exists
        let proof = path("rel") + "/release.tlog-proof"
        try run("log-check-proof", ["log", "check-proof", proof, "--log-key", vkey, "--release", path("rel"), "--json"], expect: 0)
        try run("log-check-proof", ["log", "check-proof", path("nosuch.proof"), "--log-key", vkey, "--release", path("rel"), "--json"], expect: 2)
        let cosign = ["log", "cosign", path("log"), "--key", path("witness.pem"), "--name", "witness.example/w1", "--log-key", vkey]
        try run("log-cosign", cosign + ["--state", path("witness-state"), "--json"], expect: 0)
        try run("log-cosign", ["log", "cosign", path("nosuch-log"), "--key", path("witness.pem"), "--name", "witness.example/w1",
                               "--log-key", vkey, "--state", path("witness-state"), "--json"], expect: 2)
        let witnessVkey = try XCTUnwrap(try run("log-cosign", cosign + ["--state", path("witness-state"), "--output", path("w1.cosigned"), "--json"],
                                                expect: 0)["witnessVkey"] as? String)
        try run("log-add-cosignatures", ["log", "add-cosignatures", path("log"), "--log-key", vkey, "--witness-key", witnessVkey,
                                         path("w1.cosigned"), "--json"], expect: 0)
        try run("log-add-cosignatures", ["log", "add-cosignatures", path("log"), "--log-key", vkey, "--witness-key", witnessVkey,
                                         path("nosuch.cosigned"), "--json"], expect: 2)
        let signerKeyID = try XCTUnwrap(try run("key-inspect", ["key", "inspect", path("sign.pem.pub"), "--json"], expect: 0)["keyId"] as? String)
        let monitored = try run("log-monitor", ["log", "monitor", path("log"), "--log-key", vkey, "--key-id", signerKeyID, "--json"], expect: 0)
        XCTAssertEqual((monitored["releases"] as? [[String: Any]])?.first?["name"] as? String, "clf")
        try run("log-monitor", ["log", "monitor", path("nosuch-log"), "--log-key", vkey, "--key-id", signerKeyID, "--json"], expect: 2)
        // clf@1.0.0 made and logged again (another statement: new ciphertexts): a conflict fails the
        // monitor, with its report beside the error (walk12 F3: the schema had no such branch).
        try run("release-create", create + ["--output", path("rel-again"), "--json"], expect: 0)
        try run("log-append", ["log", "append", path("log"), "--key", path("log.pem"), "--release", path("rel-again"), "--json"], expect: 0)
        let conflict = try run("log-monitor", ["log", "monitor", path("log"), "--log-key", vkey, "--key-id", signerKeyID, "--json"], expect: 1)
        XCTAssertEqual((conflict["conflicts"] as? [[String: Any]])?.first?["release"] as? String, "clf@1.0.0", "\(conflict)")

        // Policies and audits.
        try run("policy-lint", ["policy", "lint", TestSupport.repositoryRoot.appendingPathComponent("policies/baseline.yaml").path, "--json"], expect: 0)
        try "name: broken\nrules: 3\n".write(toFile: path("broken.yaml"), atomically: true, encoding: .utf8)
        let lint = try run("policy-lint", ["policy", "lint", path("broken.yaml"), "--json"], expect: 1)
        XCTAssertEqual(lint["valid"] as? Bool, false, "the problems ride beside the error")
        try run("policy-lint", ["policy", "lint", path("nosuch.yaml"), "--json"], expect: 2)
        let policy = TestSupport.repositoryRoot.appendingPathComponent("policies/baseline.yaml").path
        // A policy that the release meets (exit 0), and the shipped baseline, which denies
        // the test's weights file (the scanner cannot read it: exit 1, the report beside the error).
        try """
        name: signed-only
        version: "1"
        rules:
          - id: SIG
            title: Signed by a trusted key
            severity: deny
            check: signed-by-trusted-key
            params: {keys: ["\(path("sign.pem.pub"))"]}

        """.write(toFile: path("signed-only.yaml"), atomically: true, encoding: .utf8)
        let audit = ["audit", path("rel"), "--policy", path("signed-only.yaml")]
        try run("audit", audit + ["--json"], expect: 0)
        let denied = try run("audit", ["audit", path("rel"), path("docs-only"), "--policy", policy, "--public-key", path("sign.pem.pub"), "--json"],
                             expect: 1)
        XCTAssertEqual((denied["totals"] as? [String: Any])?["releases"] as? Int, 2, "the report rides beside the error")
        try run("audit", audit + ["--format", "html", "--output", path("audit.html"), "--json"], expect: 0)
        try run("audit", audit + ["--format", "html", "--output", path("audit.html"), "--json"], expect: 2)             // exists
        try run("audit", audit + ["--format", "pdf", "--json"], expect: 2)
        // The token service's client registry.
        try """
            issuer: http://127.0.0.1:8787
            signing_key: sign.pem
            audience: deploy-gateway
            state: serve.sqlite
            """.write(toFile: path("service.yaml"), atomically: true, encoding: .utf8)
        let add = ["serve", "client", "add", "--config", path("service.yaml"), "--scope", "model:deploy:resnet@*"]
        let added = try run("serve-client-add", add + ["deployer", "--json"], expect: 0)
        XCTAssertEqual((added["secret"] as? String)?.count, 43, "the secret is shown once, in the result")
        try run("serve-client-add", add + ["ci", "--secret-out", path("ci.secret"), "--max-ttl", "10m", "--json"], expect: 0)
        try run("serve-client-add", add + ["deployer", "--json"], expect: 2)                                    // exists
        // A failed registration leaves an earlier --secret-out file as it was, even with --force.
        try "earlier secret\n".write(toFile: path("keep.secret"), atomically: true, encoding: .utf8)
        try run("serve-client-add", add + ["deployer", "--secret-out", path("keep.secret"), "--force", "--json"], expect: 2)
        XCTAssertEqual(try String(contentsOfFile: path("keep.secret"), encoding: .utf8), "earlier secret\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("keep.secret") }, ["keep.secret"],
                       "no temporary file is left")
        try run("serve-client-add", add + ["bad id", "--json"], expect: 2)
        try run("serve-client-add", ["serve", "client", "add", "x", "--config", path("nosuch.yaml"), "--scope", "model:a:b@c", "--json"], expect: 2)
        let rotate = ["serve", "rotate-key", "--config", path("service.yaml"), "--json"]
        try run("serve-rotate-key", rotate, expect: 0)                                                          // adds a next key
        let rotated = try run("serve-rotate-key", rotate, expect: 0)                                            // promotes it
        XCTAssertEqual(rotated["promoted"] as? Bool, true)
        try run("serve-rotate-key", rotate + ["--new-key", path("nosuch.pem")], expect: 2)
        let audited = try run("serve-audit", ["serve", "audit", "--config", path("service.yaml"), "--since", "1h", "--json"], expect: 0)
        XCTAssertEqual(audited["count"] as? Int, 0, "nothing was served yet")
        try run("serve-audit", ["serve", "audit", "--config", path("nosuch.yaml"), "--json"], expect: 2)

        // token fetch: the failures that need no server (a live server is TokenServerTests').
        try "s3cret\n".write(toFile: path("fetch.secret"), atomically: true, encoding: .utf8)
        let fetch = ["token", "fetch", "--client-id", "deployer", "--client-secret-file", path("fetch.secret"), "--output", path("fetched.txt")]
        try run("token-fetch", fetch + ["--server", "http://127.0.0.1:9", "--json"], expect: 2)                 // nothing listens
        try run("token-fetch", fetch + ["--server", "http://127.0.0.1:9", "--client-key", path("sign.pem"), "--json"], expect: 2)

        // Differential privacy: every shape of dp sgd, dp budget and dp release.
        try run("dp-sgd", ["dp", "sgd", "--sample-rate", "2", "--delta", "1e-5", "--steps", "10", "--noise-multiplier", "1", "--json"], expect: 2)
        for accountant in [["--accountant", "pld"], ["--accountant", "rdp"], ["--sampling", "fixed-size"], ["--sampling", "shuffle"]] {
            try run("dp-sgd", ["dp", "sgd", "--noise-multiplier", "1.1", "--sample-rate", "0.01", "--steps", "200", "--delta", "1e-5", "--json"]
                    + accountant, expect: 0)
        }
        try run("dp-sgd", ["dp", "sgd", "--target-epsilon", "3", "--sample-rate", "0.01", "--steps", "200", "--delta", "1e-5", "--json"], expect: 0)
        try run("dp-budget", ["dp", "budget", "--ledger", path("l.db"), "--dataset", "d", "--set-total", "5", "--delta", "1e-6", "--json"], expect: 0)
        var rows = "person,v,group\n"
        for i in 0..<400 { rows += "p\(i % 150),\(i % 37),\(["a", "b", "c"][i % 3])\n" }
        try rows.write(toFile: path("dp.csv"), atomically: true, encoding: .utf8)
        let input = ["dp", "release", "--input", path("dp.csv"), "--ledger", path("l.db"), "--dataset", "d", "--json"]
        for release in [["--column", "v", "--statistic", "count", "--epsilon", "0.1"],
                        ["--column", "v", "--statistic", "mean", "--bounds", "0,40", "--epsilon", "0.2"],
                        ["--column", "v", "--statistic", "sum", "--bounds", "0,40", "--epsilon", "0.2", "--delta", "1e-7", "--mechanism", "gaussian"],
                        ["--column", "group", "--statistic", "histogram", "--categories", "a,b,c", "--epsilon", "0.2"],
                        ["--column", "v", "--statistic", "quantile", "--quantile", "0.5", "--bounds", "0,40", "--epsilon", "0.2"],
                        ["--column", "v", "--statistic", "mean", "--bounds", "0,40", "--epsilon", "0.2", "--privacy-id", "person", "--max-rows-per-id", "3"],
                        ["--column", "v", "--statistic", "count", "--group-by", "group", "--epsilon", "0.5", "--delta", "1e-7",
                         "--privacy-id", "person", "--max-rows-per-id", "3"]] {
            try run("dp-release", input + release, expect: 0)
        }
        try run("dp-release", input + ["--column", "v", "--statistic", "count", "--epsilon", "50"], expect: 1)   // over budget
        try run("dp-release", ["dp", "release", "--input", path("nosuch.csv"), "--column", "a", "--statistic", "count",
                               "--epsilon", "1", "--json"], expect: 2)
        try run("dp-budget", ["dp", "budget", "--ledger", path("l.db"), "--show", "--dataset", "d", "--json"], expect: 0)
        try run("dp-budget", ["dp", "budget", "--ledger", path("l.db"), "--show", "--json"], expect: 0)
        // The state store (SQLite here; the PostgreSQL engine is ModelSecStoreTests').
        try run("store-status", ["store", "status", "--store", "sqlite:" + path("s.db"), "--json"], expect: 2)   // no such file
        try run("store-migrate", ["store", "migrate", "--store", "sqlite:" + path("s.db"), "--json"], expect: 0)
        try run("store-status", ["store", "status", "--store", "sqlite:" + path("s.db"), "--json"], expect: 0)
        try run("store-migrate", ["store", "migrate", "--store", "postgres://u:pw@127.0.0.1/x", "--json"], expect: 2)
        try run("store-migrate", ["store", "migrate", "--store", "sqlite:" + path("c.db"), "--json"], expect: 0)
        try run("store-copy", ["store", "copy", "--from", "sqlite:" + path("l.db"), "--to", "sqlite:" + path("c.db"), "--json"], expect: 0)
        try run("store-copy", ["store", "copy", "--from", "sqlite:" + path("l.db"), "--to", "sqlite:" + path("c.db"), "--json"], expect: 2)
        // The log sequenced by the store (the directory log moves in), then published elsewhere.
        try run("log-append", append + ["--store", "sqlite:" + path("c.db"), "--json"], expect: 0)
        try run("log-publish", ["log", "publish", path("web"), "--store", "sqlite:" + path("c.db"), "--origin", "example.com/models", "--json"], expect: 0)
        try run("log-publish", ["log", "publish", path("web2"), "--store", "sqlite:" + path("c.db"), "--origin", "nosuch.example", "--json"], expect: 2)
        try run("store-status", ["store", "status", "--store", "sqlite:" + path("c.db"), "--json"], expect: 0)
        try run("envelope", ["policy", "lint", path("nosuch.yaml"), "--json"], expect: 2)
        try run("envelope", ["audit", path("rel"), "--json"], expect: 2)
        try run("envelope", ["sgin", model.path, "--json"], expect: 2)

        try validateAll()
        try assertEveryJSONCommandCovered()
    }

    /// One Python run validates every recorded output.
    func validateAll() throws {
        let outputs = dir.appendingPathComponent("outputs")
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        var manifest: [[String: Any]] = []
        for (index, c) in cases.enumerated() {
            let file = outputs.appendingPathComponent("\(index).json")
            try c.stdout.write(to: file)
            manifest.append(["file": file.path, "schema": c.schema, "status": Int(c.status),
                             "command": c.arguments.joined(separator: " "), "stderr": c.stderr])
        }
        let manifestURL = dir.appendingPathComponent("manifest.json")
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        let script = dir.appendingPathComponent("validate.py")
        try Self.validator.write(to: script, atomically: true, encoding: .utf8)
        let docs = TestSupport.repositoryRoot.appendingPathComponent("docs")
        let r = try TestSupport.run(try TestSupport.python(), [script.path, docs.path, manifestURL.path])
        XCTAssertEqual(r.status, 0, r.stdoutText + r.stderrText)
    }

    /// Every command with a `--json` flag (from ArgumentParser's own tool
    /// description) is run above at least once.
    func assertEveryJSONCommandCovered() throws {
        let dump = try TestSupport.modelsec(["--experimental-dump-help"])
        let tool = try XCTUnwrap(try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any])
        var withJSON: [String] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            let names = (command["arguments"] as? [[String: Any]] ?? []).flatMap { ($0["names"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
            if names.contains("json") { withJSON.append(path.joined(separator: " ")) }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                walk(sub, path + [sub["commandName"] as? String ?? "?"])
            }
        }
        walk(try XCTUnwrap(tool["command"] as? [String: Any]), [])
        XCTAssertFalse(withJSON.isEmpty)
        for command in withJSON {
            let words = command.split(separator: " ").map(String.init)
            XCTAssertTrue(cases.contains { $0.arguments.starts(with: words) }, "no --json case runs `modelsec \(command)`")
        }
    }

    /// The checks, in Python with the pinned `jsonschema`.
    static let validator = #"""
import json, pathlib, re, sys
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

docs = pathlib.Path(sys.argv[1])
cases = json.loads(pathlib.Path(sys.argv[2]).read_text())
resources = []
for f in sorted((docs / "schemas").glob("*.schema.json")):
    doc = json.loads(f.read_text())
    Draft202012Validator.check_schema(doc)
    resources.append((doc["$id"], Resource.from_contents(doc)))
registry = Registry().with_resources(resources)
base = "https://schemas.modelsec.example/cli/"

# docs/errors.md: | `code` | exit | ... rows.
documented = {}
for line in (docs / "errors.md").read_text().splitlines():
    m = re.match(r"^\|\s*`([^`]+)`\s*\|\s*([12])\s*\|", line)
    if m:
        documented[m.group(1)] = int(m.group(2))

FOREIGN = {"claims", "header", "modelCard", "dpReport"}  # documents with their own names
NAME = re.compile(r"^[a-z][a-z0-9]*([A-Z][a-z0-9]*)*$")

def bad_names(value, where="$"):
    problems = []
    if isinstance(value, dict):
        for k, v in value.items():
            # The dp names whose spelling the privacy ledger's digests fix (docs/cli-json.md).
            if k in ("maxRowsPerID", "dataSHA256", "resultSHA256"):
                pass
            elif not NAME.match(k) or re.search(r"[A-Z]{2}", k):
                problems.append(f"{where}.{k}")
            if k not in FOREIGN:
                problems += bad_names(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            problems += bad_names(v, f"{where}[{i}]")
    return problems

failures = []
for c in cases:
    label = f"modelsec {c['command']} (exit {c['status']})"
    text = pathlib.Path(c["file"]).read_text()
    try:
        doc = json.loads(text)  # exactly one document: json.loads refuses trailing data
    except ValueError as e:
        failures.append(f"{label}: stdout is not one JSON document ({e}): {text[:200]!r}; stderr: {c['stderr'][:300]}")
        continue
    schema = {"$ref": base + c["schema"] + ".schema.json"}
    if c["schema"] == "envelope":
        schema = {"$ref": base + "envelope.schema.json#/$defs/failure"} if c["status"] else {"$ref": base + "envelope.schema.json#/$defs/success"}
    errors = sorted(Draft202012Validator(schema, registry=registry).iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors[:3]:
        failures.append(f"{label}: {c['schema']} schema: {e.message} at {list(e.absolute_path)}")
    if doc.get("ok") != (c["status"] == 0):
        failures.append(f"{label}: ok is {doc.get('ok')!r}")
    if c["status"] != 0:
        error = doc.get("error") or {}
        if error.get("exitCode") != c["status"]:
            failures.append(f"{label}: error.exitCode {error.get('exitCode')!r} is not the exit status")
        code = error.get("code")
        if code not in documented:
            failures.append(f"{label}: error code {code!r} is not listed in docs/errors.md")
        elif documented[code] != c["status"]:
            failures.append(f"{label}: docs/errors.md gives {code} exit {documented[code]}")
    for where in bad_names(doc):
        failures.append(f"{label}: field {where} is not camelCase")

for f in failures:
    print(f)
print(f"{len(cases)} outputs checked, {len(failures)} problems")
sys.exit(1 if failures else 0)
"""#
}
