import Foundation
import TestSupport
import XCTest

/// Both directions against the OpenSSF reference implementation,
/// `model-signing` 1.1.1 from PyPI, driven through its CLI: its verifier
/// accepts what `modelsec sign` writes, `modelsec verify` accepts what it
/// writes, and both reject the same tampering.
final class ModelSigningInteropTests: XCTestCase {
    /// The `model_signing` CLI in a venv this test creates (pyOpenSSL is an
    /// undeclared dependency of it). Skips only when pip cannot install.
    private func referenceTool() throws -> String {
        do {
            let python = try TestSupport.python()
            return URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("model_signing").path
        } catch let error as TestSupport.VenvError where error.message.hasPrefix("pip install") {
            throw XCTSkip("pip could not install model-signing==1.1.1 (no package index reachable?): \(error.message.prefix(300))")
        }
    }

    private struct Keys {
        let privatePath: String
        let publicPath: String
    }

    private func p256Keys() throws -> Keys {
        let dir = try TestSupport.makeTemporaryDirectory("modelsec-interop-keys")
        let path = dir.appendingPathComponent("signer.pem").path
        let r = try TestSupport.modelsec(["keygen", "--type", "p256", "--out", path])
        XCTAssertEqual(r.status, 0, r.stderrText)
        return Keys(privatePath: path, publicPath: path + ".pub")
    }

    private func theirSign(_ tool: String, _ model: URL, _ keys: Keys) throws -> String {
        let sig = try Fixtures.signaturePath()
        let r = try TestSupport.run(tool, ["sign", "key", model.path, "--private_key", keys.privatePath, "--signature", sig])
        XCTAssertEqual(r.status, 0, "model_signing sign: \(r.stdoutText) \(r.stderrText)")
        return sig
    }

    private func theirVerify(_ tool: String, _ model: URL, _ sig: String, _ pub: String) throws -> TestSupport.ProcessResult {
        try TestSupport.run(tool, ["verify", "key", model.path, "--signature", sig, "--public_key", pub])
    }

    private func ourSign(_ model: URL, _ keys: Keys) throws -> String {
        let sig = try Fixtures.signaturePath()
        let r = try TestSupport.modelsec(["sign", model.path, "--key", keys.privatePath, "--output", sig])
        XCTAssertEqual(r.status, 0, r.stderrText)
        return sig
    }

    private func ourVerify(_ model: URL, _ sig: String, _ pub: String) throws -> TestSupport.ProcessResult {
        try TestSupport.modelsec(["verify", model.path, "--signature", sig, "--public-key", pub])
    }

    /// Checks that both tools accept `model` under both signatures, then that
    /// each tampering makes both tools reject both signatures.
    private func checkBothDirections(model: URL, tampers: [(String, String?, (URL) throws -> Void)]) throws {
        let tool = try referenceTool()
        let keys = try p256Keys()
        let wrong = try p256Keys()
        let ours = try ourSign(model, keys)
        let theirs = try theirSign(tool, model, keys)
        for (label, sig) in [("modelsec-signed", ours), ("model_signing-signed", theirs)] {
            let accepted = try theirVerify(tool, model, sig, keys.publicPath)
            XCTAssertEqual(accepted.status, 0, "model_signing verify \(label): \(accepted.stdoutText) \(accepted.stderrText)")
            XCTAssertTrue(accepted.stdoutText.contains("Verification succeeded"), accepted.stdoutText)
            let ok = try ourVerify(model, sig, keys.publicPath)
            XCTAssertEqual(ok.status, 0, "modelsec verify \(label): \(ok.stdoutText) \(ok.stderrText)")
            XCTAssertTrue(ok.stdoutText.hasPrefix("verified "), ok.stdoutText)

            // The wrong key.
            let theirWrong = try theirVerify(tool, model, sig, wrong.publicPath)
            XCTAssertNotEqual(theirWrong.status, 0, "model_signing accepted \(label) with the wrong key")
            let ourWrong = try ourVerify(model, sig, wrong.publicPath)
            XCTAssertEqual(ourWrong.status, 1, "\(label) wrong key: \(ourWrong.stderrText)")
            XCTAssertTrue(ourWrong.stdoutText.contains("not a trusted key"), ourWrong.stdoutText)

            for (what, path, tamper) in tampers {
                let copy = try Fixtures.copy(model)
                try tamper(copy)
                let theirs = try theirVerify(tool, copy, sig, keys.publicPath)
                XCTAssertNotEqual(theirs.status, 0, "model_signing accepted \(label) after: \(what)")
                let mine = try ourVerify(copy, sig, keys.publicPath)
                XCTAssertEqual(mine.status, 1, "\(label) after \(what): \(mine.stdoutText) \(mine.stderrText)")
                if let path { XCTAssertTrue(mine.stdoutText.contains(path), "\(what): report does not name \(path): \(mine.stdoutText)") }
            }
        }
    }

    /// The OMS v1.0 registry's other curves: P-384 (SHA-384) and P-521
    /// (SHA-512) signatures made by either tool verify with the other, and
    /// not with another key.
    func testP384AndP521BothDirections() throws {
        let tool = try referenceTool()
        let model = try Fixtures.directoryModel()
        for type in ["p384", "p521"] {
            let dir = try TestSupport.makeTemporaryDirectory("modelsec-interop-\(type)")
            let keyPath = dir.appendingPathComponent("signer.pem").path, otherPath = dir.appendingPathComponent("other.pem").path
            for path in [keyPath, otherPath] {
                let r = try TestSupport.modelsec(["keygen", "--type", type, "--out", path])
                XCTAssertEqual(r.status, 0, r.stderrText)
            }
            let keys = Keys(privatePath: keyPath, publicPath: keyPath + ".pub")
            for (label, sig) in [("modelsec-signed", try ourSign(model, keys)), ("model_signing-signed", try theirSign(tool, model, keys))] {
                let theirs = try theirVerify(tool, model, sig, keys.publicPath)
                XCTAssertEqual(theirs.status, 0, "model_signing verify \(type) \(label): \(theirs.stdoutText) \(theirs.stderrText)")
                let ours = try ourVerify(model, sig, keys.publicPath)
                XCTAssertEqual(ours.status, 0, "modelsec verify \(type) \(label): \(ours.stdoutText) \(ours.stderrText)")
                XCTAssertEqual(try ourVerify(model, sig, otherPath + ".pub").status, 1, "\(type) \(label) verified with another key")
                XCTAssertNotEqual(try theirVerify(tool, model, sig, otherPath + ".pub").status, 0)
            }
        }
    }

    func testDirectoryModelBothDirectionsAndTampering() throws {
        let model = try Fixtures.directoryModel()
        try checkBothDirections(model: model, tampers: [
            ("one byte changed", "modified: weights/deep/nested/layer1.bin", { try Fixtures.flipByte($0.appendingPathComponent("weights/deep/nested/layer1.bin")) }),
            ("a file added", "extra:    weights/new.bin", { try Fixtures.write("weights/new.bin", "unsigned", in: $0) }),
            ("the empty file removed", "missing:  empty.txt", { try FileManager.default.removeItem(at: $0.appendingPathComponent("empty.txt")) }),
            ("the dotfile removed", "missing:  .dotfile", { try FileManager.default.removeItem(at: $0.appendingPathComponent(".dotfile")) }),
        ])
    }

    func testSingleFileModelBothDirectionsAndTampering() throws {
        let model = try Fixtures.singleFileModel()
        try checkBothDirections(model: model, tampers: [
            ("one byte changed", "modified: .", { try Fixtures.flipByte($0) }),
        ])
    }

    /// The `shards` method is only reachable through the Python API; its
    /// signatures (shard_size written as a float) verify with modelsec, and a
    /// changed byte in one shard is reported.
    func testShardedSignatureFromTheReferenceAPI() throws {
        let tool = try referenceTool()
        let python = URL(fileURLWithPath: tool).deletingLastPathComponent().appendingPathComponent("python").path
        let keys = try p256Keys()
        let model = try Fixtures.directoryModel()
        let sig = try Fixtures.signaturePath()
        let script = """
        import sys, model_signing as ms
        ms.signing.Config().use_elliptic_key_signer(private_key=sys.argv[1]).set_hashing_config(
            ms.hashing.Config().use_shard_serialization(shard_size=4096)).sign(sys.argv[2], sys.argv[3])
        """
        let r = try TestSupport.run(python, ["-c", script, keys.privatePath, model.path, sig])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let payloadText = try String(contentsOfFile: sig, encoding: .utf8)
        XCTAssertTrue(payloadText.contains("dsseEnvelope"))
        let ok = try ourVerify(model, sig, keys.publicPath)
        XCTAssertEqual(ok.status, 0, ok.stdoutText + ok.stderrText)
        try Fixtures.flipByte(model.appendingPathComponent("weights/layer0.bin"))
        let bad = try ourVerify(model, sig, keys.publicPath)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stdoutText.contains("modified: weights/layer0.bin"), bad.stdoutText)
    }
}
