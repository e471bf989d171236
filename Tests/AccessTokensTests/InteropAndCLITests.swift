import AccessTokens
import Foundation
import ModelSecCrypto
import TestSupport
import XCTest

/// The `modelsec token` commands end to end, and interop with PyJWT both ways.
final class InteropAndCLITests: XCTestCase {
    let issuer = "https://registry.example"
    let audience = "deploy-gateway"

    struct Keys {
        let dir: URL
        var ed: String { dir.appendingPathComponent("ed.pem").path }
        var ec: String { dir.appendingPathComponent("ec.pem").path }
        var edKid: String
        var ecKid: String
    }

    func makeKeys() throws -> Keys {
        let dir = try TestSupport.makeTemporaryDirectory("tokens")
        var kids: [String] = []
        for (type, name) in [("ed25519", "ed.pem"), ("p256", "ec.pem")] {
            let r = try TestSupport.modelsec(["keygen", "--type", type, "--out", dir.appendingPathComponent(name).path])
            XCTAssertEqual(r.status, 0, r.stderrText)
            kids.append(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return Keys(dir: dir, edKid: kids[0], ecKid: kids[1])
    }

    func verifyArgs(_ token: String, _ keys: Keys, extra: [String] = []) -> [String] {
        ["token", "verify", token, "--public-key", keys.ed + ".pub", "--public-key", keys.ec + ".pub",
         "--issuer", issuer, "--audience", audience] + extra
    }

    func issue(_ keys: Keys, key: String? = nil, extra: [String] = []) throws -> String {
        let r = try TestSupport.modelsec(["token", "issue", "--key", key ?? keys.ed, "--issuer", issuer, "--audience", audience,
                                          "--subject", "ci", "--scope", "model:deploy:resnet@2.1.0", "--scope", "model:pull:resnet@*"] + extra)
        XCTAssertEqual(r.status, 0, r.stderrText)
        return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: CLI

    func testIssueVerifyExitCodesAndReasons() throws {
        let keys = try makeKeys()
        let token = try issue(keys)
        XCTAssertEqual(token.split(separator: ".").count, 3)

        var r = try TestSupport.modelsec(verifyArgs(token, keys, extra: ["--require-scope", "model:pull:resnet@3.0"]))
        XCTAssertEqual(r.status, 0, r.stderrText)
        let claims = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        XCTAssertEqual(claims?["sub"] as? String, "ci")
        XCTAssertEqual(claims?["scope"] as? String, "model:deploy:resnet@2.1.0 model:pull:resnet@*")

        // From stdin.
        r = try TestSupport.modelsec(verifyArgs("-", keys), stdin: Data((token + "\n").utf8))
        XCTAssertEqual(r.status, 0, r.stderrText)

        // Rejections: exit 1 with the reason.
        r = try TestSupport.modelsec(verifyArgs(token, keys, extra: ["--require-scope", "model:deploy:resnet@2.2.0"]))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderrText.contains("missing scope model:deploy:resnet@2.2.0"), r.stderrText)
        XCTAssertEqual(r.stdoutText, "")
        r = try TestSupport.modelsec(["token", "verify", token, "--public-key", keys.ed + ".pub", "--issuer", issuer, "--audience", "other"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderrText.contains("wrong audience"), r.stderrText)
        // Change one character well inside the signature (every bit there is significant).
        var tampered = Array(token)
        tampered[tampered.count - 10] = tampered[tampered.count - 10] == "A" ? "B" : "A"
        r = try TestSupport.modelsec(verifyArgs(String(tampered), keys))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderrText.contains("signature invalid"), r.stderrText)

        // --json makes the rejection machine-readable.
        r = try TestSupport.modelsec(verifyArgs(token, keys, extra: ["--require-scope", "model:sign:resnet@2.1.0", "--json"]))
        XCTAssertEqual(r.status, 1)
        let rejection = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        XCTAssertEqual(rejection?["ok"] as? Bool, false)
        let error = rejection?["error"] as? [String: Any]
        XCTAssertEqual(error?["code"] as? String, "missing_scope")
        XCTAssertEqual(error?["message"] as? String, "token rejected: missing scope model:sign:resnet@2.1.0")

        // Revocation file.
        let jti = try XCTUnwrap(claims?["jti"] as? String)
        let revoked = keys.dir.appendingPathComponent("revoked.txt")
        try "# incident 7\n\(jti)\n".write(to: revoked, atomically: true, encoding: .utf8)
        r = try TestSupport.modelsec(verifyArgs(token, keys, extra: ["--revoked", revoked.path]))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderrText.contains("revoked"), r.stderrText)

        // Expired: a 1s token checked with no leeway after it lapses.
        let short = try issue(keys, extra: ["--ttl", "1s"])
        Thread.sleep(forTimeInterval: 2.1)
        r = try TestSupport.modelsec(verifyArgs(short, keys, extra: ["--leeway", "0s"]))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderrText.contains("token rejected: expired"), r.stderrText)

        // Oversized input on stdin is a rejection, not a crash.
        r = try TestSupport.modelsec(verifyArgs("-", keys), stdin: Data(repeating: UInt8(ascii: "A"), count: 20_000))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderrText.contains("too large"), r.stderrText)
    }

    func testUnusableArgumentsAndFilesExitTwo() throws {
        let keys = try makeKeys()
        let token = try issue(keys)
        let missing = keys.dir.appendingPathComponent("missing.pub").path
        let cases: [[String]] = [
            ["token", "verify", token, "--public-key", missing, "--issuer", issuer, "--audience", audience],
            ["token", "verify", token, "--public-key", keys.ed, "--issuer", issuer, "--audience", audience],   // private key
            ["token", "verify", token, "--issuer", issuer, "--audience", audience],                              // no keys
            ["token", "verify", token, "--jwks", keys.ed + ".pub", "--issuer", issuer, "--audience", audience], // not a JWKS
            verifyArgs(token, keys, extra: ["--leeway", "soon"]),
            verifyArgs(token, keys, extra: ["--require-scope", "deploy resnet"]),
            verifyArgs(token, keys, extra: ["--revoked", missing]),
            ["token", "issue", "--key", keys.ed, "--issuer", issuer, "--audience", audience, "--subject", "s", "--scope", "model:pull:a@1", "--ttl", "25h"],
            ["token", "issue", "--key", keys.ed, "--issuer", issuer, "--audience", audience, "--subject", "s", "--scope", "model:pull:a@1", "--ttl", "2h", "--max-ttl", "1h"],
            ["token", "issue", "--key", keys.ed, "--issuer", issuer, "--audience", audience, "--subject", "s", "--scope", "pull:a"],
            ["token", "issue", "--key", keys.ed + ".pub", "--issuer", issuer, "--audience", audience, "--subject", "s", "--scope", "model:pull:a@1"],
            ["token", "jwks", "--public-key", missing],
            ["token", "inspect", "definitely not a token"],
        ]
        for args in cases {
            let r = try TestSupport.modelsec(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderrText)")
            XCTAssertFalse(r.stderrText.isEmpty)
        }
        // A longer TTL is fine when the maximum is raised explicitly.
        _ = try issue(keys, extra: ["--ttl", "36h", "--max-ttl", "48h"])
    }

    func testIssueWithAnEncryptedKeyAndJSONOutput() throws {
        let dir = try TestSupport.makeTemporaryDirectory("tokens")
        let pass = dir.appendingPathComponent("pass.txt")
        try "correct horse battery staple\n".write(to: pass, atomically: true, encoding: .utf8)
        let key = dir.appendingPathComponent("issuer.pem").path
        var r = try TestSupport.modelsec(["keygen", "--type", "p256", "--out", key, "--passphrase-file", pass.path])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let base = ["token", "issue", "--key", key, "--issuer", issuer, "--audience", audience, "--audience", "registry",
                    "--subject", "alice", "--client-id", "release-bot", "--scope", "model:sign:bert@1.0", "--ttl", "1h30m", "--json"]
        r = try TestSupport.modelsec(base)
        XCTAssertEqual(r.status, 2, "no passphrase: \(r.stderrText)")
        r = try TestSupport.modelsec(base + ["--passphrase-file", pass.path])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let out = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        let claims = try XCTUnwrap(out["claims"] as? [String: Any])
        XCTAssertEqual(claims["aud"] as? [String], [audience, "registry"])
        XCTAssertEqual(claims["client_id"] as? String, "release-bot")
        let iat = try XCTUnwrap(claims["iat"] as? Int), exp = try XCTUnwrap(claims["exp"] as? Int)
        XCTAssertEqual(exp - iat, 5400)
        let token = try XCTUnwrap(out["token"] as? String)
        r = try TestSupport.modelsec(["token", "verify", token, "--public-key", key + ".pub", "--issuer", issuer, "--audience", "registry",
                                      "--require-scope", "model:sign:bert@1.0"])
        XCTAssertEqual(r.status, 0, r.stderrText)
    }

    func testInspectSaysItDidNotVerify() throws {
        let keys = try makeKeys()
        let token = try issue(keys, key: keys.ec, extra: ["--kid", "release-2026"])
        let r = try TestSupport.modelsec(["token", "inspect", token])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("NOT VERIFIED"), r.stderrText)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual(json["verified"] as? Bool, false)
        XCTAssertEqual((json["header"] as? [String: Any])?["kid"] as? String, "release-2026")
        XCTAssertEqual((json["header"] as? [String: Any])?["alg"] as? String, "ES256")
        XCTAssertEqual((json["claims"] as? [String: Any])?["iss"] as? String, issuer)
    }

    func testJWKSRoundTripsThroughTheVerifier() throws {
        let keys = try makeKeys()
        let jwksPath = keys.dir.appendingPathComponent("jwks.json").path
        var r = try TestSupport.modelsec(["token", "jwks", "--public-key", keys.ed + ".pub", "--public-key", keys.ec + ".pub", "--out", jwksPath])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jwksPath))) as? [String: Any])
        let entries = try XCTUnwrap(document["keys"] as? [[String: Any]])
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries[0]["kty"] as? String, "OKP")
        XCTAssertEqual(entries[0]["crv"] as? String, "Ed25519")
        XCTAssertEqual(entries[0]["kid"] as? String, keys.edKid)
        XCTAssertEqual((entries[0]["x"] as? String).flatMap(Base64URL.decode)?.count, 32)
        XCTAssertNil(entries[0]["d"])
        XCTAssertEqual(entries[1]["kty"] as? String, "EC")
        XCTAssertEqual(entries[1]["crv"] as? String, "P-256")
        XCTAssertEqual(entries[1]["kid"] as? String, keys.ecKid)
        XCTAssertEqual(entries[1]["alg"] as? String, "ES256")

        for key in [keys.ed, keys.ec] {
            r = try TestSupport.modelsec(["token", "verify", try issue(keys, key: key), "--jwks", jwksPath, "--issuer", issuer, "--audience", audience])
            XCTAssertEqual(r.status, 0, r.stderrText)
        }
    }

    func testJWKSParsingRefusesUnsafeSets() throws {
        let ed = Ed25519.PrivateKey()
        let x = Base64URL.encode(ed.publicKey.rawRepresentation)
        let good = #"{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"\#(x)"}"#
        func parse(_ keys: String) throws -> [VerificationKey] {
            try JSONWebKeySet.keys(from: Array(#"{"keys":[\#(keys)]}"#.utf8), source: "jwks.json")
        }
        XCTAssertEqual(try parse(good).map(\.keyID), ["k1"])
        // RSA keys are skipped, not fatal.
        XCTAssertEqual(try parse(#"{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"},"# + good).count, 1)
        // Keys published for other uses are skipped.
        let forEncryption = #"{"kty":"OKP","crv":"Ed25519","kid":"enc","use":"enc","x":"\#(x)"}"#
        let signOnly = #"{"kty":"OKP","crv":"Ed25519","kid":"ops","key_ops":["sign"],"x":"\#(x)"}"#
        let verifyOps = #"{"kty":"OKP","crv":"Ed25519","kid":"v","use":"sig","key_ops":["verify"],"x":"\#(x)"}"#
        XCTAssertEqual(try parse([forEncryption, signOnly, verifyOps, good].joined(separator: ",")).map(\.keyID), ["v", "k1"])
        XCTAssertThrowsError(try parse(forEncryption))
        let bad: [(String, TokenInputError)] = [
            ("", TokenInputError.noUsableKeys(path: "jwks.json")),
            (#"{"kty":"OKP","crv":"Ed25519","x":"\#(x)"}"#, .keyWithoutID(path: "jwks.json", index: 0)),
            (#"{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"\#(x)","d":"\#(x)"}"#, .privateKeyMaterial(path: "jwks.json", index: 0, keyID: "k1")),
            (good + "," + good, .duplicateKeyID(keyID: "k1", path: "jwks.json")),
            (#"{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"AAAA"}"#, .invalidKeyMaterial(path: "jwks.json", index: 0, keyID: "k1")),
            (#"{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"ES256","x":"\#(x)"}"#,
             .algorithmMismatch(path: "jwks.json", index: 0, keyID: "k1", expected: "EdDSA", actual: "ES256")),
            (#"{"kty":"EC","crv":"P-256","kid":"e","x":"\#(x)","y":"\#(x)"}"#, .invalidKeyMaterial(path: "jwks.json", index: 0, keyID: "e")), // not on the curve
            (#"{"kty":"EC","crv":"secp256k1","kid":"e","x":"\#(x)","y":"\#(x)"}"#,
             .unsupportedCurve(path: "jwks.json", index: 0, keyID: "e", keyType: "EC", curve: "secp256k1")),
            // P-384 coordinates are 48 bytes; 32-byte ones (a P-256 point relabelled) are refused.
            (#"{"kty":"EC","crv":"P-384","kid":"e","x":"\#(x)","y":"\#(x)"}"#, .invalidKeyMaterial(path: "jwks.json", index: 0, keyID: "e")),
            // A curve name differing only in case is another curve (exact bytes).
            (#"{"kty":"EC","crv":"p-256","kid":"e","x":"\#(x)","y":"\#(x)"}"#,
             .unsupportedCurve(path: "jwks.json", index: 0, keyID: "e", keyType: "EC", curve: "p-256")),
            (#"{"kty":"OKP","crv":"X25519","kid":"k1","x":"\#(x)"}"#,
             .unsupportedCurve(path: "jwks.json", index: 0, keyID: "k1", keyType: "OKP", curve: "X25519")),
            (#"{"kty":"OKP","kid":"k1","x":"\#(x)"}"#, .unsupportedCurve(path: "jwks.json", index: 0, keyID: "k1", keyType: "OKP", curve: nil)),
            (#"{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"\#(x)","y":"\#(x)"}"#, .invalidKeyMaterial(path: "jwks.json", index: 0, keyID: "k1")),
            // Key types this reader does not know are skipped (RFC 7517 §5), leaving nothing usable.
            (#"{"kty":"oct","kid":"s","k":"AAAA"}"#, .noUsableKeys(path: "jwks.json")),
        ]
        for (keys, expected) in bad {
            XCTAssertThrowsError(try parse(keys), keys) { error in
                XCTAssertEqual(error as? TokenInputError, expected, keys)
                XCTAssertEqual((error as? TokenInputError)?.category, .invalidInput)
                XCTAssertEqual((error as? TokenInputError)?.path, "jwks.json")
            }
        }
        for document in ["not json", #"{"keys":{}}"#, #"{"keys":[{"crv":"Ed25519"}]}"#, #"{"keys":[{"kty":"OKP","kid":7}]}"#] {
            XCTAssertThrowsError(try JSONWebKeySet.keys(from: Array(document.utf8), source: "jwks.json")) {
                XCTAssertEqual($0 as? TokenInputError, .notAKeySet(path: "jwks.json"), document)
            }
        }
    }

    // MARK: PyJWT

    func pyjwt() throws -> (python: String, script: String) {
        let python = try TestSupport.python()
        let script = try TestSupport.makeTemporaryDirectory("pyjwt").appendingPathComponent("interop.py")
        try PyJWTScript.source.write(to: script, atomically: true, encoding: .utf8)
        return (python, script.path)
    }

    func testModelsecTokensVerifyInPyJWTWithOurJWKS() throws {
        let (python, script) = try pyjwt()
        let keys = try makeKeys()
        let jwksPath = keys.dir.appendingPathComponent("jwks.json").path
        let r = try TestSupport.modelsec(["token", "jwks", "--public-key", keys.ed + ".pub", "--public-key", keys.ec + ".pub", "--out", jwksPath])
        XCTAssertEqual(r.status, 0, r.stderrText)
        for (key, alg) in [(keys.ed, "EdDSA"), (keys.ec, "ES256")] {
            let token = try issue(keys, key: key)
            let py = try TestSupport.run(python, [script, "verify", jwksPath, token, issuer, audience])
            XCTAssertEqual(py.status, 0, py.stderrText)
            let out = try XCTUnwrap(try JSONSerialization.jsonObject(with: py.stdout) as? [String: Any])
            XCTAssertEqual(out["alg"] as? String, alg)
            XCTAssertEqual((out["claims"] as? [String: Any])?["scope"] as? String, "model:deploy:resnet@2.1.0 model:pull:resnet@*")
            // And PyJWT rejects the same token for another audience (its check is live).
            let wrong = try TestSupport.run(python, [script, "verify", jwksPath, token, issuer, "someone-else"])
            XCTAssertNotEqual(wrong.status, 0)
        }
    }

    /// ES384 (P-384) and ES512 (P-521): our tokens verify in PyJWT through
    /// our JWKS, PyJWT's verify in modelsec, and a P-384 signature under the
    /// P-521 key's kid (alg confusion between curves) is refused.
    func testES384AndES512BothWaysWithPyJWT() throws {
        let (python, script) = try pyjwt()
        let dir = try TestSupport.makeTemporaryDirectory("tokens-ec")
        var kids: [String: String] = [:]
        for type in ["p384", "p521"] {
            let r = try TestSupport.modelsec(["keygen", "--type", type, "--out", dir.appendingPathComponent("\(type).pem").path])
            XCTAssertEqual(r.status, 0, r.stderrText)
            kids[type] = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let pem = { (type: String) in dir.appendingPathComponent("\(type).pem").path }
        let jwksPath = dir.appendingPathComponent("jwks.json").path
        let j = try TestSupport.modelsec(["token", "jwks", "--public-key", pem("p384") + ".pub", "--public-key", pem("p521") + ".pub", "--out", jwksPath])
        XCTAssertEqual(j.status, 0, j.stderrText)
        let jwks = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jwksPath))) as? [String: Any])
        XCTAssertEqual(Set((jwks["keys"] as? [[String: Any]] ?? []).compactMap { $0["crv"] as? String }), ["P-384", "P-521"])
        let now = String(Int(Date().timeIntervalSince1970))
        let verify = ["--public-key", pem("p384") + ".pub", "--public-key", pem("p521") + ".pub", "--issuer", issuer, "--audience", audience]
        for (type, alg) in [("p384", "ES384"), ("p521", "ES512")] {
            let ours = try issue(Keys(dir: dir, edKid: "", ecKid: ""), key: pem(type))
            let py = try TestSupport.run(python, [script, "verify", jwksPath, ours, issuer, audience])
            XCTAssertEqual(py.status, 0, "\(alg): \(py.stderrText)")
            XCTAssertEqual((try JSONSerialization.jsonObject(with: py.stdout) as? [String: Any])?["alg"] as? String, alg)

            let made = try TestSupport.run(python, [script, "make", "good", pem(type), alg, kids[type]!, issuer, audience, now, "model:deploy:resnet@2.1.0"])
            XCTAssertEqual(made.status, 0, made.stderrText)
            let theirs = made.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            let r = try TestSupport.modelsec(["token", "verify", theirs] + verify)
            XCTAssertEqual(r.status, 0, "\(alg) from PyJWT: \(r.stderrText)")
        }
        let confused = try TestSupport.run(python, [script, "make", "good", pem("p384"), "ES384", kids["p521"]!, issuer, audience, now, "model:deploy:resnet@2.1.0"])
        XCTAssertEqual(confused.status, 0, confused.stderrText)
        let refused = try TestSupport.modelsec(["token", "verify", confused.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)] + verify)
        XCTAssertEqual(refused.status, 1, refused.stderrText)
    }

    func testPyJWTTokensVerifyAndPyJWTAttackTokensAreRejected() throws {
        let (python, script) = try pyjwt()
        let keys = try makeKeys()
        let now = String(Int(Date().timeIntervalSince1970))
        let scope = "model:deploy:resnet@2.1.0"
        func make(_ kind: String, key: String, alg: String, kid: String) throws -> String {
            let r = try TestSupport.run(python, [script, "make", kind, key, alg, kid, issuer, audience, now, scope])
            XCTAssertEqual(r.status, 0, r.stderrText)
            return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for (key, alg, kid) in [(keys.ed, "EdDSA", keys.edKid), (keys.ec, "ES256", keys.ecKid)] {
            let token = try make("good", key: key, alg: alg, kid: kid)
            let r = try TestSupport.modelsec(verifyArgs(token, keys, extra: ["--require-scope", scope]))
            XCTAssertEqual(r.status, 0, "\(alg): \(r.stderrText)")
            XCTAssertTrue(r.stdoutText.contains("pyjwt-client"))
        }
        let attacks: [(String, String, String, String, String)] = [
            // (kind, key, alg, kid, expected reason)
            ("good", keys.ec, "ES256", keys.edKid, "does not match the key"),        // alg confusion: ES256 under the Ed25519 key's kid
            ("hs256-public-key", keys.ed, "HS256", keys.edKid, "HMAC algorithm HS256"), // alg confusion: HMAC keyed with the public key
            ("hs256-public-key", keys.ec, "HS256", keys.ecKid, "HMAC algorithm HS256"),
            ("none", keys.ed, "none", keys.edKid, "alg none"),
            ("wrong-typ", keys.ed, "EdDSA", keys.edKid, "wrong typ 'JWT'"),
            ("wrong-typ", keys.ec, "ES256", keys.ecKid, "wrong typ 'JWT'"),
            ("unknown-kid", keys.ed, "EdDSA", keys.edKid, "unknown key id 'not-a-trusted-kid'"),
        ]
        for (kind, key, alg, kid, reason) in attacks {
            let token = try make(kind, key: key, alg: alg, kid: kid)
            var r = try TestSupport.modelsec(verifyArgs(token, keys))
            XCTAssertEqual(r.status, 1, "\(kind) \(alg): \(r.stderrText)")
            XCTAssertTrue(r.stderrText.contains(reason), "\(kind) \(alg): \(r.stderrText)")
            // With a single trusted key too (no fallback to it).
            r = try TestSupport.modelsec(["token", "verify", token, "--public-key", key + ".pub", "--issuer", issuer, "--audience", audience])
            XCTAssertEqual(r.status, 1, "\(kind) \(alg) single key: \(r.stderrText)")
        }
    }
}
