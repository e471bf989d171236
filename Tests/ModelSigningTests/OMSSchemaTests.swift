import Foundation
import TestSupport
import XCTest

/// Our bundles against the OMS v1.0 JSON schemas (vendored in
/// Tests/Vectors/oms-v1.0 with their licence), checked by the same two-level
/// validation as the specification's oms-validate.
final class OMSSchemaTests: XCTestCase {
    private func validate(_ bundles: [String], method: String? = nil) throws -> (status: Int32, lines: [String]) {
        let script = TestSupport.repositoryRoot.appendingPathComponent("Tests/Fixtures/validate_oms.py").path
        let r = try TestSupport.run(try TestSupport.python(), [script] + (method.map { ["--method", $0] } ?? []) + bundles)
        return (r.status, r.stdoutText.split(separator: "\n").map(String.init))
    }

    func testTheValidatorAcceptsTheSpecsValidVectorsAndRefusesItsInvalidOnes() throws {
        let vectors = TestSupport.repositoryRoot.appendingPathComponent("Tests/Vectors/oms-v1.0/test-vectors")
        for (folder, valid) in [("valid", true), ("invalid", false), ("invalid-payload", false)] {
            let dir = vectors.appendingPathComponent(folder)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map { dir.appendingPathComponent($0).path }
            XCTAssertFalse(files.isEmpty, folder)
            for file in files {
                let r = try validate([file])
                XCTAssertEqual(r.status == 0, valid, "\(file): \(r.lines)")
            }
        }
    }

    func testBundlesWeWriteMatchTheSchemasForEveryKeyType() throws {
        let model = try Fixtures.directoryModel()
        let dir = try TestSupport.makeTemporaryDirectory("oms-schema")
        var bundles: [String] = []
        for type in ["ed25519", "p256", "p384", "p521"] {
            let key = dir.appendingPathComponent("\(type).pem").path
            XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", type, "--out", key]).status, 0)
            let sig = dir.appendingPathComponent("\(type).sig").path
            let r = try TestSupport.modelsec(["sign", model.path, "--key", key, "-o", sig])
            XCTAssertEqual(r.status, 0, r.stderrText)
            bundles.append(sig)
        }
        let r = try validate(bundles, method: "key")
        XCTAssertEqual(r.status, 0, r.lines.joined(separator: "\n"))
        XCTAssertEqual(r.lines.count, bundles.count)
    }

    func testCertificateBundlesWeWriteMatchTheSchemas() throws {
        let model = try Fixtures.directoryModel()
        let pki = try TestSupport.makePKI()
        let dir = try TestSupport.makeTemporaryDirectory("oms-schema-cert")
        var bundles: [String] = []
        for tag in ["good", "p384", "p521"] {
            let key = pki.appendingPathComponent("leaf-\(tag).key").path
            chmod(key, 0o600)
            let sig = dir.appendingPathComponent("\(tag).sig").path
            let r = try TestSupport.modelsec(["sign", model.path, "--key", key, "--certificate", pki.appendingPathComponent("leaf-\(tag).pem").path,
                                              "--certificate-chain", pki.appendingPathComponent("chain.pem").path, "-o", sig])
            XCTAssertEqual(r.status, 0, r.stderrText)
            bundles.append(sig)
        }
        let r = try validate(bundles, method: "certificate")
        XCTAssertEqual(r.status, 0, r.lines.joined(separator: "\n"))
        XCTAssertEqual(r.lines.count, bundles.count)
    }
}
