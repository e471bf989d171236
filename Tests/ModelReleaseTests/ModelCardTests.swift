import Foundation
import ModelRelease
import XCTest

final class ModelCardTests: XCTestCase {
    func testWellKnownAndExtraFields() throws {
        let card = try ModelCard(yaml: """
        license: apache-2.0
        owner: ml-platform@example.com
        intended_use: Sentiment classification
        training_data:
          - reviews-2024
          - imdb
        eval: {accuracy: 0.93, samples: 5000}
        notes: "yes"
        reviewed: yes
        """)
        XCTAssertEqual(card.license, "apache-2.0")
        XCTAssertEqual(card.owner, "ml-platform@example.com")
        XCTAssertEqual(card.intendedUse, "Sentiment classification")
        XCTAssertEqual(card.trainingData, .array([.string("reviews-2024"), .string("imdb")]))
        XCTAssertEqual(card.extraFields["eval"], .object(["accuracy": .number(0.93), "samples": .integer(5000)]))
        XCTAssertEqual(card.extraFields["notes"], .string("yes"), "quoted scalars stay strings")
        XCTAssertEqual(card.extraFields["reviewed"], .bool(true))
        XCTAssertEqual(Set(card.extraFields.keys), ["eval", "notes", "reviewed"])

        // Round trip through JSON keeps every field.
        let data = try JSONEncoder().encode(card)
        XCTAssertEqual(try JSONDecoder().decode(ModelCard.self, from: data), card)
    }

    func testErrorsAreOneLineAndNameTheFile() throws {
        let cases: [(String, String)] = [
            ("license: [mit]\n", "license must be a string"),
            ("owner: 42\n", "owner must be a string"),
            ("- a\n- b\n", "must be a YAML mapping"),
            ("plain text", "must be a YAML mapping"),
            ("a: [1, 2\n", "not valid YAML"),
            ("a: 1\na: 2\n", "a"),
            ("training_data: ~\n", "training_data is empty"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try ModelCard(yaml: yaml, source: "card.yaml"), yaml) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("card.yaml: "), text)
                XCTAssertTrue(text.contains(expected), "\(yaml) -> \(text)")
                XCTAssertFalse(text.contains("\n"), text)
                XCTAssertEqual((error as? ReleaseInputError)?.category.exitCode, 2)
            }
        }
    }

    func testAliasBombIsRefused() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...8 { yaml += "a\(i): &a\(i) [*a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1)]\n" }
        XCTAssertThrowsError(try ModelCard(yaml: yaml, source: "bomb.yaml")) { error in
            XCTAssertTrue("\(error)".contains("values"), "\(error)")
        }
    }

    func testManifestRejectsUnsafePaths() throws {
        func manifest(path: String, encrypted: String) -> Data {
            Data("""
            {"format":"modelsec-release/v1","name":"m","version":"1","createdAt":"2026-01-01T00:00:00Z",
             "tool":{"name":"modelsec","version":"0"},"signer":{"keyId":"00","algorithm":"ed25519"},
             "encryption":{"format":"modelsec-encrypted/v1","cipher":"aes-256-gcm","chunkSize":65536,"recipients":[]},
             "artifacts":[{"path":"\(path)","size":1,"sha256":"\(String(repeating: "a", count: 64))","encryptedPath":"\(encrypted)","encryptedSize":1}]}
            """.utf8)
        }
        XCTAssertNoThrow(try ReleaseManifest(jsonData: manifest(path: "a/b.bin", encrypted: "artifacts/a/b.bin.enc")))
        for (path, encrypted) in [("../x", "artifacts/x.enc"), ("/etc/passwd", "artifacts/x.enc"), ("a//b", "artifacts/x.enc"),
                                  (".modelsec/release.json", "artifacts/x.enc"), ("x", "../x.enc"), ("x", "release.json"), ("x", "artifacts/../../x")] {
            XCTAssertThrowsError(try ReleaseManifest(jsonData: manifest(path: path, encrypted: encrypted)), "\(path) \(encrypted)")
        }
        XCTAssertThrowsError(try ReleaseManifest(jsonData: Data("{\"format\":\"modelsec-release/v9\"}".utf8)))
    }
}
