import Foundation
import TestSupport
import XCTest

/// A deployed model directory is an ordinary OMS-signed model: the OpenSSF
/// reference verifier (`model-signing` 1.1.1 from PyPI) accepts it with the
/// release's P-256 key, and rejects an edited model file or an edited
/// release.json.
final class ReleaseModelSigningInteropTests: XCTestCase {
    func testModelSigningVerifiesTheDeployedDirectory() throws {
        let tool: String
        do {
            let python = try TestSupport.python()
            tool = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("model_signing").path
        } catch let error as TestSupport.VenvError where error.message.hasPrefix("pip install") {
            throw XCTSkip("pip could not install model-signing==1.1.1: \(error.message.prefix(300))")
        }
        let tmp = try TestSupport.makeTemporaryDirectory("modelsec-release-interop")
        func at(_ path: String) -> String { tmp.appendingPathComponent(path).path }
        func modelsec(_ args: [String]) throws {
            let r = try TestSupport.modelsec(args)
            XCTAssertEqual(r.status, 0, r.stderrText)
        }
        try FileManager.default.createDirectory(atPath: at("model/nested"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: at("model/config.json")))
        try Data(repeating: 1, count: 100_000).write(to: URL(fileURLWithPath: at("model/nested/weights.bin")))
        try modelsec(["keygen", "--type", "p256", "--out", at("signer.pem")])
        try modelsec(["keygen", "--type", "x25519", "--out", at("deploy.pem")])
        try modelsec(["release", "create", at("model"), "--name", "interop", "--version", "1", "--signing-key", at("signer.pem"),
                      "--recipient", at("deploy.pem.pub"), "--output", at("release")])
        try modelsec(["release", "verify", at("release"), "--public-key", at("signer.pem.pub"), "--identity", at("deploy.pem"),
                      "--output", at("deployed")])

        func theirVerify() throws -> Int32 {
            let r = try TestSupport.run(tool, ["verify", "key", at("deployed"), "--signature", at("deployed/.modelsec/release.sig"),
                                               "--public_key", at("signer.pem.pub")])
            return r.status
        }
        XCTAssertEqual(try theirVerify(), 0)

        let manifest = at("deployed/.modelsec/release.json")
        let original = try Data(contentsOf: URL(fileURLWithPath: manifest))
        try Data(String(decoding: original, as: UTF8.self).replacingOccurrences(of: "\"version\" : \"1\"", with: "\"version\" : \"2\"").utf8)
            .write(to: URL(fileURLWithPath: manifest))
        XCTAssertNotEqual(try theirVerify(), 0, "an edited release.json must fail")
        try original.write(to: URL(fileURLWithPath: manifest))
        XCTAssertEqual(try theirVerify(), 0)

        try Data(repeating: 2, count: 100_000).write(to: URL(fileURLWithPath: at("deployed/nested/weights.bin")))
        XCTAssertNotEqual(try theirVerify(), 0, "an edited model file must fail")
    }
}
