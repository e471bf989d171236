import Foundation
import TestSupport
import XCTest

/// One overwrite rule and one passphrase naming scheme for every command.
final class OverwriteAndPassphraseTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("cli-rules") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func envelope(_ r: TestSupport.ProcessResult) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["error"] as? [String: Any]) ?? [:]
    }

    /// Every command that writes refuses an existing output without --force:
    /// exit 2, code output.exists, the path named; the file is untouched;
    /// with --force it is replaced.
    func testEveryWriterRefusesAnExistingOutputWithoutForce() throws {
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", path("k.pem")]).status, 0)
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "x25519", "--out", path("d.pem")]).status, 0)
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "aes256", "--out", path("a.key")]).status, 0)
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("w".utf8).write(to: model.appendingPathComponent("w.bin"))
        try Data("plain".utf8).write(to: URL(fileURLWithPath: path("plain.bin")))
        XCTAssertEqual(try TestSupport.modelsec(["encrypt", path("plain.bin"), "-o", path("c.enc"), "--key-file", path("a.key")]).status, 0)
        let release = dir.appendingPathComponent("rel").path
        let writers: [(output: String, arguments: [String])] = [
            (path("k2.pem"), ["keygen", "--type", "ed25519", "--out", path("k2.pem")]),
            (path("k3.pem.pub"), ["keygen", "--type", "ed25519", "--out", path("k3.pem")]),
            (path("m.sig"), ["sign", model.path, "--key", path("k.pem"), "--output", path("m.sig")]),
            (path("jwks.json"), ["token", "jwks", "--public-key", path("k.pem.pub"), "--out", path("jwks.json")]),
            (path("e.enc"), ["encrypt", path("plain.bin"), "-o", path("e.enc"), "--key-file", path("a.key")]),
            (path("p.out"), ["decrypt", path("c.enc"), "-o", path("p.out"), "--key-file", path("a.key")]),
            (release + "/stale.txt", ["release", "create", model.path, "--name", "m", "--version", "1", "--signing-key", path("k.pem"),
                                     "--recipient", path("d.pem.pub"), "--output", release]),
        ]
        for (output, arguments) in writers {
            try FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data("previous".utf8).write(to: URL(fileURLWithPath: output))
            let name = arguments.prefix(2).joined(separator: " ")
            let takesJSON = name != "token jwks"  // prints a JWK Set, not a result
            let refused = try TestSupport.modelsec(arguments + (takesJSON ? ["--json"] : []))
            XCTAssertEqual(refused.status, 2, "\(name): \(refused.stderrText)")
            if takesJSON {
                let error = envelope(refused)
                XCTAssertEqual(error["code"] as? String, "output.exists", name)
                let named = (error["path"] as? String).map { output.hasPrefix($0) } ?? false
                XCTAssertTrue(named, "\(name) names the path: \(error)")
            } else {
                XCTAssertTrue(refused.stderrText.contains("\(output) already exists"), "\(name): \(refused.stderrText)")
            }
            XCTAssertTrue(refused.stderrText.contains("--force"), "\(name): \(refused.stderrText)")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), Data("previous".utf8), "\(name) left the output alone")
        }
        // --force replaces (a non-release directory is never replaced, even with --force).
        for (output, arguments) in writers where !output.hasSuffix("stale.txt") {
            let forced = try TestSupport.modelsec(arguments + ["--force"])
            XCTAssertEqual(forced.status, 0, "\(arguments.prefix(2)): \(forced.stderrText)")
            XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: output)), Data("previous".utf8))
        }
        let create = writers.last!.arguments
        XCTAssertEqual(try TestSupport.modelsec(create + ["--force"]).status, 2, "a directory that is not a release is not replaced")
        try FileManager.default.removeItem(atPath: release)
        XCTAssertEqual(try TestSupport.modelsec(create).status, 0)
        XCTAssertEqual(try TestSupport.modelsec(create).status, 2)
        try Data("old".utf8).write(to: URL(fileURLWithPath: release + "/marker"))
        let replaced = try TestSupport.modelsec(create + ["--force"])
        XCTAssertEqual(replaced.status, 0, replaced.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: release + "/marker"), "the old release was replaced, not merged")
        XCTAssertTrue(FileManager.default.fileExists(atPath: release + "/release.json"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".modelsec-") }
        XCTAssertEqual(leftovers, [])
    }

    /// `--key-passphrase-file/-env` is the private key's passphrase in every
    /// command; `--passphrase-file/-env` the encrypted file's. The old
    /// spellings still work, with a warning naming the new one.
    func testOnePassphraseNamingSchemeWithDeprecatedAliases() throws {
        try "key pass\nsecond line\n".write(toFile: path("keypass"), atomically: true, encoding: .utf8)
        try "file pass\n".write(toFile: path("filepass"), atomically: true, encoding: .utf8)
        var r = try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", path("s.pem"), "--key-passphrase-file", path("keypass")])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "x25519", "--out", path("x.pem"),
                                                 "--key-passphrase-env", "KP"], environment: ["KP": "key pass"]).status, 0)
        try Data("w".utf8).write(to: URL(fileURLWithPath: path("w.bin")))
        r = try TestSupport.modelsec(["sign", path("w.bin"), "--key", path("s.pem"), "--output", path("w.sig"), "--key-passphrase-env", "KP"],
                                     environment: ["KP": "key pass"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertFalse(r.stderrText.contains("deprecated"), r.stderrText)
        // The old spelling: works, warns.
        r = try TestSupport.modelsec(["sign", path("w.bin"), "--key", path("s.pem"), "--output", path("w2.sig"), "--passphrase-file", path("keypass")])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("--passphrase-file is deprecated here; use --key-passphrase-file"), r.stderrText)
        // Two sources at once are refused.
        r = try TestSupport.modelsec(["sign", path("w.bin"), "--key", path("s.pem"), "--output", path("w3.sig"),
                                      "--key-passphrase-file", path("keypass"), "--passphrase-file", path("keypass"), "--json"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(envelope(r)["code"] as? String, "usage.invalid-arguments")

        // decrypt: both kinds side by side, with their own names.
        XCTAssertEqual(try TestSupport.modelsec(["encrypt", path("w.bin"), "-o", path("x.enc"), "--recipient", path("x.pem.pub")]).status, 0)
        r = try TestSupport.modelsec(["decrypt", path("x.enc"), "-o", path("x.out"), "--identity", path("x.pem"),
                                      "--key-passphrase-file", path("keypass")])
        XCTAssertEqual(r.status, 0, r.stderrText)
        r = try TestSupport.modelsec(["decrypt", path("x.enc"), "-o", path("x2.out"), "--identity", path("x.pem"),
                                      "--identity-passphrase-file", path("keypass")])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("--identity-passphrase-file is deprecated here; use --key-passphrase-file"), r.stderrText)
        XCTAssertEqual(try TestSupport.modelsec(["encrypt", path("w.bin"), "-o", path("f.enc"), "--passphrase-env", "FP"],
                                                environment: ["FP": "file pass"]).status, 0)
        r = try TestSupport.modelsec(["decrypt", path("f.enc"), "-o", path("f.out"), "--passphrase-file", path("filepass")])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertFalse(r.stderrText.contains("deprecated"), r.stderrText)

        // Every command that takes a private key offers the same two names.
        for command in [["sign"], ["keygen"], ["key", "inspect"], ["token", "issue"], ["release", "create"], ["release", "verify"],
                        ["decrypt"], ["audit"]] {
            let help = try TestSupport.modelsec(command + ["--help"]).stdoutText
            XCTAssertTrue(help.contains("--key-passphrase-file") && help.contains("--key-passphrase-env"), "\(command): \(help)")
            XCTAssertFalse(help.contains("--identity-passphrase-file"), "\(command) shows a deprecated name")
        }
        for command in [["encrypt"], ["decrypt"]] {
            let help = try TestSupport.modelsec(command + ["--help"]).stdoutText
            XCTAssertTrue(help.contains("--passphrase-file") && help.contains("--passphrase-env"), "\(command)")
        }
        // Tokens, the other secret, come from a file or the environment too.
        for command in [["token", "verify"], ["release", "verify"]] {
            let help = try TestSupport.modelsec(command + ["--help"]).stdoutText
            XCTAssertTrue(help.contains("--token-file") && help.contains("--token-env"), "\(command)")
        }
    }
}
