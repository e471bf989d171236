import Foundation
import ModelSecCrypto
import ModelSecKeys
import TestSupport
import XCTest

/// Model directories and keys for the signing tests.
enum Fixtures {
    /// A directory model with nested folders, an empty file and a dotfile.
    /// Returns the model's URL (inside a fresh temporary directory).
    static func directoryModel(name: String = "model") throws -> URL {
        let root = try TestSupport.makeTemporaryDirectory("modelsec-signing").appendingPathComponent(name)
        try write("config.json", #"{"layers": 12}"#, in: root)
        try write("weights/layer0.bin", String(repeating: "w0", count: 5000), in: root)
        try write("weights/deep/nested/layer1.bin", String(repeating: "w1", count: 300), in: root)
        try write("empty.txt", "", in: root)
        try write(".dotfile", "hidden but signed", in: root)
        return root
    }

    /// A single-file model.
    static func singleFileModel() throws -> URL {
        let dir = try TestSupport.makeTemporaryDirectory("modelsec-signing")
        let file = dir.appendingPathComponent("model.safetensors")
        try Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: file)
        return file
    }

    /// Writes `text` at `relative` under `root`, creating folders.
    static func write(_ relative: String, _ text: String, in root: URL) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// Copies a model (directory or file) to a fresh location with the same base name.
    static func copy(_ model: URL) throws -> URL {
        let target = try TestSupport.makeTemporaryDirectory("modelsec-signing-copy").appendingPathComponent(model.lastPathComponent)
        try FileManager.default.copyItem(at: model, to: target)
        return target
    }

    /// Flips one bit of one byte in the middle of `file`.
    static func flipByte(_ file: URL) throws {
        var bytes = [UInt8](try Data(contentsOf: file))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: file)
    }

    /// A key pair written as PKCS#8 / SPKI PEM files; returns the paths.
    struct KeyPair {
        let key: PrivateKey
        let privatePath: String
        let publicPath: String
        var signingKey: SigningPrivateKey { key.signingKey! }
        var publicKey: PublicKey { key.publicKey }
    }

    static func keyPair(_ algorithm: KeyAlgorithm) throws -> KeyPair {
        let dir = try TestSupport.makeTemporaryDirectory("modelsec-signing-keys")
        let key = PrivateKey.generate(algorithm)
        let path = dir.appendingPathComponent("\(algorithm.rawValue).pem").path
        try KeyFile.write(key, to: path)
        try KeyFile.write(key.publicKey, to: path + ".pub")
        return KeyPair(key: key, privatePath: path, publicPath: path + ".pub")
    }

    /// A place for a signature outside any model.
    static func signaturePath() throws -> String {
        try TestSupport.makeTemporaryDirectory("modelsec-signing-sig").appendingPathComponent("model.sig").path
    }

    /// The lowercase hex SHA-256 of a file, computed by `sha256sum` (an
    /// independent implementation).
    static func sha256sum(_ file: URL) throws -> String {
        let r = try TestSupport.run("sha256sum", [file.path])
        XCTAssertEqual(r.status, 0, r.stderrText)
        return String(r.stdoutText.prefix(64))
    }
}
