import AccessTokens
import Foundation
import TestSupport
import XCTest

/// JWK Sets cross-checked with Authlib (a second JOSE implementation beside
/// PyJWT): Authlib reads the set `modelsec token jwks` writes and verifies
/// our tokens with it, and our reader accepts the set Authlib exports from
/// the same public keys (its member order and extra members included).
final class AuthlibJWKSTests: XCTestCase {
    let issuer = "https://registry.example"
    let audience = "deploy-gateway"

    static let script = #"""
import json, sys, warnings
warnings.simplefilter("ignore")
from authlib.jose import JsonWebKey, jwt

mode = sys.argv[1]
if mode == "verify":
    # verify JWKS_FILE TOKEN ISS AUD: signature by the kid's key, then exp/iat/iss/aud.
    _, _, jwks_path, token, iss, aud = sys.argv
    with open(jwks_path) as f:
        keys = JsonWebKey.import_key_set(json.load(f))
    claims = jwt.decode(token, keys, claims_options={"iss": {"essential": True, "value": iss},
                                                     "aud": {"essential": True, "value": aud}})
    claims.validate()
    print(json.dumps({"alg": claims.header["alg"], "sub": claims["sub"]}, sort_keys=True))
elif mode == "export":
    # export OUT PUB=KID...: Authlib's JWK Set of the public keys.
    _, _, out, *pairs = sys.argv
    keys = []
    for pair in pairs:
        path, kid = pair.split("=", 1)
        with open(path, "rb") as f:
            key = JsonWebKey.import_key(f.read(), {"kid": kid, "use": "sig"})
        keys.append(key.as_dict(is_private=False))
    with open(out, "w") as f:
        json.dump({"keys": keys}, f)
else:
    sys.exit("unknown mode " + mode)
"""#

    func testAuthlibReadsOurJWKSAndWeReadAuthlibs() throws {
        let python = try TestSupport.python()
        let dir = try TestSupport.makeTemporaryDirectory("authlib-jwks")
        let script = dir.appendingPathComponent("authlib_jwks.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        var kids: [String: String] = [:]
        for (type, name) in [("ed25519", "ed.pem"), ("p256", "ec.pem")] {
            let r = try TestSupport.modelsec(["keygen", "--type", type, "--out", dir.appendingPathComponent(name).path])
            XCTAssertEqual(r.status, 0, r.stderrText)
            kids[name] = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let ed = dir.appendingPathComponent("ed.pem").path, ec = dir.appendingPathComponent("ec.pem").path

        // Ours, read by Authlib.
        let ours = dir.appendingPathComponent("ours.json").path
        var r = try TestSupport.modelsec(["token", "jwks", "--public-key", ed + ".pub", "--public-key", ec + ".pub", "--out", ours])
        XCTAssertEqual(r.status, 0, r.stderrText)
        var tokens: [(key: String, alg: String, token: String)] = []
        for (key, alg) in [(ed, "EdDSA"), (ec, "ES256")] {
            r = try TestSupport.modelsec(["token", "issue", "--key", key, "--issuer", issuer, "--audience", audience,
                                          "--subject", "ci", "--scope", "model:pull:resnet@*"])
            XCTAssertEqual(r.status, 0, r.stderrText)
            let token = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            tokens.append((key, alg, token))
            let py = try TestSupport.run(python, [script.path, "verify", ours, token, issuer, audience])
            XCTAssertEqual(py.status, 0, py.stderrText)
            let out = try XCTUnwrap(try JSONSerialization.jsonObject(with: py.stdout) as? [String: Any])
            XCTAssertEqual(out["alg"] as? String, alg)
            XCTAssertEqual(out["sub"] as? String, "ci")
            // Authlib's check is live: another audience fails there too.
            XCTAssertNotEqual(try TestSupport.run(python, [script.path, "verify", ours, token, issuer, "someone-else"]).status, 0)
        }

        // Authlib's, read by us: the same keys under the same kids, and our tokens verify with it.
        let theirs = dir.appendingPathComponent("authlib.json").path
        let export = try TestSupport.run(python, [script.path, "export", theirs,
                                                  "\(ed).pub=\(kids["ed.pem"]!)", "\(ec).pub=\(kids["ec.pem"]!)"])
        XCTAssertEqual(export.status, 0, export.stderrText)
        let keys = try JSONWebKeySet.keys(from: Array(try Data(contentsOf: URL(fileURLWithPath: theirs))), source: theirs)
        XCTAssertEqual(keys.map(\.keyID), [kids["ed.pem"]!, kids["ec.pem"]!])
        XCTAssertEqual(keys.map(\.algorithm), ["EdDSA", "ES256"])
        for (_, alg, token) in tokens {
            r = try TestSupport.modelsec(["token", "verify", token, "--jwks", theirs, "--issuer", issuer, "--audience", audience])
            XCTAssertEqual(r.status, 0, "\(alg): \(r.stderrText)")
        }
    }
}
