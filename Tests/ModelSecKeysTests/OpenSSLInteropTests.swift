import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import TestSupport
import XCTest

/// Keys interoperate with the `openssl` CLI in both directions, for every key
/// type, encrypted keys included.
final class OpenSSLInteropTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory("keys")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    func openssl(_ args: [String], stdin: Data? = nil) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.run("openssl", args, stdin: stdin)
        XCTAssertEqual(r.status, 0, "openssl \(args.joined(separator: " ")): \(r.stderrText)")
        return r
    }

    /// Keys modelsec writes: `openssl pkey` reads them, derives the same public
    /// key, and the key id is the SHA-256 of that PEM text.
    func testOpenSSLReadsEveryKeyModelsecWrites() throws {
        for type in [KeyType.ed25519, .p256, .x25519] {
            let priv = path("\(type.rawValue).pem")
            let generated = try KeyGeneration.generate(type: type, to: priv)
            XCTAssertEqual(FileIO.permissions(priv), 0o600, "\(type) private key mode")
            XCTAssertEqual(FileIO.permissions(priv + ".pub"), 0o644, "\(type) public key mode")
            let pub = try openssl(["pkey", "-in", priv, "-pubout"]).stdoutText
            XCTAssertEqual(pub, try String(contentsOfFile: priv + ".pub", encoding: .utf8), "\(type)")
            XCTAssertEqual(generated.keyID, SHA2.SHA256.hash(data: Array(pub.utf8)).hex, "\(type) key id")
            try openssl(["pkey", "-pubin", "-in", priv + ".pub", "-noout"])
            XCTAssertTrue(try String(contentsOfFile: priv, encoding: .utf8).hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        }
    }

    func testOpenSSLOpensEncryptedKeysModelsecWrites() throws {
        let passFile = path("pass.txt")
        try "example\n".write(toFile: passFile, atomically: true, encoding: .utf8)
        for type in [KeyType.ed25519, .p256, .x25519] {
            let priv = path("enc-\(type.rawValue).pem")
            let generated = try KeyGeneration.generate(type: type, to: priv, passphrase: .file(passFile))
            XCTAssertTrue(generated.encrypted)
            XCTAssertTrue(try String(contentsOfFile: priv, encoding: .utf8).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
            let pub = try openssl(["pkey", "-in", priv, "-passin", "pass:example", "-pubout"]).stdoutText
            XCTAssertEqual(pub, try String(contentsOfFile: priv + ".pub", encoding: .utf8))
            // The wrong passphrase fails in openssl and in modelsec.
            XCTAssertNotEqual(try TestSupport.run("openssl", ["pkey", "-in", priv, "-passin", "pass:wrong", "-noout"]).status, 0)
            try "wrong\n".write(toFile: path("wrong.txt"), atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try KeyFile.loadPrivateKey(priv, passphrase: .file(path("wrong.txt")))) {
                XCTAssertEqual(($0 as? KeyFileError)?.problem, .undecodable(.wrongPassphrase), "\($0)")
            }
            XCTAssertThrowsError(try KeyFile.loadPrivateKey(priv)) { XCTAssertEqual(($0 as? KeyFileError)?.code, "key.passphrase-required", "\($0)") }
            let loaded = try KeyFile.loadPrivateKey(priv, passphrase: .file(passFile))
            XCTAssertEqual(loaded.publicKey.keyID, generated.keyID)
        }
    }

    /// A passphrase file is read as `openssl -passin file:` reads it: the
    /// first line. A key made with a two-line file opens in openssl with the
    /// same file; files openssl would read differently are refused.
    func testPassphraseFileIsReadAsOpenSSLReadsIt() throws {
        let passFile = path("two-lines.txt")
        try "first line\nsecond line\n".write(toFile: passFile, atomically: true, encoding: .utf8)
        let priv = path("two-lines.pem")
        let generated = try KeyGeneration.generate(type: .p256, to: priv, passphrase: .file(passFile))
        let pub = try openssl(["pkey", "-in", priv, "-passin", "file:" + passFile, "-pubout"]).stdoutText
        XCTAssertEqual(pub, try String(contentsOfFile: priv + ".pub", encoding: .utf8))
        try openssl(["pkey", "-in", priv, "-passin", "pass:first line", "-noout"])
        XCTAssertEqual(try KeyFile.loadPrivateKey(priv, passphrase: .file(passFile)).publicKey.keyID, generated.keyID)
        // openssl would read these differently: refused, without quoting the passphrase.
        for (name, content) in [("crlf", "secret\r\n"), ("empty", "\nsecret\n"), ("nul", "sec\u{0}ret\n"),
                                ("long", String(repeating: "x", count: 1024) + "\n")] {
            try content.write(toFile: path(name), atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try PassphraseSource.file(path(name)).read(), name) {
                XCTAssertFalse("\($0)".contains("secret"), "\($0)")
            }
        }
        try (String(repeating: "y", count: 1023) + "\n").write(toFile: path("max"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try PassphraseSource.file(path("max")).read().count, 1023)
    }

    /// Keys made by `openssl genpkey` (plain and encrypted) load in modelsec,
    /// derive the same public key, and sign/verify/derive interoperably.
    func testModelsecUsesKeysOpenSSLMakes() throws {
        let specs: [(KeyType, [String])] = [
            (.ed25519, ["-algorithm", "ed25519"]),
            (.p256, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            (.p384, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
            (.p521, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"]),
            (.x25519, ["-algorithm", "x25519"]),
        ]
        let message = path("msg.bin")
        try Data("model manifest bytes".utf8).write(to: URL(fileURLWithPath: message))
        for (type, args) in specs {
            for encrypted in [false, true] {
                let priv = path("ossl-\(type.rawValue)-\(encrypted).pem"), pub = priv + ".pub"
                try openssl(["genpkey"] + args + (encrypted ? ["-aes-256-cbc", "-pass", "pass:example"] : []) + ["-out", priv])
                try openssl(["pkey", "-in", priv, "-pubout", "-out", pub] + (encrypted ? ["-passin", "pass:example"] : []))
                let passphrase: PassphraseSource? = encrypted ? .environment("MODELSEC_TEST_PASSPHRASE") : nil
                setenv("MODELSEC_TEST_PASSPHRASE", "example", 1)
                let key = try KeyFile.loadPrivateKey(priv, passphrase: passphrase)
                let publicKey = try KeyFile.loadPublicKey(pub)
                XCTAssertEqual(key.algorithm.rawValue, type.rawValue)
                XCTAssertEqual(key.publicKey.pemRepresentation, try String(contentsOfFile: pub, encoding: .utf8))
                XCTAssertEqual(key.publicKey.keyID, publicKey.keyID)

                switch key {
                case let .ed25519(k):
                    // modelsec signs, openssl verifies; openssl signs, modelsec verifies.
                    let sig = path("ed.sig")
                    try Data(k.signature(for: try Data(contentsOf: URL(fileURLWithPath: message)))).write(to: URL(fileURLWithPath: sig))
                    try openssl(["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", message, "-sigfile", sig])
                    let osig = path("ed-ossl.sig")
                    try openssl(["pkeyutl", "-sign", "-inkey", priv, "-rawin", "-in", message, "-out", osig] + (encrypted ? ["-passin", "pass:example"] : []))
                    XCTAssertTrue(publicKey.isValidSignature(try Data(contentsOf: URL(fileURLWithPath: osig)), for: try Data(contentsOf: URL(fileURLWithPath: message))))
                case let .ecdsa(k):
                    // Each curve with its own hash: P-256/SHA-256, P-384/SHA-384, P-521/SHA-512.
                    let digest = ["p256": "-sha256", "p384": "-sha384", "p521": "-sha512"][type.rawValue]!
                    let sig = path("\(type.rawValue).sig")
                    try Data(k.signature(for: try Data(contentsOf: URL(fileURLWithPath: message)))).write(to: URL(fileURLWithPath: sig))
                    try openssl(["dgst", digest, "-verify", pub, "-signature", sig, message])
                    let osig = path("\(type.rawValue)-ossl.sig")
                    try openssl(["dgst", digest, "-sign", priv, "-out", osig] + (encrypted ? ["-passin", "pass:example"] : []) + [message])
                    XCTAssertTrue(publicKey.isValidSignature(try Data(contentsOf: URL(fileURLWithPath: osig)), for: try Data(contentsOf: URL(fileURLWithPath: message))))
                case let .x25519(k):
                    // Both sides derive the same shared secret with a fresh peer.
                    let peer = X25519.PrivateKey()
                    let peerPub = path("peer.pub")
                    try KeyFile.write(PublicKey.x25519(peer.publicKey), to: peerPub, overwrite: true)
                    let ours = try k.sharedSecret(with: peer.publicKey).withUnsafeBytes { Array($0) }
                    let theirs = try openssl(["pkeyutl", "-derive", "-inkey", priv, "-peerkey", peerPub] + (encrypted ? ["-passin", "pass:example"] : [])).stdout
                    XCTAssertEqual(ours, Array(theirs))
                }
            }
        }
    }

    func testSymmetricKeyFile() throws {
        let file = path("artifact.key")
        let generated = try KeyGeneration.generate(type: .aes256, to: file)
        XCTAssertEqual(FileIO.permissions(file), 0o600)
        XCTAssertNil(generated.publicKeyPath)
        let key = try KeyFile.loadSymmetricKey(file)
        XCTAssertEqual(key.byteCount, 32)
        XCTAssertEqual(SymmetricKeyFile.keyID(of: key), generated.keyID)
        XCTAssertThrowsError(try KeyGeneration.generate(type: .aes256, to: file)) { XCTAssertEqual($0 as? OutputExistsError, OutputExistsError(path: file)) }
        XCTAssertThrowsError(try KeyFile.loadSymmetricKey(path("missing.key"))) {
            // FileError's own `path` (its `ModelSecError.path` is nil: see the lead's notes).
            XCTAssertEqual(($0 as? FileError).map { $0.file }, path("missing.key"), "\($0)")
        }
        // A 31-byte body is refused.
        try PEMBlock.encode(label: SymmetricKeyFile.pemLabel, der: [UInt8](repeating: 1, count: 31)).write(toFile: path("short.key"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try KeyFile.loadSymmetricKey(path("short.key"))) { XCTAssertEqual(($0 as? KeyFileError)?.code, "key.malformed", "\($0)") }
    }

    func testMalformedKeysAreRefusedClearly() throws {
        _ = try KeyGeneration.generate(type: .ed25519, to: path("good.pem"))
        let good = try String(contentsOfFile: path("good.pem"), encoding: .utf8)
        let cases: [(String, String, String)] = [
            ("truncated.pem", String(good.prefix(40)), "key.not-pem"),
            ("garbled.pem", good.replacingOccurrences(of: "MC4C", with: "M!!C"), "key.not-pem"),
            ("empty.pem", "", "key.not-pem"),
            ("binary.der", String(decoding: [0x30, 0x82, 0xff, 0xfe], as: UTF8.self), "key.not-pem"),
            ("cert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "key.unsupported-pem-block"),
            ("short-der.pem", "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n", "key.malformed"),
        ]
        for (name, text, expected) in cases {
            try text.write(toFile: path(name), atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try KeyFile.load(path(name)), name) { error in
                let keyError = error as? KeyFileError
                XCTAssertEqual(keyError?.path, path(name), "names the file: \(error)")
                XCTAssertEqual(keyError?.code, expected, "\(name): \(error)")
                XCTAssertEqual(keyError?.category, .invalidInput)
            }
        }
        // Bytes that are not UTF-8 are a binary file, not a PEM one.
        try Data([0x30, 0x82, 0xff, 0xfe]).write(to: URL(fileURLWithPath: path("raw.der")))
        XCTAssertThrowsError(try KeyFile.load(path("raw.der"))) { XCTAssertEqual(($0 as? KeyFileError)?.problem, .binary, "\($0)") }
        // An RSA key is a supported PEM block of an unsupported algorithm.
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", path("rsa.pem")])
        XCTAssertThrowsError(try KeyFile.load(path("rsa.pem"))) { XCTAssertEqual(($0 as? KeyFileError)?.code, "key.unsupported-algorithm", "\($0)") }
        // An EC key on a curve outside P-256/P-384/P-521 (secp256k1) is refused too.
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1", "-out", path("k1.pem")])
        XCTAssertThrowsError(try KeyFile.load(path("k1.pem"))) {
            guard case let .undecodable(.unsupportedAlgorithm(what))? = ($0 as? KeyFileError)?.problem else { return XCTFail("\($0)") }
            XCTAssertTrue(what.contains("secp256k1"), what)
        }
        // Wrong kind for the role.
        XCTAssertThrowsError(try KeyFile.loadPublicKey(path("good.pem"))) {
            XCTAssertEqual(($0 as? KeyFileError)?.problem, .wrongRole(expected: .publicKey, actual: .privateKey))
        }
        XCTAssertThrowsError(try KeyFile.loadPrivateKey(path("good.pem.pub"))) {
            XCTAssertEqual(($0 as? KeyFileError)?.problem, .wrongRole(expected: .privateKey, actual: .publicKey))
        }
        _ = try KeyGeneration.generate(type: .x25519, to: path("x.pem"))
        XCTAssertThrowsError(try KeyFile.loadSigningKey(path("x.pem"))) { XCTAssertEqual(($0 as? KeyFileError)?.problem, .cannotSign(.x25519)) }
    }

    func testPermissionWarningAndTrustedKeysDirectory() throws {
        _ = try KeyGeneration.generate(type: .ed25519, to: path("a.pem"))
        XCTAssertNil(KeyFile.permissionWarning(path("a.pem")))
        chmod(path("a.pem"), 0o644)
        XCTAssertNotNil(KeyFile.permissionWarning(path("a.pem")))

        let trust = dir.appendingPathComponent("trusted")
        try FileManager.default.createDirectory(at: trust, withIntermediateDirectories: true)
        let a = try KeyGeneration.generate(type: .ed25519, to: trust.appendingPathComponent("a").path)
        try FileManager.default.removeItem(atPath: trust.appendingPathComponent("a").path)
        let b = try KeyGeneration.generate(type: .p256, to: trust.appendingPathComponent("b").path)
        try FileManager.default.removeItem(atPath: trust.appendingPathComponent("b").path)
        let keys = try TrustedKeys(directory: trust.path)
        XCTAssertEqual(keys.keys.count, 2)
        XCTAssertNotNil(keys.key(withID: a.keyID))
        XCTAssertNotNil(keys.key(withID: b.keyID))
        XCTAssertNil(keys.key(withID: String(repeating: "0", count: 64)))
        // A private key in a trust directory is an error.
        try FileManager.default.copyItem(atPath: path("a.pem"), toPath: trust.appendingPathComponent("oops.pem").path)
        XCTAssertThrowsError(try TrustedKeys(directory: trust.path)) { XCTAssertEqual(($0 as? KeyFileError)?.code, "key.private-key-among-trusted-keys") }
    }
}
