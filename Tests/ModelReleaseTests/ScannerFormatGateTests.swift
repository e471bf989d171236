import Foundation
import TestSupport
import XCTest

/// Issue #16: the deploy gate, under `policies/baseline.yaml`, refuses a
/// release that contains any malicious sample of the formats the scanner
/// reads (GGUF chat templates, ONNX external data and custom operators, Keras
/// `.keras` and legacy `.h5` configurations, SavedModel operations), and
/// accepts the release of the benign samples. The samples come from the
/// scanner tests' fixture script (Tests/ModelScannerTests/ModelFormatFixtures.swift),
/// run here with the pinned Python, so both test targets judge the same bytes.
final class ScannerFormatGateTests: XCTestCase {
    static let malicious = [
        "evil_globals.gguf", "evil_cycler.gguf", "evil_subscript.gguf", "broken_template.gguf",
        "onnx/evil_external.onnx", "onnx/evil_subgraph.onnx", "onnx/custom_op.onnx", "evil_lambda.keras",
        "evil_module.keras", "duplicate_key.keras", "evil_lambda.h5", "evil_vlen.h5", "weights_only.h5",
        "tf_evil/saved_model.pb", "tf_print/saved_model.pb",
    ]
    static let benign = ["benign.gguf", "onnx/benign.onnx", "onnx/benign.onnx_data", "benign.keras", "benign.h5",
                         "tf_benign/saved_model.pb", "pytorch_model.bin"]

    struct FixtureScriptMissing: Error {}

    private var work: URL!
    private var samples: URL!

    override func setUpWithError() throws {
        work = try TestSupport.makeTemporaryDirectory("format-gate")
        samples = work.appendingPathComponent("samples")
        let source = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("Tests/ModelScannerTests/ModelFormatFixtures.swift"), encoding: .utf8)
        guard let start = source.range(of: "static let script = #\"\"\"\n"), let end = source.range(of: "\"\"\"#", range: start.upperBound..<source.endIndex) else {
            throw FixtureScriptMissing()
        }
        let r = try TestSupport.run(try TestSupport.python(), ["-c", String(source[start.upperBound..<end.lowerBound]), samples.path],
                                    environment: ["KERAS_BACKEND": "torch"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        for (name, type) in [("sign.pem", "ed25519"), ("deploy.pem", "x25519")] {
            let k = try TestSupport.modelsec(["keygen", "--type", type, "--out", at(name)])
            XCTAssertEqual(k.status, 0, k.stderrText)
        }
        try FileManager.default.createDirectory(atPath: at("trusted"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: at("sign.pem.pub"), toPath: at("trusted/sign.pem.pub"))
    }

    private func at(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// Releases a model made of `files` (paths under the samples directory,
    /// kept with their relative paths) and runs the gate with the baseline policy; returns its exit status.
    private func gate(_ label: String, files: [String]) throws -> TestSupport.ProcessResult {
        let model = at("model-\(label)")
        for file in files {
            let target = URL(fileURLWithPath: model).appendingPathComponent(file)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: samples.appendingPathComponent(file), to: target)
        }
        let created = try TestSupport.modelsec(["release", "create", model, "--name", "m", "--version", "1.0.0", "--signing-key", at("sign.pem"),
                                                "--recipient", at("deploy.pem.pub"), "--output", at("rel-\(label)")])
        XCTAssertEqual(created.status, 0, created.stderrText)
        return try TestSupport.modelsec(["release", "verify", at("rel-\(label)"), "--trusted-keys", at("trusted"), "--identity", at("deploy.pem"),
                                         "--policy", TestSupport.repositoryRoot.appendingPathComponent("policies/baseline.yaml").path,
                                         "--output", at("out-\(label)")], environment: ["MODELSEC_TRUSTED_KEYS": at("trusted")])
    }

    func testTheBaselineGateRefusesEveryMaliciousFormatSample() throws {
        for (index, name) in ScannerFormatGateTests.malicious.enumerated() {
            let refused = try gate("evil\(index)", files: [name])
            XCTAssertEqual(refused.status, 1, "\(name): \(refused.stderrText)")
            XCTAssertTrue(refused.stderrText.contains("policy step failed"), "\(name): \(refused.stderrText)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: at("out-evil\(index)")), name)
        }
    }

    func testTheBaselineGateAcceptsTheBenignFormatSamples() throws {
        let accepted = try gate("benign", files: ScannerFormatGateTests.benign)
        XCTAssertEqual(accepted.status, 0, accepted.stderrText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: at("out-benign")))
    }
}
