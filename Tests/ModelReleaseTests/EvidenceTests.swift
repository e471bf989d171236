import Foundation
import ModelRelease
import ModelSecCrypto
import ModelSecKeys
import ModelSigning
import TestSupport
import XCTest

/// The evidence files of a release: the CycloneDX ML-BOM and the signed SLSA
/// provenance, checked by the standards' own tools from the pinned Python
/// environment (cyclonedx-python-lib's 1.6 validator, in-toto-attestation's
/// protobuf definitions and validators).
final class EvidenceTests: XCTestCase {
    static let fixedTime = Date(timeIntervalSince1970: 1_780_000_000)

    func sampleCard() throws -> ModelCard { try ModelCard.load(path: ModelCardSchemaTests.sampleCard) }

    @discardableResult
    func createWithCard(_ f: ReleaseFixture, _ name: String = "release", build: ProvenanceBuild = .local) throws -> ReleaseCreator.Result {
        let card = try sampleCard()
        return try f.create(name) { request in
            request.modelCard = card
            request.createdAt = Self.fixedTime
            request.provenance = build
        }
    }

    /// Runs `script` with the pinned Python; returns stdout, failing the test on a non-zero exit.
    func python(_ script: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, output: String) {
        let r = try TestSupport.run(try TestSupport.python(), ["-c", script] + arguments)
        return (r.status, r.stdoutText + r.stderrText)
    }

    /// The standards' own validators, shared with DemoEvidenceTests.
    static let cycloneDXValidator = EvidenceValidators.cycloneDX
    static let provenanceValidator = EvidenceValidators.provenance

    func testBOMValidatesWithCycloneDXAndDescribesTheRelease() throws {
        let f = try ReleaseFixture()
        let created = try createWithCard(f)
        let bomPath = f.path("release/bom.cdx.json")
        let check = try python(Self.cycloneDXValidator, [bomPath])
        XCTAssertEqual(check.status, 0, check.output)

        let bom = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bomPath))) as! [String: Any]
        XCTAssertEqual(bom["specVersion"] as? String, "1.6")
        let model = (bom["metadata"] as! [String: Any])["component"] as! [String: Any]
        XCTAssertEqual(model["type"] as? String, "machine-learning-model")
        XCTAssertEqual(model["name"] as? String, "bert")
        XCTAssertEqual((model["licenses"] as? [[String: Any]])?.first?["expression"] as? String, "Apache-2.0")
        // Each file with its digest, as release.json records it.
        let files = (model["components"] as! [[String: Any]]).map { ($0["name"] as! String, (($0["hashes"] as! [[String: Any]])[0]["content"] as! String)) }
        XCTAssertEqual(files.map(\.0), created.manifest.artifacts.map(\.path))
        XCTAssertEqual(files.map(\.1), created.manifest.artifacts.map(\.sha256))
        // The OMS manifest digest of the model files: SHA-256 over their digests in path order.
        var hasher = SHA2.SHA256.hasher()
        for artifact in created.manifest.artifacts { hasher.update(Hex.decode(artifact.sha256)!) }
        let omsDigest = hasher.finalize().hex
        XCTAssertEqual((model["hashes"] as? [[String: Any]])?.first?["content"] as? String, omsDigest)
        let card = model["modelCard"] as! [String: Any]
        let metrics = (card["quantitativeAnalysis"] as! [String: Any])["performanceMetrics"] as! [[String: Any]]
        XCTAssertEqual(metrics.first?["type"] as? String, "accuracy")
        XCTAssertEqual(metrics.first?["value"] as? String, "0.5")
        // Data sets and the base model are components the model depends on.
        let components = bom["components"] as! [[String: Any]]
        XCTAssertEqual(components.map { $0["type"] as! String }, ["data", "data", "machine-learning-model"])
        XCTAssertEqual((components[0]["hashes"] as? [[String: Any]])?.first?["content"] as? String,
                       "797712af7ac5f2ac476ce44102b4da8950f4c9c12e96f292301ec65e885aea04")
        let dependencies = bom["dependencies"] as! [[String: Any]]
        XCTAssertEqual(dependencies.first { $0["ref"] as? String == "model" }?["dependsOn"] as? [String], ["dataset-1", "dataset-2", "base-model"])
    }

    static let spdxValidator = """
    import json, sys
    import jsonschema
    validator = jsonschema.Draft202012Validator(json.load(open(sys.argv[1], encoding="utf-8")))
    documents = [json.load(open(path, encoding="utf-8")) for path in sys.argv[2:]]
    for path, document in zip(sys.argv[2:], documents):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        for error in errors[:5]:
            print(path, list(error.absolute_path), error.message[:300])
        if errors:
            sys.exit(1)
    print(json.dumps(sorted({element["type"] for element in documents[0]["@graph"]})))
    """

    func testSPDXDocumentValidatesAgainstTheVendoredSchema() throws {
        let f = try ReleaseFixture()
        let card = try sampleCard()
        let created = try f.create { request in
            request.modelCard = card
            request.createdAt = Self.fixedTime
            request.bomFormat = .both
        }
        XCTAssertEqual(created.manifest.evidence?.map(\.path), ["bom.cdx.json", "bom.spdx.json", "provenance.dsse.json"])
        let schema = TestSupport.repositoryRoot.appendingPathComponent("Tests/Vectors/spdx-3.0.1/spdx-json-schema.json").path
        // spdx alone (no card): no CycloneDX BOM, still a valid document.
        let spdxOnly = try f.create("spdx-only") { $0.bomFormat = .spdx }
        XCTAssertEqual(spdxOnly.manifest.evidence?.map(\.path), ["bom.spdx.json", "provenance.dsse.json"])
        let check = try python(Self.spdxValidator, [schema, f.path("release/bom.spdx.json"), f.path("spdx-only/bom.spdx.json")])
        XCTAssertEqual(check.status, 0, check.output)
        let types = try JSONSerialization.jsonObject(with: Data(check.output.utf8)) as? [String]
        XCTAssertEqual(types, ["CreationInfo", "Organization", "Relationship", "SoftwareAgent", "SpdxDocument", "Tool", "ai_AIPackage",
                               "dataset_DatasetPackage", "simplelicensing_LicenseExpression", "software_File"])
        // The schema is not a rubber stamp: a relationship type SPDX does not define is refused.
        let text = try String(contentsOfFile: f.path("release/bom.spdx.json"), encoding: .utf8)
        try text.replacingOccurrences(of: "\"trainedOn\"", with: "\"learnedFrom\"").write(toFile: f.path("bad.spdx.json"), atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try python(Self.spdxValidator, [schema, f.path("bad.spdx.json")]).status, 0)
        // The gate checks and installs it like the other evidence files.
        let report = try DeployGate.run(f.deployRequest())
        XCTAssertTrue(report.deployed, report.summary)
        XCTAssertTrue(f.exists("deployed/.modelsec/bom.spdx.json"))
    }

    func testBOMIsDeterministic() throws {
        let f = try ReleaseFixture()
        try createWithCard(f, "one")
        try createWithCard(f, "two")
        let one = try Data(contentsOf: URL(fileURLWithPath: f.path("one/bom.cdx.json")))
        XCTAssertEqual(one, try Data(contentsOf: URL(fileURLWithPath: f.path("two/bom.cdx.json"))))
        // A release without a model card still has a valid BOM.
        try f.create("bare")
        let check = try python(Self.cycloneDXValidator, [f.path("bare/bom.cdx.json")])
        XCTAssertEqual(check.status, 0, check.output)
    }

    func testEvidenceIsListedSignedAndInstalledByTheGate() throws {
        let f = try ReleaseFixture()
        let created = try createWithCard(f)
        let evidence = try XCTUnwrap(created.manifest.evidence)
        XCTAssertEqual(evidence.map(\.path), ["bom.cdx.json", "provenance.dsse.json"])
        for entry in evidence {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: f.path("release/\(entry.path)")))
            XCTAssertEqual(SHA2.SHA256.hash(data: bytes).hex, entry.sha256)
            XCTAssertEqual(UInt64(bytes.count), entry.size)
        }
        // The release signature lists each evidence file as .modelsec/<name>.
        let bundle = try SignatureBundle.read(from: f.path("release/release.sig"))
        let names = try bundle.manifest().resources.map(\.name)
        XCTAssertTrue(names.contains(".modelsec/bom.cdx.json") && names.contains(".modelsec/provenance.dsse.json"), "\(names)")

        let report = try DeployGate.run(f.deployRequest())
        XCTAssertTrue(report.deployed, report.summary)
        for entry in evidence {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: f.path("deployed/.modelsec/\(entry.path)"))),
                           try Data(contentsOf: URL(fileURLWithPath: f.path("release/\(entry.path)"))))
        }
        // The deployed directory verifies as an OMS-signed model as it is.
        let verified = try ModelVerifier.verify(model: URL(fileURLWithPath: f.path("deployed")), bundle: bundle, trustedKeys: f.trusted,
                                                options: .init(signaturePath: URL(fileURLWithPath: f.path("deployed/.modelsec/release.sig"))))
        XCTAssertEqual(verified.outcome, .verified, "\(verified)")
        XCTAssertEqual(verified.signerKeyID, f.signingKey.publicKey.keyID)
    }

    func testTamperedEvidenceFailsTheGate() throws {
        for file in ["bom.cdx.json", "provenance.dsse.json"] {
            let f = try ReleaseFixture()
            try createWithCard(f)
            try f.flipByte(f.path("release/\(file)"), at: 20)
            let report = try DeployGate.run(f.deployRequest())
            XCTAssertFalse(report.deployed)
            let step = report.steps.first { $0.status == .failed }
            XCTAssertEqual(step?.name, .manifest, "\(file): \(report.summary)")
            XCTAssertTrue(step?.detail.contains("modified after signing") == true, step?.detail ?? "")
            XCTAssertFalse(f.exists("deployed"))
        }
        // A missing evidence file is refused too.
        let f = try ReleaseFixture()
        try createWithCard(f)
        try FileManager.default.removeItem(atPath: f.path("release/bom.cdx.json"))
        XCTAssertFalse(try DeployGate.run(f.deployRequest()).deployed)
    }

    func testProvenanceIsSignedByTheReleaseKeyAndValidates() throws {
        let f = try ReleaseFixture()
        let build = ProvenanceBuild.fromEnvironment([
            "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/models",
            "GITHUB_WORKFLOW_REF": "acme/models/.github/workflows/train.yml@refs/heads/main", "GITHUB_REF": "refs/heads/main",
            "GITHUB_SHA": String(repeating: "a", count: 40), "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2",
        ])!
        let created = try createWithCard(f, build: build)
        let path = f.path("release/provenance.dsse.json")
        let check = try python(Self.provenanceValidator, [path])
        XCTAssertEqual(check.status, 0, check.output)
        // The subject is exactly the released files.
        let subjects = try JSONSerialization.jsonObject(with: Data(check.output.utf8)) as! [[String]]
        XCTAssertEqual(subjects.map { $0[0] }, created.manifest.artifacts.map(\.path).sorted())
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: subjects.map { ($0[0], $0[1]) }),
                       Dictionary(uniqueKeysWithValues: created.manifest.artifacts.map { ($0.path, $0.sha256) }))

        // The DSSE signature verifies with the release key over the PAE.
        let envelope = try JSONDecoder().decode(DSSEEnvelope.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        let payload = Array(Data(base64Encoded: envelope.payload)!)
        let pae = DSSEEnvelope.preAuthenticationEncoding(payloadType: envelope.payloadType, payload: payload)
        let signature = Data(base64Encoded: envelope.signatures[0].sig)!
        XCTAssertTrue(f.signingKey.publicKey.isValidSignature(signature, for: pae))
        var tampered = pae
        tampered[tampered.count - 3] ^= 1
        XCTAssertFalse(f.signingKey.publicKey.isValidSignature(signature, for: tampered))

        let statement = try JSONSerialization.jsonObject(with: Data(payload)) as! [String: Any]
        let predicate = statement["predicate"] as! [String: Any]
        let builder = ((predicate["runDetails"] as! [String: Any])["builder"] as! [String: Any])["id"] as? String
        XCTAssertEqual(builder, "https://github.com/acme/models/.github/workflows/train.yml@refs/heads/main")
        let metadata = (predicate["runDetails"] as! [String: Any])["metadata"] as! [String: Any]
        XCTAssertEqual(metadata["invocationId"] as? String, "https://github.com/acme/models/actions/runs/42/attempts/2")
    }

    func testProvenanceBuilderFromEachCISystem() throws {
        let gitlab = try XCTUnwrap(ProvenanceBuild.fromEnvironment([
            "GITLAB_CI": "true", "CI_SERVER_URL": "https://gitlab.example.com", "CI_PROJECT_PATH": "ml/bert",
            "CI_RUNNER_ID": "7", "CI_COMMIT_SHA": String(repeating: "b", count: 40), "CI_COMMIT_REF_NAME": "main",
            "CI_JOB_URL": "https://gitlab.example.com/ml/bert/-/jobs/9", "CI_JOB_STARTED_AT": "2026-01-31T12:00:00Z",
        ]))
        XCTAssertEqual(gitlab.builderID, "https://gitlab.example.com/ml/bert/-/runners/7")
        XCTAssertEqual(gitlab.invocationID, "https://gitlab.example.com/ml/bert/-/jobs/9")
        XCTAssertEqual(gitlab.startedOn, "2026-01-31T12:00:00Z")
        XCTAssertEqual(gitlab.resolvedDependencies.first?.objectValue?["uri"], .string("git+https://gitlab.example.com/ml/bert@main"))
        let jenkins = try XCTUnwrap(ProvenanceBuild.fromEnvironment([
            "JENKINS_URL": "https://jenkins.example.com/", "BUILD_URL": "https://jenkins.example.com/job/train/3/",
            "GIT_URL": "https://git.example.com/ml.git", "GIT_COMMIT": String(repeating: "c", count: 40),
        ]))
        XCTAssertEqual(jenkins.builderID, "https://jenkins.example.com/")
        XCTAssertEqual(jenkins.invocationID, "https://jenkins.example.com/job/train/3/")
        XCTAssertNil(ProvenanceBuild.fromEnvironment(["HOME": "/root", "GITHUB_ACTIONS": "false"]))

        // Each one validates as SLSA provenance.
        for build in [gitlab, jenkins, .local] {
            let f = try ReleaseFixture()
            try createWithCard(f, build: build)
            let check = try python(Self.provenanceValidator, [f.path("release/provenance.dsse.json")])
            XCTAssertEqual(check.status, 0, "\(build.source): \(check.output)")
        }
    }

    func testProvenanceFileIsCheckedWithLines() throws {
        let f = try ReleaseFixture()
        let good = f.path("build.yaml")
        try """
        builder_id: https://ci.example.com/runners/gpu-1
        build_type: https://ci.example.com/buildtypes/training/v1
        invocation_id: run-77
        started_on: 2026-01-31T10:00:00Z
        finished_on: 2026-01-31T12:00:00Z
        external_parameters:
          epochs: 3
          dataset: reviews-2024
        internal_parameters: {gpu: a100}
        resolved_dependencies:
          - uri: git+https://git.example.com/ml/train@refs/heads/main
            digest: {gitCommit: \(String(repeating: "d", count: 40))}
          - uri: https://data.example.com/reviews-2024.jsonl
            name: reviews-2024
            digest: {sha256: \(String(repeating: "e", count: 64))}
        """.write(toFile: good, atomically: true, encoding: .utf8)
        let build = try ProvenanceBuild.load(path: good)
        XCTAssertEqual(build.builderID, "https://ci.example.com/runners/gpu-1")
        XCTAssertEqual(build.resolvedDependencies.count, 2)
        try createWithCard(f, build: build)
        let check = try python(Self.provenanceValidator, [f.path("release/provenance.dsse.json")])
        XCTAssertEqual(check.status, 0, check.output)

        let cases: [(String, String)] = [
            ("build_type: x\n", "the provenance file needs the field builder_id"),
            ("builder_id: not a uri\n", "line 1: builder_id must be a URI"),
            ("builder_id: https://ci\nbuilder: x\n", "line 2: builder is not a field of the provenance file"),
            ("builder_id: https://ci\nstarted_on: yesterday\n", "line 2: started_on must be an RFC 3339 UTC time"),
            ("builder_id: https://ci\nresolved_dependencies:\n  - uri: x\n", "line 3: resolved_dependencies[0] needs the field digest"),
            ("builder_id: https://ci\nresolved_dependencies:\n  - uri: x\n    digest: {sha256: 1}\n", "line 4: resolved_dependencies[0].digest.sha256 must be a string"),
        ]
        for (yaml, expected) in cases {
            let path = f.path("bad.yaml")
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try ProvenanceBuild.load(path: path), yaml) { error in
                XCTAssertEqual((error as? ReleaseInputError)?.code, "release.provenance-invalid", "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "\(yaml) -> \(error)")
            }
        }
    }
}
