import ArtifactEncryption
import Foundation
import ModelRelease
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import PolicyCheck
import TestSupport
import XCTest

/// Policy checks over a release's evidence (ML-BOM and provenance), on real
/// releases made by `ReleaseCreator`.
final class EvidencePolicyTests: XCTestCase {
    var work: URL!
    var signingKey: SigningPrivateKey!

    override func setUpWithError() throws {
        work = try TestSupport.makeTemporaryDirectory("policy-evidence")
        try FileManager.default.createDirectory(at: work.appendingPathComponent("model"), withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: work.appendingPathComponent("model/weights.bin"))
        try Data("{}".utf8).write(to: work.appendingPathComponent("model/config.json"))
        guard case let .ed25519(key) = PrivateKey.generate(.ed25519) else { fatalError("ed25519 expected") }
        signingKey = .ed25519(key)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    static let hashA = String(repeating: "ab", count: 32)

    /// A release of the fixture model with the model card `card` (YAML), at `name`.
    @discardableResult
    func release(_ name: String, card: String?, build: ProvenanceBuild = .local) throws -> ReleaseEvidence {
        var request = ReleaseRequest(model: work.appendingPathComponent("model").path, name: name, version: "1.0.0",
                                     signingKey: signingKey, recipients: [SymmetricKeyRecipient(SecretKey(randomByteCount: 32))],
                                     output: work.appendingPathComponent(name).path)
        request.modelCard = try card.map { try ModelCard(yaml: $0) }
        request.provenance = build
        request.scan = false
        _ = try ReleaseCreator.create(request)
        return try ManifestEvidenceLoader { _, _ in UnavailableAuthenticator(reason: "not needed") }.load(directory: work.appendingPathComponent(name).path)
    }

    static let card = """
    license: Apache-2.0
    datasets:
      - {name: train, sha256: \(hashA), license: CC-BY-4.0}
      - {name: test, role: evaluation, sha256: \(hashA), license: MIT OR GPL-3.0-only}
    metrics:
      - {name: accuracy, value: 0.93}
      - {name: f1, value: 0.71, slice: rare}
      - {name: f1, value: 0.88, slice: common}
    """

    func outcome(_ check: String, _ params: String, _ evidence: ReleaseEvidence, base: String = "/nonexistent") throws -> CheckOutcome {
        Fixtures.outcome(try Fixtures.policy(check: check, params: params, base: base), evidence)
    }

    func testSPDXExpressionsParseAndEvaluate() throws {
        for valid in ["MIT", "mit", "GPL-2.0+", "LicenseRef-acme-1", "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2",
                      "Apache-2.0 WITH LLVM-exception", "(MIT OR Apache-2.0) AND BSD-3-Clause", "((MIT))"] {
            XCTAssertNoThrow(try SPDXExpression(valid), valid)
        }
        for invalid in ["", "MIT and BSD", "MIT OR", "(MIT", "MIT)", "MIT WITH", "WITH x", "MIT/X11", "MIT BSD", "GPL-2.0 WITH LicenseRef-x:y",
                        "a:b", "()", String(repeating: "(", count: 40) + "MIT" + String(repeating: ")", count: 40)] {
            XCTAssertThrowsError(try SPDXExpression(invalid), invalid)
        }
        // AND binds tighter than OR.
        XCTAssertEqual(try SPDXExpression("MIT OR BSD-3-Clause AND GPL-3.0-only").choices.map { $0.map(\.description) },
                       [["MIT"], ["BSD-3-Clause", "GPL-3.0-only"]])
        let e = try SPDXExpression("(MIT OR GPL-3.0-only) AND Apache-2.0 WITH LLVM-exception")
        XCTAssertTrue(e.isAllowed(allowed: ["mit", "APACHE-2.0 with llvm-exception"], denied: []))
        XCTAssertTrue(e.isAllowed(allowed: ["MIT", "Apache-2.0", "LLVM-exception"], denied: []))
        XCTAssertFalse(e.isAllowed(allowed: ["MIT", "Apache-2.0"], denied: []), "the exception must be allowed too")
        XCTAssertTrue(e.isAllowed(allowed: nil, denied: ["GPL-3.0-only"]), "the MIT branch avoids the denied licence")
        XCTAssertFalse(e.isAllowed(allowed: nil, denied: ["GPL-3.0-only", "MIT"]))
        XCTAssertFalse(e.isAllowed(allowed: nil, denied: ["LLVM-exception"]))
        // 2^13 combinations are refused rather than enumerated.
        let wide = (0..<13).map { "(A\($0) OR B\($0))" }.joined(separator: " AND ")
        XCTAssertThrowsError(try SPDXExpression(wide))
    }

    func testLicensesAllowDeny() throws {
        let evidence = try release("lic", card: Self.card)
        XCTAssertTrue(try outcome("licenses", "allowed: [Apache-2.0, CC-BY-4.0, MIT]", evidence).passed)
        let noData = try outcome("licenses", "allowed: [Apache-2.0]", evidence)
        XCTAssertFalse(noData.passed)
        XCTAssertTrue(noData.message.contains("train"), noData.message)
        XCTAssertTrue(try outcome("licenses", "allowed: [Apache-2.0]\ninclude_datasets: false", evidence).passed)
        XCTAssertTrue(try outcome("licenses", "denied: [GPL-3.0-only]", evidence).passed, "MIT OR GPL-3.0-only can take MIT")
        XCTAssertFalse(try outcome("licenses", "denied: [GPL-3.0-only, MIT]", evidence).passed)
        XCTAssertFalse(try outcome("licenses", "denied: [apache-2.0]", evidence).passed, "identifiers compare ignoring ASCII case")
        // No licence in the card: nothing to judge, so the rule fails.
        let bare = try release("bare", card: "owner: me\n")
        XCTAssertFalse(try outcome("licenses", "denied: [GPL-3.0-only]", bare).passed)
    }

    func testDatasetsHashedAndRequiredMetrics() throws {
        let evidence = try release("m", card: Self.card)
        XCTAssertTrue(try outcome("datasets-hashed", "min_count: 2", evidence).passed)
        XCTAssertFalse(try outcome("datasets-hashed", "min_count: 3", evidence).passed)
        XCTAssertFalse(try outcome("datasets-hashed", "", try release("none", card: "license: MIT\n")).passed)

        XCTAssertTrue(try outcome("required-metrics", "metrics: ['accuracy >= 0.9']", evidence).passed)
        let low = try outcome("required-metrics", "metrics: ['accuracy >= 0.95']", evidence)
        XCTAssertFalse(low.passed)
        XCTAssertTrue(low.message.contains("accuracy = 0.93"), low.message)
        XCTAssertFalse(try outcome("required-metrics", "metrics: ['f1 >= 0.8']", evidence).passed, "every slice must meet it")
        XCTAssertTrue(try outcome("required-metrics", "metrics: ['f1 > 0.7', 'accuracy <= 1']", evidence).passed)
        let missing = try outcome("required-metrics", "metrics: ['auc >= 0.5']", evidence)
        XCTAssertFalse(missing.passed)
        XCTAssertTrue(missing.message.contains("no auc recorded"), missing.message)
    }

    func testProvenanceBuilderAndSubject() throws {
        let build = try XCTUnwrap(ProvenanceBuild.fromEnvironment(["JENKINS_URL": "https://jenkins.example.com/"]))
        let evidence = try release("p", card: nil, build: build)
        XCTAssertTrue(try outcome("provenance-builder", "allowed: ['https://jenkins.example.com/']", evidence).passed)
        XCTAssertTrue(try outcome("provenance-builder", "allowed_prefixes: ['https://jenkins.example.com/']", evidence).passed)
        XCTAssertFalse(try outcome("provenance-builder", "allowed: ['https://jenkins.example.com']", evidence).passed, "exact bytes")
        XCTAssertFalse(try outcome("provenance-builder", "allowed: [urn:modelsec:builder:local]", evidence).passed)
        XCTAssertTrue(try outcome("provenance-subject", "", evidence).passed)

        // A release.json whose artifacts differ from the provenance subject (release.json edited
        // and re-signed is out of scope here: the digest binding is what is tested).
        let manifestPath = evidence.manifestPath
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath))) as! [String: Any]
        var artifacts = manifest["artifacts"] as! [[String: Any]]
        artifacts[0]["sha256"] = Self.hashA
        manifest["artifacts"] = artifacts
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestPath))
        let edited = try ManifestEvidenceLoader { _, _ in UnavailableAuthenticator(reason: "x") }.load(directory: evidence.directory)
        let subject = try outcome("provenance-subject", "", edited)
        XCTAssertFalse(subject.passed)
        XCTAssertTrue(subject.message.contains("different SHA-256"), subject.message)

        // A provenance file that is not the one release.json records is never judged.
        try Data("{}".utf8).write(to: URL(fileURLWithPath: evidence.directory + "/provenance.dsse.json"))
        let swapped = try outcome("provenance-builder", "allowed_prefixes: ['https://']", evidence)
        XCTAssertFalse(swapped.passed)
        XCTAssertTrue(swapped.message.contains("SHA-256 differs"), swapped.message)
    }

    func testBaseModelMustBeATrustedSignedRelease() throws {
        let base = try release("base", card: "license: MIT\n")
        guard case let .authentic(authentic) = ReleaseAuthentication.check(directory: base.directory, trustedKeys: TrustedKeys([signingKey.publicKey])) else {
            return XCTFail("the base release does not verify")
        }
        let baseDigest = authentic.subjectDigest
        let derived = try release("derived", card: "license: MIT\nbase_model: {name: base, digest: 'sha256:\(baseDigest)'}\n")
        try signingKey.publicKey.pemRepresentation.write(to: work.appendingPathComponent("trusted.pub"), atomically: true, encoding: .utf8)
        XCTAssertTrue(try outcome("base-model-trusted", "releases: [base]\nkeys: [trusted.pub]", derived, base: work.path).passed)
        XCTAssertTrue(try outcome("base-model-trusted", "digests: ['sha256:\(baseDigest)']", derived).passed)
        XCTAssertFalse(try outcome("base-model-trusted", "digests: ['sha256:\(Self.hashA)']", derived).passed)
        // Signed by another key: not trusted.
        guard case let .ed25519(other) = PrivateKey.generate(.ed25519) else { fatalError() }
        try SigningPrivateKey.ed25519(other).publicKey.pemRepresentation.write(to: work.appendingPathComponent("other.pub"), atomically: true, encoding: .utf8)
        XCTAssertFalse(try outcome("base-model-trusted", "releases: [base]\nkeys: [other.pub]", derived, base: work.path).passed)
        // No base model: passes unless required.
        XCTAssertTrue(try outcome("base-model-trusted", "digests: ['sha256:\(Self.hashA)']", base).passed)
        XCTAssertFalse(try outcome("base-model-trusted", "digests: ['sha256:\(Self.hashA)']\nrequired: true", base).passed)
    }

    /// The "done when": the shipped strict policy refuses a release
    /// for an unapproved licence and for a missing evaluation metric.
    func testStrictPolicyRefusesUnapprovedLicenceAndMissingMetric() throws {
        let policy = try PolicyLoader.load(path: TestSupport.repositoryRoot.appendingPathComponent("policies/strict.yaml").path)
        func rule(_ id: String) throws -> ConfiguredCheck { try XCTUnwrap(policy.rules.first { $0.id == id }).check }
        let now = Date()
        let good = try release("good", card: Self.card)
        XCTAssertTrue(try rule("MS-LIC-001").evaluate(good, now: now).passed)
        XCTAssertTrue(try rule("MS-EVAL-001").evaluate(good, now: now).passed)
        XCTAssertTrue(try rule("MS-BOM-001").evaluate(good, now: now).passed)
        XCTAssertTrue(try rule("MS-PROV-001").evaluate(good, now: now).passed)

        let gpl = try release("gpl", card: Self.card.replacingOccurrences(of: "license: Apache-2.0", with: "license: GPL-3.0-only"))
        let licence = try rule("MS-LIC-001").evaluate(gpl, now: now)
        XCTAssertFalse(licence.passed)
        XCTAssertTrue(licence.message.contains("GPL-3.0-only"), licence.message)

        let unevaluated = try release("noeval", card: "license: Apache-2.0\nmetrics:\n  - {name: f1, value: 0.95}\n")
        let metric = try rule("MS-EVAL-001").evaluate(unevaluated, now: now)
        XCTAssertFalse(metric.passed)
        XCTAssertTrue(metric.message.contains("no accuracy recorded"), metric.message)
        // A local build is not an approved CI builder.
        XCTAssertFalse(try rule("MS-PROV-002").evaluate(good, now: now).passed)
    }

    func testLintKnowsTheEvidenceChecksAndModelCardFields() {
        func lint(_ check: String, _ params: String) -> PolicyLoader.LintResult {
            Fixtures.lint("name: t\nversion: 1\nrules:\n  - id: R1\n    title: t\n    severity: deny\n    check: \(check)\n    params:\n"
                + params.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n") + "\n")
        }
        for (check, params, expected) in [
            ("licenses", "allowed: [MIT OR BSD]", "is not an SPDX licence identifier"),
            ("licenses", "include_datasets: true", "missing parameter 'allowed' or 'denied'"),
            ("required-metrics", "metrics: ['accuracy high']", "is not NAME OP NUMBER"),
            ("datasets-hashed", "min_count: 1.5", "must be a whole number"),
            ("provenance-builder", "allowed_prefixes: [ci.example.com]", "must be a URI prefix with its scheme"),
            ("base-model-trusted", "digests: [abc]", "is not sha256: and 64 lowercase hex digits"),
            ("base-model-trusted", "releases: [x]", "missing parameter 'keys'"),
            ("provenance-subject", "x: 1", "this check takes no parameters"),
        ] {
            let result = lint(check, params)
            XCTAssertNil(result.policy, "\(check) \(params)")
            XCTAssertTrue(result.problems.contains { "\($0)".contains(expected) }, "\(check) \(params): \(result.diagnostics)")
        }
        let notes = lint("required-metadata", "fields: [license, licence]")
        XCTAssertNotNil(notes.policy)
        XCTAssertTrue(notes.notes.contains { "\($0)".contains("'licence' is not a model-card field") }, "\(notes.diagnostics)")
        let fieldNote = lint("field", "path: modelCard.lisence\nexists: true")
        XCTAssertTrue(fieldNote.notes.contains { "\($0)".contains("'lisence' is not a model-card field") }, "\(fieldNote.diagnostics)")
    }
}

