import Foundation
import TestSupport
import XCTest

/// `modelsec keygen` and `modelsec key inspect` as users' scripts call them.
final class KeyCommandTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("cli-keys") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func testKeygenPrintsKeyIDAndWritesPrivateKeyWithMode0600() throws {
        for type in ["ed25519", "p256", "x25519", "aes256"] {
            let out = path("\(type).pem")
            let r = try TestSupport.modelsec(["keygen", "--type", type, "--out", out])
            XCTAssertEqual(r.status, 0, r.stderrText)
            let keyID = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertEqual(keyID.count, 64, "a hex SHA-256 key id: \(keyID)")
            let attributes = try FileManager.default.attributesOfItem(atPath: out)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
            XCTAssertEqual(FileManager.default.fileExists(atPath: out + ".pub"), type != "aes256")
            if type != "aes256" {
                // The printed id is the SHA-256 of the public key file's text.
                let sha = try TestSupport.run("sha256sum", [out + ".pub"]).stdoutText.prefix(64)
                XCTAssertEqual(String(sha), keyID)
            }
            let inspect = try TestSupport.modelsec(["key", "inspect", out, "--json"])
            XCTAssertEqual(inspect.status, 0, inspect.stderrText)
            let json = try JSONSerialization.jsonObject(with: inspect.stdout) as! [String: Any]
            XCTAssertEqual(json["type"] as? String, type)
            XCTAssertEqual(json["keyId"] as? String, keyID)
            XCTAssertEqual(json["kind"] as? String, type == "aes256" ? "symmetric" : "private")
            XCTAssertFalse(inspect.stdoutText.contains("PRIVATE KEY"), "inspect must not print secret material")
        }
    }

    func testKeygenRefusesToOverwriteWithoutForce() throws {
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--out", path("k.pem")]).status, 0)
        let before = try String(contentsOfFile: path("k.pem"), encoding: .utf8)
        let again = try TestSupport.modelsec(["keygen", "--out", path("k.pem")])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderrText.contains("already exists"), again.stderrText)
        XCTAssertEqual(try String(contentsOfFile: path("k.pem"), encoding: .utf8), before)
        let forced = try TestSupport.modelsec(["keygen", "--out", path("k.pem"), "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderrText)
        XCTAssertNotEqual(try String(contentsOfFile: path("k.pem"), encoding: .utf8), before)
        // No temporary files are left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("modelsec-tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testEncryptedKeyWithPassphraseFileAndEnvironment() throws {
        try "example\n".write(toFile: path("pass"), atomically: true, encoding: .utf8)
        let r = try TestSupport.modelsec(["keygen", "--type", "p256", "--out", path("enc.pem"), "--passphrase-file", path("pass"), "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let info = try JSONSerialization.jsonObject(with: r.stdout) as! [String: Any]
        XCTAssertEqual(info["encrypted"] as? Bool, true)
        let viaOpenSSL = try TestSupport.run("openssl", ["pkey", "-in", path("enc.pem"), "-passin", "file:\(path("pass"))", "-pubout"])
        XCTAssertEqual(viaOpenSSL.status, 0, viaOpenSSL.stderrText)

        let withEnv = try TestSupport.modelsec(["key", "inspect", path("enc.pem"), "--passphrase-env", "MS_PASS", "--json"], environment: ["MS_PASS": "example"])
        XCTAssertEqual(withEnv.status, 0, withEnv.stderrText)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: withEnv.stdout) as! [String: Any])["keyId"] as? String, info["keyId"] as? String)

        let wrong = try TestSupport.modelsec(["key", "inspect", path("enc.pem"), "--passphrase-env", "MS_PASS"], environment: ["MS_PASS": "nope"])
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderrText.contains("wrong passphrase"), wrong.stderrText)
        XCTAssertFalse(wrong.stderrText.contains("nope"), "the passphrase must not be echoed")
    }

    func testMalformedKeyFilesExitTwoNamingTheFile() throws {
        _ = try TestSupport.modelsec(["keygen", "--out", path("good.pem")])
        let good = try String(contentsOfFile: path("good.pem"), encoding: .utf8)
        let files = [
            ("truncated.pem", String(good.prefix(50))),
            ("garbled.pem", good.replacingOccurrences(of: "MC4C", with: "%%%%")),
            ("cert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
        ]
        for (name, text) in files {
            try text.write(toFile: path(name), atomically: true, encoding: .utf8)
            let r = try TestSupport.modelsec(["key", "inspect", path(name)])
            XCTAssertEqual(r.status, 2, name)
            XCTAssertTrue(r.stderrText.hasPrefix("modelsec: error: \(path(name)): "), r.stderrText)
            XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, "one line: \(r.stderrText)")
        }
        let missing = try TestSupport.modelsec(["key", "inspect", path("missing.pem")])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderrText.contains("no such file"), missing.stderrText)
    }

    func testUsageErrorsExitTwoAndHelpHasExamples() throws {
        let bad = try TestSupport.modelsec(["keygen", "--type", "rsa", "--out", path("x")])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(try TestSupport.modelsec(["keygen"]).status, 2, "missing --out")
        XCTAssertEqual(try TestSupport.modelsec(["no-such-command"]).status, 2)
        let both = try TestSupport.modelsec(["keygen", "--out", path("y"), "--passphrase-file", "a", "--passphrase-env", "B"])
        XCTAssertEqual(both.status, 2)

        let help = try TestSupport.modelsec(["keygen", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdoutText.contains("modelsec keygen --type"), "help shows an example")
        let version = try TestSupport.modelsec(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.stdoutText.hasPrefix("modelsec "), version.stdoutText)

        // `release create --version <VERSION>` is the only --version in its help.
        let releaseHelp = try TestSupport.modelsec(["release", "create", "--help"])
        XCTAssertEqual(releaseHelp.status, 0)
        let optionLines = releaseHelp.stdoutText.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--version") }
        XCTAssertEqual(optionLines.count, 1, releaseHelp.stdoutText)
        XCTAssertFalse(releaseHelp.stdoutText.contains("Show the version"), releaseHelp.stdoutText)
    }

    func testWorldReadablePrivateKeyWarns() throws {
        _ = try TestSupport.modelsec(["keygen", "--out", path("k.pem")])
        chmod(path("k.pem"), 0o644)
        let r = try TestSupport.modelsec(["key", "inspect", path("k.pem")])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stderrText.contains("accessible by others"), r.stderrText)
    }
}
