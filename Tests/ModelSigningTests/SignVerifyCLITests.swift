import Foundation
import TestSupport
import XCTest

/// `modelsec sign` / `modelsec verify`: outputs and exit codes.
final class SignVerifyCLITests: XCTestCase {
    private func keygen(_ type: String = "ed25519") throws -> String {
        let path = try TestSupport.makeTemporaryDirectory("modelsec-cli-keys").appendingPathComponent("k.pem").path
        let r = try TestSupport.modelsec(["keygen", "--type", type, "--out", path])
        XCTAssertEqual(r.status, 0, r.stderrText)
        return path
    }

    func testSignWritesModelSigInTheCurrentDirectoryAndPrintsSummary() throws {
        let model = try Fixtures.directoryModel()
        let key = try keygen()
        let cwd = try TestSupport.makeTemporaryDirectory("modelsec-cli-cwd")
        let r = try TestSupport.modelsec(["sign", model.path, "--key", key], currentDirectory: cwd)
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cwd.appendingPathComponent("model.sig").path))
        let lines = r.stdoutText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, r.stdoutText)
        XCTAssertTrue(lines[0].hasPrefix("subject: sha256:"))
        XCTAssertEqual(lines[0].count, "subject: sha256:".count + 64)
        // The key id is the SHA-256 of the public key's PEM file.
        let keyID = try Fixtures.sha256sum(URL(fileURLWithPath: key + ".pub"))
        XCTAssertEqual(lines[1], "key-id: \(keyID)")
        XCTAssertEqual(lines[2], "files: 5")

        let ok = try TestSupport.modelsec(["verify", model.path, "--signature", "model.sig", "--public-key", key + ".pub"], currentDirectory: cwd)
        XCTAssertEqual(ok.status, 0, ok.stderrText)
        XCTAssertEqual(ok.stdoutText.split(separator: "\n").count, 1, "one-line summary")
    }

    func testVerifyReportsEveryProblemWithExitOne() throws {
        let model = try Fixtures.directoryModel()
        let key = try keygen()
        let sig = try Fixtures.signaturePath()
        XCTAssertEqual(try TestSupport.modelsec(["sign", model.path, "--key", key, "-o", sig]).status, 0)
        try Fixtures.flipByte(model.appendingPathComponent("config.json"))
        try FileManager.default.removeItem(at: model.appendingPathComponent("empty.txt"))
        try Fixtures.write("sub dir/new file.bin", "x", in: model)

        let r = try TestSupport.modelsec(["verify", model.path, "--signature", sig, "--public-key", key + ".pub"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdoutText.contains("modified: config.json"), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("missing:  empty.txt"), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("extra:    sub dir/new file.bin"), r.stdoutText)
        XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, r.stderrText)

        let json = try TestSupport.modelsec(["verify", model.path, "--signature", sig, "--public-key", key + ".pub", "--json"])
        XCTAssertEqual(json.status, 1)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        XCTAssertEqual(object["outcome"] as? String, "content-mismatch")
        XCTAssertEqual(object["modified"] as? [String], ["config.json"])
        XCTAssertEqual(object["missing"] as? [String], ["empty.txt"])
        XCTAssertEqual(object["extra"] as? [String], ["sub dir/new file.bin"])

        let lenient = try TestSupport.modelsec(["verify", model.path, "--signature", sig, "--public-key", key + ".pub", "--ignore-unsigned-files"])
        XCTAssertEqual(lenient.status, 1)
        XCTAssertFalse(lenient.stdoutText.contains("extra:"), lenient.stdoutText)

        let one = try TestSupport.modelsec(["verify", model.path, "--signature", sig, "--public-key", key + ".pub", "--file", "weights/layer0.bin"])
        XCTAssertEqual(one.status, 0, one.stdoutText + one.stderrText)
        let oneBad = try TestSupport.modelsec(["verify", model.path, "--signature", sig, "--public-key", key + ".pub", "--file", "config.json"])
        XCTAssertEqual(oneBad.status, 1)
    }

    func testUntrustedSignerIsNamedAndTrustDirectoryWorks() throws {
        let model = try Fixtures.singleFileModel()
        let signer = try keygen("p256")
        let other = try keygen()
        let sig = try Fixtures.signaturePath()
        XCTAssertEqual(try TestSupport.modelsec(["sign", model.path, "--key", signer, "--output", sig]).status, 0)
        let signerID = try XCTUnwrap(try? String(contentsOfFile: sig, encoding: .utf8)).components(separatedBy: "\"hint\":\"")[1].prefix(64)

        let r = try TestSupport.modelsec(["verify", model.path, "--signature", sig, "--public-key", other + ".pub"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdoutText.contains(String(signerID)), r.stdoutText)

        let trustDir = try TestSupport.makeTemporaryDirectory("modelsec-trust")
        try FileManager.default.copyItem(atPath: other + ".pub", toPath: trustDir.appendingPathComponent("other.pub").path)
        XCTAssertEqual(try TestSupport.modelsec(["verify", model.path, "--signature", sig, "--trusted-keys", trustDir.path]).status, 1)
        try FileManager.default.copyItem(atPath: signer + ".pub", toPath: trustDir.appendingPathComponent("signer.pub").path)
        let ok = try TestSupport.modelsec(["verify", model.path, "--signature", sig, "--trusted-keys", trustDir.path])
        XCTAssertEqual(ok.status, 0, ok.stderrText)
    }

    func testMalformedOrUnreadableSignatureExitsTwo() throws {
        let model = try Fixtures.singleFileModel()
        let key = try keygen()
        let dir = try TestSupport.makeTemporaryDirectory("modelsec-bad-sig")
        let garbage = dir.appendingPathComponent("garbage.sig")
        try Data("{\"mediaType\": 3".utf8).write(to: garbage)
        for path in [garbage.path, dir.appendingPathComponent("absent.sig").path] {
            let r = try TestSupport.modelsec(["verify", model.path, "--signature", path, "--public-key", key + ".pub"])
            XCTAssertEqual(r.status, 2, r.stderrText)
            XCTAssertTrue(r.stderrText.contains(path), r.stderrText)
            XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, r.stderrText)
        }
        // Usage errors: no trusted key, both kinds.
        XCTAssertEqual(try TestSupport.modelsec(["verify", model.path, "--signature", garbage.path]).status, 2)
        XCTAssertEqual(try TestSupport.modelsec(["verify", model.path, "--signature", garbage.path, "--public-key", key + ".pub", "--trusted-keys", dir.path]).status, 2)
        // Signing with a public key or an x25519 key is an input error.
        XCTAssertEqual(try TestSupport.modelsec(["sign", model.path, "--key", key + ".pub", "--output", dir.appendingPathComponent("x.sig").path]).status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.sig").path))
    }

    func testIgnorePathsRelativeToTheModelOrToTheCurrentDirectory() throws {
        let model = try Fixtures.directoryModel()
        try Fixtures.write("notes/README.md", "docs", in: model)
        let key = try keygen()
        let sig = try Fixtures.signaturePath()
        let cwd = model.deletingLastPathComponent()
        let r = try TestSupport.modelsec(["sign", "model", "--key", key, "--output", sig, "--ignore", "model/notes", "--ignore", "config.json", "--json"],
                                         currentDirectory: cwd)
        XCTAssertEqual(r.status, 0, r.stderrText)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual(json["fileCount"] as? Int, 4, "5 fixture files + notes/README.md - notes - config.json")
        let payload = try XCTUnwrap(String(contentsOfFile: sig, encoding: .utf8).components(separatedBy: "\"payload\":\"").last?.components(separatedBy: "\"").first)
        let statementData = try XCTUnwrap(Data(base64Encoded: payload))
        let statement = String(decoding: statementData, as: UTF8.self)
        let predicate = try XCTUnwrap((JSONSerialization.jsonObject(with: statementData) as? [String: Any])?["predicate"] as? [String: Any])
        let ignored = try XCTUnwrap((predicate["serialization"] as? [String: Any])?["ignore_paths"] as? [String])
        XCTAssertEqual(Set(ignored), [".git", ".gitattributes", ".github", ".gitignore", "config.json", "notes"])
        XCTAssertFalse(statement.contains("README.md"), statement)
    }

    func testHelpHasExamples() throws {
        for command in ["sign", "verify"] {
            let r = try TestSupport.modelsec([command, "--help"])
            XCTAssertEqual(r.status, 0)
            XCTAssertTrue(r.stdoutText.contains("modelsec \(command) "), r.stdoutText)
        }
    }
}
