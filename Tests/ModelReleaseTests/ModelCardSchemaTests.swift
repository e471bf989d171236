import Foundation
import ModelRelease
import TestSupport
import XCTest

/// The `--metadata` schema: every refusal names the file and the line, and
/// member names are judged as exact bytes.
final class ModelCardSchemaTests: XCTestCase {
    static let sampleCard = TestSupport.repositoryRoot.appendingPathComponent("examples/sample-model-card.yaml").path

    func refusal(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try ModelCard(yaml: yaml, source: "card.yaml")
            XCTFail("accepted: \(yaml)", file: file, line: line)
            return ""
        } catch let error as ReleaseInputError {
            XCTAssertEqual(error.category, .invalidInput, file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".hasPrefix("card.yaml: "), "\(error)", file: file, line: line)
            return "\(error)"
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return ""
        }
    }

    func testSampleModelCardFillsEveryField() throws {
        let card = try ModelCard.load(path: Self.sampleCard)
        XCTAssertEqual(Set(card.fields.keys), Set(ModelCardSchema.fieldNames), "the README's example card fills every top-level field")
        XCTAssertEqual(card.datasets.count, 2)
        XCTAssertTrue(card.datasets.allSatisfy { $0.sha256 != nil && $0.license != nil && $0.url != nil && $0.version != nil && $0.classification != nil && $0.description != nil })
        XCTAssertEqual(card.metrics.first?.name, "accuracy")
        XCTAssertNotNil(card.metrics.first?.confidenceLower)
        XCTAssertEqual(card.baseModel?.name, "sentiment-base")
        let parameters = card.fields["model_parameters"]?.objectValue ?? [:]
        XCTAssertEqual(Set(parameters.keys), ["task", "architecture_family", "model_architecture", "approach", "inputs", "outputs", "hyperparameters"])
        let considerations = card.fields["considerations"]?.objectValue ?? [:]
        XCTAssertEqual(Set(considerations.keys), ["users", "use_cases", "technical_limitations", "performance_tradeoffs", "ethical_considerations"])
    }

    func testJSONCardReadsAsTheSameCard() throws {
        let yaml = try ModelCard(yaml: """
        license: MIT OR Apache-2.0
        datasets:
          - {name: d, sha256: \(String(repeating: "ab", count: 32)), role: training}
        metrics:
          - {name: accuracy, value: 0.91}
          - {name: loss, value: 1e-3}
        """)
        let json = try ModelCard(yaml: """
        {"license": "MIT OR Apache-2.0",
         "datasets": [{"name": "d", "sha256": "\(String(repeating: "ab", count: 32))", "role": "training"}],
         "metrics": [{"name": "accuracy", "value": 0.91}, {"name": "loss", "value": 1e-3}]}
        """)
        XCTAssertEqual(yaml, json)
        XCTAssertEqual(json.metrics.map(\.value), [0.91, 0.001])
    }

    func testRefusalsNameTheLine() {
        let hash = String(repeating: "ab", count: 32)
        let cases: [(String, String)] = [
            ("owner: a\nlicence: MIT\n", "line 2: licence is not a field of the model card"),
            ("license: MIT\nmodel_parameters:\n  task: x\n  layers: 3\n", "line 4: model_parameters.layers is not a field of model_parameters"),
            ("license: MIT and Apache-2.0\n", "line 1: license is not an SPDX license expression"),
            ("license: GPL-2.0 WITH\n", "line 1: license is not an SPDX license expression"),
            ("license: (MIT\n", "line 1: license is not an SPDX license expression"),
            ("license: MIT/X11\n", "line 1: license is not an SPDX license expression"),
            ("datasets:\n  - name: a\n    sha256: \(hash)\n  - name: b\n    url: https://x\n", "line 4: datasets[1] needs the field sha256"),
            ("datasets:\n  - name: a\n    sha256: ABC\n", "line 3: datasets[0].sha256 must be a SHA-256"),
            ("datasets: {name: a}\n", "line 1: datasets must be a list, not a mapping"),
            ("metrics:\n  - name: accuracy\n    value: high\n", "line 3: metrics[0].value must be a number, not a string"),
            ("metrics:\n  - name: accuracy\n    value: \"0.9\"\n", "line 3: metrics[0].value must be a number, not a string"),
            ("base_model:\n  name: b\n  digest: \(hash)\n", "line 3: base_model.digest must be sha256: followed by 64 lowercase hex digits"),
            ("model_parameters:\n  approach: guessing\n", "line 2: model_parameters.approach must be one of supervised"),
            ("model_parameters:\n  hyperparameters:\n    lr: [1, 2]\n", "line 3: model_parameters.hyperparameters.lr must be a string, number or boolean"),
            ("schema: modelsec-model-card/v2\n", "line 1: schema must be one of modelsec-model-card/v1"),
            ("owner: 42\n", "line 1: owner must be a string, not a number"),
        ]
        for (yaml, expected) in cases {
            let text = refusal(yaml)
            XCTAssertTrue(text.contains(expected), "\(yaml) -> \(text)")
        }
    }

    func testDigitOnlyHashesStayStrings() throws {
        // YAML would read 64 digits as an integer; too large for one, they stay the text written.
        let digits = String(repeating: "1", count: 64)
        let card = try ModelCard(yaml: "datasets:\n  - name: a\n    sha256: \(digits)\n")
        XCTAssertEqual(card.datasets.first?.sha256, digits)
    }

    /// Regression (Unicode equivalence class): member names that differ only
    /// in normalization are one name to a reader keying by Swift String.
    func testUnicodeEquivalenceClass_duplicateMemberNamesAreRefused() {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        XCTAssertNotEqual(Array(nfc.utf8), Array(nfd.utf8))
        for yaml in ["extra:\n  \(nfc): 1\n  \(nfd): 2\n",
                     "model_parameters:\n  hyperparameters:\n    \(nfd): 1\n    \(nfc): 2\n",
                     "{\"extra\": {\"\(nfc)\": 1, \"\(nfd)\": 2}}"] {
            let text = refusal(yaml)
            XCTAssertTrue(text.contains("appears twice"), text)
            XCTAssertTrue(text.contains("line "), text)
        }
        // A known field spelt with other bytes is an unknown field, not the known one.
        let text = refusal("owner\u{200B}: a\n")
        XCTAssertTrue(text.contains("is not a field of the model card"), text)
    }

    func testFieldsGivenInCodeAreCheckedToo() {
        XCTAssertThrowsError(try ModelCard(fields: ["licence": .string("MIT")])) { error in
            XCTAssertEqual((error as? ReleaseInputError)?.code, "release.model-card-invalid")
        }
        XCTAssertThrowsError(try ModelCard(fields: ["datasets": .array([.object(["name": .string("d")])])]))
        XCTAssertNoThrow(try ModelCard(fields: ["license": .string("Apache-2.0 WITH LLVM-exception")]))
    }

    func testReleaseCreateWithABadCardWritesNothing() throws {
        let f = try ReleaseFixture()
        let card = f.path("card.yaml")
        try Data("license: MIT\ndatasets:\n  - name: reviews\n".utf8).write(to: URL(fileURLWithPath: card))
        let keys = TestSupport.repositoryRoot.appendingPathComponent("keys-example")
        let r = try TestSupport.modelsec(["release", "create", f.model.path, "--name", "m", "--version", "1",
                                          "--signing-key", keys.appendingPathComponent("p256.pem").path,
                                          "--key-file", keys.appendingPathComponent("aes256.key").path,
                                          "--metadata", card, "--output", f.path("out")])
        XCTAssertEqual(r.status, 2, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("line 3: datasets[0] needs the field sha256"), r.stderrText)
        XCTAssertFalse(f.exists("out"))
        XCTAssertEqual(try f.leftovers(), [])
    }
}
