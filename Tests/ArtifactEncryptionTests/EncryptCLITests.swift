import Foundation
import TestSupport
import XCTest

/// `modelsec encrypt`, `decrypt` and `inspect-encrypted` end to end: exit
/// codes, atomic output, standard streams, and an independent Python reader.
final class EncryptCLITests: XCTestCase {
    var dir: URL!
    var plain: Data!

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory("modelsec-enc")
        // 3 chunks of 64 KiB plus 1 byte: several chunks, and one byte past a boundary.
        plain = Data((0..<(3 * 65_536 + 1)).map { _ in UInt8.random(in: 0...255) })
        try plain.write(to: url("plain.bin"))
        try ok(["keygen", "--type", "x25519", "--out", path("alice.pem")])
        try ok(["keygen", "--type", "x25519", "--out", path("bob.pem")])
        try ok(["keygen", "--type", "aes256", "--out", path("kms.key")])
        try ok(["keygen", "--type", "aes256", "--out", path("other.key")])
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func url(_ name: String) -> URL { dir.appendingPathComponent(name) }
    func path(_ name: String) -> String { url(name).path }

    @discardableResult
    func ok(_ args: [String], stdin: Data? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(args, stdin: stdin)
        XCTAssertEqual(r.status, 0, "modelsec \(args.joined(separator: " ")): \(r.stderrText)", file: file, line: line)
        return r
    }

    /// Files in the directory other than the given ones (leftover temporary files).
    func strayFiles(besides known: Set<String>) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !known.contains($0) }
    }

    func testRoundTripForEveryRecipientType() throws {
        try ok(["encrypt", path("plain.bin"), "--output", path("multi.enc"), "--recipient", path("alice.pem.pub"),
                "--recipient", path("bob.pem.pub"), "--key-file", path("kms.key")])
        for identity in [["--identity", path("alice.pem")], ["-i", path("bob.pem")], ["--key-file", path("kms.key")]] {
            try? FileManager.default.removeItem(at: url("out.bin"))
            try ok(["decrypt", path("multi.enc"), "--output", path("out.bin")] + identity)
            XCTAssertEqual(try Data(contentsOf: url("out.bin")), plain)
            XCTAssertEqual(FileManager.default.attributesOfItemOrNil(url("out.bin"))?[.posixPermissions] as? Int, 0o600)
        }
        let r = try ok(["inspect-encrypted", path("multi.enc"), "--json"])
        let info = try JSONSerialization.jsonObject(with: r.stdout) as! [String: Any]
        XCTAssertEqual(info["formatVersion"] as? Int, 1)
        XCTAssertEqual(info["chunkSize"] as? Int, 65_536)
        XCTAssertEqual(info["plaintextSize"] as? Int, plain.count)
        XCTAssertEqual((info["recipients"] as? [[String: Any]])?.compactMap { $0["type"] as? String }, ["x25519", "x25519", "symmetric-key"])
        let text = try ok(["inspect-encrypted", path("multi.enc")]).stdoutText
        XCTAssertTrue(text.contains("chunk size: 65536"), text)
        XCTAssertTrue(text.contains("plaintext size: \(plain.count)"), text)
    }

    func testStandardStreams() throws {
        let enc = try ok(["encrypt", "-", "--output", "-", "--key-file", path("kms.key")], stdin: plain)
        XCTAssertEqual(enc.stdout.prefix(7), Data("MSECENC".utf8))
        let dec = try ok(["decrypt", "-", "-o", "-", "--key-file", path("kms.key")], stdin: enc.stdout)
        XCTAssertEqual(dec.stdout, plain)
        // An existing device is written directly, never replaced by a rename.
        try enc.stdout.write(to: url("s.enc"))
        try ok(["decrypt", path("s.enc"), "-o", "/dev/null", "--key-file", path("kms.key"), "--force"])
        var st = stat()
        XCTAssertEqual(stat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "/dev/null is still a device")
    }

    func testTamperedFileLeavesNoPlaintextAndExitsOne() throws {
        try ok(["encrypt", path("plain.bin"), "-o", path("f.enc"), "--key-file", path("kms.key")])
        let original = try Data(contentsOf: url("f.enc"))
        var bytes = original
        bytes[bytes.count - 17] ^= 1   // the last chunk's only ciphertext byte
        try bytes.write(to: url("bad.enc"))
        let known: Set<String> = try Set(FileManager.default.contentsOfDirectory(atPath: dir.path))
        let r = try TestSupport.modelsec(["decrypt", path("bad.enc"), "-o", path("out.bin"), "--key-file", path("kms.key")])
        XCTAssertEqual(r.status, 1, r.stderrText)
        XCTAssertTrue(r.stderrText.hasPrefix("modelsec: error: \(path("bad.enc")):"), r.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.bin")))
        XCTAssertEqual(try strayFiles(besides: known), [], "no temporary plaintext left behind")

        // To stdout: only authenticated chunks (the first three) come out, then exit 1.
        let s = try TestSupport.modelsec(["decrypt", path("bad.enc"), "-o", "-", "--key-file", path("kms.key")])
        XCTAssertEqual(s.status, 1)
        XCTAssertEqual(s.stdout, plain.prefix(3 * 65_536))

        // Truncated at a chunk boundary: stream ends early, exit 1.
        try Data(original.prefix(original.count - 17)).write(to: url("short.enc"))
        let t = try TestSupport.modelsec(["decrypt", path("short.enc"), "-o", "-", "--key-file", path("kms.key")])
        XCTAssertEqual(t.status, 1, t.stderrText)
    }

    func testWrongKeyExitsOneMalformedExitsTwo() throws {
        try ok(["encrypt", path("plain.bin"), "-o", path("f.enc"), "--recipient", path("alice.pem.pub")])
        var r = try TestSupport.modelsec(["decrypt", path("f.enc"), "-o", path("out.bin"), "--identity", path("bob.pem")])
        XCTAssertEqual(r.status, 1, r.stderrText)
        r = try TestSupport.modelsec(["decrypt", path("f.enc"), "-o", path("out.bin"), "--key-file", path("kms.key")])
        XCTAssertEqual(r.status, 1, r.stderrText)
        r = try TestSupport.modelsec(["decrypt", path("plain.bin"), "-o", path("out.bin"), "--key-file", path("kms.key")])
        XCTAssertEqual(r.status, 2, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("not a modelsec encrypted file"), r.stderrText)
        r = try TestSupport.modelsec(["inspect-encrypted", path("plain.bin")])
        XCTAssertEqual(r.status, 2)
        // Usage errors.
        r = try TestSupport.modelsec(["encrypt", path("plain.bin"), "-o", path("x.enc")])
        XCTAssertEqual(r.status, 2)
        r = try TestSupport.modelsec(["encrypt", path("plain.bin"), "-o", path("x.enc"), "--key-file", path("kms.key"), "--passphrase-env", "X"])
        XCTAssertEqual(r.status, 2)
        r = try TestSupport.modelsec(["encrypt", path("plain.bin"), "-o", path("x.enc"), "--recipient", path("alice.pem")])
        XCTAssertEqual(r.status, 2, "a private key is not a recipient")
        for name in ["out.bin", "x.enc"] { XCTAssertFalse(FileManager.default.fileExists(atPath: path(name))) }
        // Existing output refused without --force.
        r = try TestSupport.modelsec(["encrypt", path("plain.bin"), "-o", path("f.enc"), "--key-file", path("kms.key")])
        XCTAssertEqual(r.status, 2, r.stderrText)
        try ok(["encrypt", path("plain.bin"), "-o", path("f.enc"), "--key-file", path("kms.key"), "--force"])
    }

    func testPassphraseWrongPassphraseAndChunkFromAnotherFile() throws {
        try "right one\n".write(to: url("pass.txt"), atomically: true, encoding: .utf8)
        try "wrong one\n".write(to: url("wrong.txt"), atomically: true, encoding: .utf8)
        try ok(["encrypt", path("plain.bin"), "-o", path("p.enc"), "--passphrase-file", path("pass.txt")])
        var r = try TestSupport.modelsec(["decrypt", path("p.enc"), "-o", path("out.bin"), "--passphrase-file", path("wrong.txt")])
        XCTAssertEqual(r.status, 1, r.stderrText)
        XCTAssertFalse(r.stderrText.contains("one"), "no passphrase in messages")
        r = try TestSupport.modelsec(["decrypt", path("p.enc"), "-o", path("out.bin"), "--passphrase-env", "MS_PASS"], environment: ["MS_PASS": "right one"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertEqual(try Data(contentsOf: url("out.bin")), plain)
        let info = try ok(["inspect-encrypted", path("p.enc")]).stdoutText
        XCTAssertTrue(info.contains("passphrase (Argon2id"), info)
        XCTAssertFalse(info.contains("right"))

        // Two files with the same key file: a chunk moved between them is rejected.
        try ok(["encrypt", path("plain.bin"), "-o", path("a.enc"), "--key-file", path("kms.key")])
        try ok(["encrypt", path("plain.bin"), "-o", path("b.enc"), "--key-file", path("kms.key")])
        var a = try Data(contentsOf: url("a.enc"))
        let b = try Data(contentsOf: url("b.enc"))
        let header = 47 + 67 + 32, sealed = 65_536 + 16
        a.replaceSubrange((header + sealed)..<(header + 2 * sealed), with: b[(header + sealed)..<(header + 2 * sealed)])
        try a.write(to: url("mixed.enc"))
        r = try TestSupport.modelsec(["decrypt", path("mixed.enc"), "-o", path("mixed.bin"), "--key-file", path("kms.key")])
        XCTAssertEqual(r.status, 1, r.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("mixed.bin")))
    }

    func testOpenSSLKeysAndEncryptedIdentities() throws {
        // X25519 keys made by the openssl CLI work as recipient and identity.
        var r = try TestSupport.run("openssl", ["genpkey", "-algorithm", "X25519", "-out", path("ossl.pem")])
        XCTAssertEqual(r.status, 0, r.stderrText)
        r = try TestSupport.run("openssl", ["pkey", "-in", path("ossl.pem"), "-pubout", "-out", path("ossl.pub")])
        XCTAssertEqual(r.status, 0, r.stderrText)
        // An identity key encrypted with a passphrase needs --identity-passphrase-file.
        try "key pass\n".write(to: url("keypass.txt"), atomically: true, encoding: .utf8)
        try ok(["keygen", "--type", "x25519", "--out", path("locked.pem"), "--passphrase-file", path("keypass.txt")])
        try ok(["encrypt", path("plain.bin"), "-o", path("o.enc"), "--recipient", path("ossl.pub"), "--recipient", path("locked.pem.pub")])
        try ok(["decrypt", path("o.enc"), "-o", path("o1.bin"), "--identity", path("ossl.pem")])
        XCTAssertEqual(try Data(contentsOf: url("o1.bin")), plain)
        r = try TestSupport.modelsec(["decrypt", path("o.enc"), "-o", path("o2.bin"), "--identity", path("locked.pem")])
        XCTAssertEqual(r.status, 2, "an encrypted identity without its passphrase: \(r.stderrText)")
        try ok(["decrypt", path("o.enc"), "-o", path("o2.bin"), "--identity", path("locked.pem"), "--identity-passphrase-file", path("keypass.txt")])
        XCTAssertEqual(try Data(contentsOf: url("o2.bin")), plain)
        // A signing key is not an identity.
        try ok(["keygen", "--type", "ed25519", "--out", path("sign.pem")])
        r = try TestSupport.modelsec(["decrypt", path("o.enc"), "-o", path("o3.bin"), "--identity", path("sign.pem")])
        XCTAssertEqual(r.status, 2, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("x25519"), r.stderrText)
    }

    func testEmptyAndOneChunkFiles() throws {
        for (name, size) in [("empty", 0), ("one", 65_536), ("oneplus", 65_537)] {
            let data = Data((0..<size).map { _ in UInt8.random(in: 0...255) })
            try data.write(to: url("\(name).bin"))
            try ok(["encrypt", path("\(name).bin"), "-o", path("\(name).enc"), "--key-file", path("kms.key")])
            let info = try JSONSerialization.jsonObject(with: try ok(["inspect-encrypted", path("\(name).enc"), "--json"]).stdout) as! [String: Any]
            XCTAssertEqual(info["chunkCount"] as? Int, max(1, (size + 65_535) / 65_536))
            XCTAssertEqual(info["plaintextSize"] as? Int, size)
            try ok(["decrypt", path("\(name).enc"), "-o", path("\(name).out"), "--key-file", path("kms.key")])
            XCTAssertEqual(try Data(contentsOf: url("\(name).out")), data)
        }
    }

    func testIndependentPythonReaderDecryptsWhatModelsecEncrypts() throws {
        let reader = TestSupport.repositoryRoot.appendingPathComponent("Tests/ArtifactEncryptionTests/reference_reader.py").path
        // `cryptography` is installed system-wide; the venv inherits it (and installs it where it is not).
        let python = try TestSupport.python()
        try "interop passphrase\n".write(to: url("pass.txt"), atomically: true, encoding: .utf8)
        try ok(["encrypt", path("plain.bin"), "-o", path("x.enc"), "--recipient", path("alice.pem.pub"), "--key-file", path("kms.key")])
        try ok(["encrypt", path("plain.bin"), "-o", path("k.enc"), "--key-file", path("other.key"), "--chunk-size", "4096"])
        try ok(["encrypt", path("plain.bin"), "-o", path("p.enc"), "--passphrase-file", path("pass.txt")])
        try Data().write(to: url("empty.bin"))
        try ok(["encrypt", path("empty.bin"), "-o", path("e.enc"), "--key-file", path("kms.key")])
        let cases: [(String, [String], Data)] = [
            ("x.enc", ["--identity", path("alice.pem")], plain),
            ("x.enc", ["--key-file", path("kms.key")], plain),
            ("k.enc", ["--key-file", path("other.key")], plain),
            ("p.enc", ["--passphrase-file", path("pass.txt")], plain),
            ("e.enc", ["--key-file", path("kms.key")], Data()),
        ]
        for (file, identity, expected) in cases {
            let out = path("py-\(file)-\(identity[0]).out")
            let r = try TestSupport.run(python, [reader, path(file), out] + identity)
            XCTAssertEqual(r.status, 0, "\(file) \(identity[0]): \(r.stderrText)")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), expected, "\(file) \(identity[0])")
        }
        // The Python reader also rejects tampering: the two readers agree on what is authentic.
        var bad = try Data(contentsOf: url("x.enc"))
        bad[bad.count - 1] ^= 1
        try bad.write(to: url("bad.enc"))
        let r = try TestSupport.run(python, [reader, path("bad.enc"), path("bad.out"), "--key-file", path("kms.key")])
        XCTAssertEqual(r.status, 1, r.stderrText)
    }
}

extension FileManager {
    func attributesOfItemOrNil(_ url: URL) -> [FileAttributeKey: Any]? { try? attributesOfItem(atPath: url.path) }
}
