import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 4. `--output -`

    /// sign, audit and token jwks write to standard output for `-`; other
    /// commands refuse it (exit 2, naming the flag); no file `-` appears.
    func testDashOutputIsStandardOutputOrRefused() throws {
        try makeRelease()
        let sign = try run(["sign", path("model"), "--key", path("release.pem"), "--output", "-"])
        let bundle = try XCTUnwrap(try JSONSerialization.jsonObject(with: sign.stdout) as? [String: Any], sign.stdoutText)
        XCTAssertNotNil(bundle["dsseEnvelope"], sign.stdoutText)
        try sign.stdout.write(to: URL(fileURLWithPath: path("stdout.sig")))
        try run(["verify", path("model"), "--signature", path("stdout.sig"), "--public-key", path("release.pem.pub")])
        XCTAssertEqual(errorCode(try run(["sign", path("model"), "--key", path("release.pem"), "-o", "-", "--json"], expect: 2)),
                       "usage.invalid-arguments")

        let jwks = try run(["token", "jwks", "--public-key", path("release.pem.pub"), "--out", "-"])
        XCTAssertNotNil((try JSONSerialization.jsonObject(with: jwks.stdout) as? [String: Any])?["keys"], jwks.stdoutText)

        let policy = path("p.yaml")
        try "name: p\nversion: \"1\"\nrules:\n  - id: R1\n    title: t\n    severity: deny\n    check: artifacts-encrypted\n"
            .write(toFile: policy, atomically: true, encoding: .utf8)
        let sarif = try run(["audit", path("rel"), "--policy", policy, "--format", "sarif", "--output", "-"])
        XCTAssertNotNil((try JSONSerialization.jsonObject(with: sarif.stdout) as? [String: Any])?["runs"], sarif.stdoutText)
        let short = try run(["audit", path("rel"), "--policy", policy, "--format", "json", "-o", "-"])
        XCTAssertFalse(short.stdout.isEmpty)

        for (flag, arguments) in [
            ("--out", ["keygen", "--type", "ed25519", "--out", "-"]),
            ("--output", ["release", "verify", path("rel"), "--trusted-keys", path("trusted"), "--identity", path("deploy.pem"), "--output", "-"]),
            ("-o", ["release", "create", path("model"), "--name", "m", "--version", "1", "--signing-key", path("release.pem"),
                    "--recipient", path("deploy.pem.pub"), "-o", "-"]),
            ("--save-checkpoint", ["log", "monitor", path("log"), "--log-key", "x", "--key-id", String(repeating: "a", count: 64), "--save-checkpoint", "-"]),
        ] {
            let r = try run(arguments + ["--json"], expect: 2)
            XCTAssertTrue(r.stderrText.contains("\(flag) -:") && r.stderrText.contains("cannot write to standard output"), r.stderrText)
            XCTAssertEqual(errorCode(r), "usage.invalid-arguments")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("-")))
    }
}
