import Foundation
import ModelRelease
import TestSupport
import XCTest

final class ModelCardTests: XCTestCase {
    func testWellKnownAndExtraFields() throws {
        let card = try ModelCard(yaml: """
        license: apache-2.0
        owner: ml-platform@example.com
        intended_use: Sentiment classification
        training_data: reviews-2024 and imdb
        extra:
          eval: {accuracy: 0.93, samples: 5000}
          notes: "yes"
          reviewed: yes
        """)
        XCTAssertEqual(card.license, "apache-2.0")
        XCTAssertEqual(card.owner, "ml-platform@example.com")
        XCTAssertEqual(card.intendedUse, "Sentiment classification")
        XCTAssertEqual(card.trainingData, .string("reviews-2024 and imdb"))
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
            ("license: [mit]\n", "license must be an SPDX license expression (a string)"),
            ("owner: 42\n", "owner must be a string"),
            ("- a\n- b\n", "must be a YAML mapping"),
            ("plain text", "must be a YAML mapping"),
            ("a: [1, 2\n", "not valid YAML"),
            ("a: 1\na: 2\n", "a"),
            ("training_data: ~\n", "training_data must be a string"),
            // Keys go into release.json, whose readers refuse these: caught
            // here, with the line, instead of making a release the gate refuses.
            ("extra:\n  cafe\u{301}: 1\n", "line 2: the key \"cafe\u{301}\" (U+0063 U+0061 U+0066 U+0065 U+0301) is not in Unicode NFC: readers that compare names by Unicode equivalence read it as U+0063 U+0061 U+0066 U+00E9"),
            ("extra:\n  public\u{212A}ey: 1\n", "is not in Unicode NFC"),
            ("x\(String(repeating: "\u{301}", count: 31)): 1\n", "more than 30 combining marks"),
            ("? \(String(repeating: "k", count: 1100))\n: 1\n", "longer than 1024 bytes"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try ModelCard(yaml: yaml, source: "card.yaml"), yaml) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("card.yaml: "), text)
                XCTAssertTrue(text.contains(expected), "\(yaml) -> \(text)")
                XCTAssertFalse(text.contains("\n"), text)
                XCTAssertEqual((error as? ReleaseInputError)?.category, .invalidInput)
            }
        }
    }

    func testAliasBombIsRefused() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...8 { yaml += "a\(i): &a\(i) [*a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1)]\n" }
        XCTAssertThrowsError(try ModelCard(yaml: yaml, source: "bomb.yaml")) { error in
            XCTAssertTrue("\(error)".contains("more than 100000 YAML nodes"), "\(error)")
        }
    }

    /// Ten x's, then four lists of ten aliases of the previous list, and a key
    /// that is an alias of the last (~500 bytes; `release create --metadata`
    /// spent about half a minute hashing that key before the fix).
    static let aliasBombKey: String = {
        var yaml = "license: mit\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...5 { yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ",") + "]\n" }
        return yaml + "? *a5\n: boom\n"
    }()

    func testYAMLAliasBombClass_modelCardLoadRefusesAtOnce() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("card-bomb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("card.yaml").path
        try Self.aliasBombKey.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertLessThan(Self.aliasBombKey.utf8.count, 600)
        // CPU time of this thread, which parses: a busy machine's waits do not count.
        let (seconds, _) = try TestSupport.cpuSeconds {
            XCTAssertThrowsError(try ModelCard.load(path: path)) { error in
                XCTAssertTrue("\(error)".hasPrefix(path + ": more than 100000 YAML nodes"), "\(error)")
                XCTAssertTrue("\(error)".contains("(line 6, column"), "\(error)")
                XCTAssertEqual((error as? ReleaseInputError)?.category, .invalidInput)
            }
        }
        XCTAssertLessThan(seconds, 1)
    }

    func testYAMLAliasBombClass_modelCardKeysArePlainScalars() {
        for (yaml, expected) in [("a: &a x\n*a : y\n", "an alias used as a mapping key: keys must be plain scalars (line 2, column 1)"),
                                 ("? [x, y]\n: z\n", "a list used as a mapping key: keys must be plain scalars (line 1, column 3)"),
                                 ("eval: {{x: 1}: 2}\n", "a mapping used as a mapping key: keys must be plain scalars (line 1, column 8)")] {
            XCTAssertThrowsError(try ModelCard(yaml: yaml, source: "card.yaml"), yaml) { error in
                XCTAssertEqual("\(error)", "card.yaml: " + expected)
            }
        }
    }

    func testAnchorsAndAliasesAsValuesStillLoad() throws {
        let card = try ModelCard(yaml: """
        license: apache-2.0
        training_data: &data reviews-2024
        extra:
          eval_set: *data
          defaults: &defaults {lr: 0.001, epochs: 3}
          runs: [*defaults, *defaults]
        """)
        XCTAssertEqual(card.trainingData, .string("reviews-2024"))
        XCTAssertEqual(card.extraFields["eval_set"], card.trainingData)
        XCTAssertEqual(card.extraFields["runs"], .array(Array(repeating: .object(["lr": .number(0.001), "epochs": .integer(3)]), count: 2)))
    }

    func testNestingAndSizeLimits() throws {
        // The top mapping is level 1 and `extra` level 2: 62 lists inside reach the limit of 64.
        let deep = { (levels: Int) in "extra:\n  a: " + String(repeating: "[", count: levels) + String(repeating: "]", count: levels) + "\n" }
        XCTAssertNoThrow(try ModelCard(yaml: deep(62), source: "card.yaml"))
        XCTAssertThrowsError(try ModelCard(yaml: deep(63), source: "card.yaml")) { error in
            XCTAssertTrue("\(error)".contains("nested more than 64 levels deep"), "\(error)")
        }
        // An alias counts at the depth of what it expands to.
        let anchored = "extra:\n  a: &a " + String(repeating: "[", count: 59) + String(repeating: "]", count: 59) + "\n"
        XCTAssertNoThrow(try ModelCard(yaml: anchored + "  b: [[[*a]]]\n", source: "card.yaml"))
        XCTAssertThrowsError(try ModelCard(yaml: anchored + "  b: [[[[*a]]]]\n", source: "card.yaml"))
        // Over 1 MiB is refused before parsing.
        let big = "owner: x\n#" + String(repeating: "-", count: 1 << 20) + "\n"
        XCTAssertThrowsError(try ModelCard(yaml: big, source: "card.yaml")) { error in
            XCTAssertTrue("\(error)".contains("the limit is 1048576"), "\(error)")
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

        // release.json means one thing to every reader: a repeated member
        // (JSONDecoder keeps one, Python's json the last), a key in NFC and
        // NFD, or data after the document is refused.
        let good = String(decoding: manifest(path: "a/b.bin", encrypted: "artifacts/a/b.bin.enc"), as: UTF8.self)
        for (label, text) in [("a repeated version", "{\"version\":\"2\"," + good.dropFirst()),
                              ("NFC and NFD keys", "{\"x\u{E9}\":1,\"xe\u{301}\":2," + good.dropFirst()),
                              ("a second document", good + "{}")] {
            XCTAssertThrowsError(try ReleaseManifest(jsonData: Data(text.utf8)), label) { error in
                XCTAssertTrue(error is ReleaseVerificationError, "\(label): \(error)")
                XCTAssertTrue("\(error)".contains("readers could disagree"), "\(label): \(error)")
            }
        }
    }
}
