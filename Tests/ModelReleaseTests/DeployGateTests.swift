import AccessTokens
import ArtifactEncryption
import Foundation
import ModelRelease
import ModelScanner
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import ModelSigning
import TestSupport
import XCTest

final class DeployGateTests: XCTestCase {
    /// Asserts the gate refused at `step`, wrote nothing at the output and left no staging directory.
    func assertRefused(_ report: DeployReport, at step: DeployStepName, containing text: String? = nil,
                       fixture: ReleaseFixture, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(report.deployed, file: file, line: line)
        XCTAssertEqual(report.failedStep?.name, step, report.summary, file: file, line: line)
        if let text { XCTAssertTrue(report.failedStep?.detail.contains(text) ?? false, report.summary, file: file, line: line) }
        XCTAssertFalse(fixture.exists("deployed"), "output written despite failure", file: file, line: line)
        XCTAssertEqual(try fixture.leftovers(), [], "staging directory left behind", file: file, line: line)
        for later in report.steps.drop(while: { $0.name != step }).dropFirst() {
            XCTAssertEqual(later.status, .notRun, file: file, line: line)
        }
    }

    func testRoundTripDeploysExactlyTheModelPlusProvenance() throws {
        let f = try ReleaseFixture()
        let created = try f.create()
        let report = try DeployGate.run(f.deployRequest())
        XCTAssertTrue(report.deployed, report.summary)
        XCTAssertEqual(report.steps.map(\.status), [.passed, .passed, .skipped, .skipped, .passed, .passed, .skipped, .passed])
        XCTAssertEqual(report.release, "bert@1.0.0")
        XCTAssertEqual(report.signerKeyID, f.signingKey.publicKey.keyID)
        for artifact in created.manifest.artifacts {
            let original = try Data(contentsOf: f.model.appendingPathComponent(artifact.path))
            let deployed = try Data(contentsOf: URL(fileURLWithPath: f.path("deployed/" + artifact.path)))
            XCTAssertEqual(original, deployed, artifact.path)
            XCTAssertEqual(SHA2.SHA256.hash(data: [UInt8](deployed)).hex, artifact.sha256)
        }
        XCTAssertEqual(created.manifest.artifacts.map(\.path), [".hidden", "config.json", "sub/empty.txt", "weights.bin"])
        let provenance = try Data(contentsOf: URL(fileURLWithPath: f.path("deployed/.modelsec/release.json")))
        XCTAssertEqual(provenance, try Data(contentsOf: URL(fileURLWithPath: f.path("release/release.json"))))
        XCTAssertEqual(try f.leftovers(), [])

        // The deployed directory is an ordinary OMS-signed model: ModelVerifier accepts it as it is.
        let bundle = try SignatureBundle.read(from: f.path("deployed/.modelsec/release.sig"))
        let result = try ModelVerifier.verify(model: URL(fileURLWithPath: f.path("deployed")), bundle: bundle, trustedKeys: f.trusted,
                                              options: VerificationOptions(signaturePath: URL(fileURLWithPath: f.path("deployed/.modelsec/release.sig"))))
        XCTAssertTrue(result.isVerified, result.summary)
        XCTAssertEqual(result.verifiedFileCount, 7, "4 model files, release.json, bom.cdx.json, provenance.dsse.json")
    }

    func testSingleFileModelAndEmptyOutputDirectory() throws {
        let f = try ReleaseFixture()
        let key = SecretKey(randomByteCount: 32)
        let request = ReleaseRequest(model: f.model.appendingPathComponent("weights.bin").path, name: "w", version: "2", signingKey: f.signingKey,
                                     recipients: [.symmetricKey(key)], output: f.path("single"))
        let created = try ReleaseCreator.create(request)
        XCTAssertEqual(created.manifest.artifacts.map(\.path), ["weights.bin"])
        XCTAssertEqual(created.manifest.encryption.recipients, [.init(type: "symmetric-key", keyID: nil)])
        try FileManager.default.createDirectory(atPath: f.path("deployed"), withIntermediateDirectories: false)
        let deploy = DeployRequest(releaseDirectory: f.path("single"), trustedKeys: f.trusted, identities: [.symmetricKey(key)], output: f.path("deployed"))
        XCTAssertTrue(try DeployGate.run(deploy).deployed)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: f.path("deployed/weights.bin"))),
                       try Data(contentsOf: f.model.appendingPathComponent("weights.bin")))
    }

    func testEditedReleaseJSONIsRefusedAtTheManifestStep() throws {
        let f = try ReleaseFixture()
        try f.create()
        let path = f.path("release/release.json")
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"version\" : \"1.0.0\"", with: "\"version\" : \"1.0.1\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try assertRefused(try DeployGate.run(f.deployRequest()), at: .manifest, containing: "modified after signing", fixture: f)
    }

    func testTamperedArtifactIsRefusedAtTheDecryptStep() throws {
        let f = try ReleaseFixture()
        try f.create()
        try f.flipByte(f.path("release/artifacts/weights.bin.enc"), at: -20)
        try assertRefused(try DeployGate.run(f.deployRequest()), at: .decrypt, fixture: f)
    }

    func testArtifactSwappedWithAnotherFileOfTheSameKeyIsRefused() throws {
        // Both files decrypt with the deploy key; only the signed plaintext digest tells them apart.
        let f = try ReleaseFixture()
        try f.create()
        let config = f.path("release/artifacts/config.json.enc"), hidden = f.path("release/artifacts/.hidden.enc")
        // Replace config.json's artifact by an encryption of different bytes of the same length for the same key.
        let replacement = f.path("fake.enc")
        let writer = try AtomicFileWriter(destination: replacement)
        let encryptor = try Encryptor(recipients: [.x25519(f.deployKey.publicKey)]) { try writer.write($0) }
        try encryptor.write(Array("{\"hidden\": 5}\n".utf8))
        try encryptor.finish()
        try writer.commit()
        try FileManager.default.removeItem(atPath: config)
        try FileManager.default.moveItem(atPath: replacement, toPath: config)
        XCTAssertTrue(FileManager.default.fileExists(atPath: hidden))
        try assertRefused(try DeployGate.run(f.deployRequest()), at: .decrypt, containing: "SHA-256 does not match", fixture: f)
    }

    func testMissingArtifactIsRefused() throws {
        let f = try ReleaseFixture()
        try f.create()
        try FileManager.default.removeItem(atPath: f.path("release/artifacts/sub/empty.txt.enc"))
        try assertRefused(try DeployGate.run(f.deployRequest()), at: .decrypt, containing: "empty.txt.enc", fixture: f)
    }

    func testUntrustedSignerIsRefusedAtTheSignatureStep() throws {
        let f = try ReleaseFixture()
        guard case let .ed25519(other) = PrivateKey.generate(.ed25519) else { return XCTFail() }
        try f.create(key: .ed25519(other))
        try assertRefused(try DeployGate.run(f.deployRequest()), at: .signature, containing: "not a trusted key", fixture: f)
    }

    func testReleaseResignedByAnUntrustedKeyIsRefused() throws {
        // An attacker edits release.json and re-signs it with their own key.
        let f = try ReleaseFixture()
        try f.create()
        guard case let .ed25519(attacker) = PrivateKey.generate(.ed25519) else { return XCTFail() }
        let signed = try SignatureBundle.read(from: f.path("release/release.sig")).manifest()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: f.path("release/release.json"))))
        let resources = signed.resources.map { resource -> (name: String, sha256: String) in
            resource.name == ReleaseLayout.manifestResourceName ? (resource.name, SHA2.SHA256.hash(data: bytes).hex) : (resource.name, resource.digest)
        }
        let forged = try ReleaseSignature.sign(subjectName: "bert", resources: resources, signer: SigningPrivateKey.ed25519(attacker))
        try forged.write(to: f.path("release/release.sig"))
        try assertRefused(try DeployGate.run(f.deployRequest()), at: .signature, fixture: f)
    }

    func testCorruptSignatureIsRefusedAtTheSignatureStep() throws {
        let f = try ReleaseFixture()
        try f.create()
        try Data("not json".utf8).write(to: URL(fileURLWithPath: f.path("release/release.sig")))
        try assertRefused(try DeployGate.run(f.deployRequest()), at: .signature, fixture: f)
        try FileManager.default.removeItem(atPath: f.path("release/release.sig"))
        try assertRefused(try DeployGate.run(f.deployRequest()), at: .signature, containing: "release.sig", fixture: f)
    }

    func testPlainModelSignatureIsNotAcceptedAsAReleaseSignature() throws {
        // A valid OMS signature by the trusted key over the plaintext model, but without release.json.
        let f = try ReleaseFixture()
        try f.create()
        let bundle = try ModelSigner.sign(model: f.model, key: f.signingKey, options: SigningOptions())
        try bundle.write(to: f.path("release/release.sig"))
        try assertRefused(try DeployGate.run(f.deployRequest()), at: .manifest, containing: "does not cover release.json", fixture: f)
    }

    func testWrongIdentityIsRefusedAtTheDecryptStep() throws {
        let f = try ReleaseFixture()
        try f.create()
        var request = f.deployRequest()
        guard case let .x25519(other) = PrivateKey.generate(.x25519) else { return XCTFail() }
        request.identities = [.x25519(other)]
        try assertRefused(try DeployGate.run(request), at: .decrypt, fixture: f)
    }

    func testTokenMustGrantDeployOfThisNameAndVersion() throws {
        let f = try ReleaseFixture()
        try f.create()
        let tokens = TokenFixture()

        var request = f.deployRequest()
        request.token = try tokens.check(try tokens.token(scope: "model:deploy:bert@1.0.1"))
        try assertRefused(try DeployGate.run(request), at: .token, containing: "model:deploy:bert@1.0.0", fixture: f)

        request.token = try tokens.check(try tokens.token(scope: "model:pull:bert@1.0.0"))
        try assertRefused(try DeployGate.run(request), at: .token, fixture: f)

        var expired = try tokens.check(try tokens.token(scope: "model:deploy:bert@1.0.0", lifetime: 60))
        expired.now = Date().addingTimeInterval(3600)
        request.token = expired
        try assertRefused(try DeployGate.run(request), at: .token, fixture: f)

        let other = TokenFixture()
        request.token = try tokens.check(try other.token(scope: "model:deploy:bert@1.0.0"))
        try assertRefused(try DeployGate.run(request), at: .token, fixture: f)

        request.token = try tokens.check(try tokens.token(scope: "model:deploy:bert@1.0.0"))
        let report = try DeployGate.run(request)
        XCTAssertTrue(report.deployed, report.summary)
        XCTAssertEqual(report.steps.first { $0.name == .token }?.status, .passed)
    }

    /// The online check (the CLI's introspection) runs only after the local
    /// checks pass, sees the verified claims, and its refusal fails the token step.
    func testTheOnlineTokenCheckRunsAfterTheLocalOnesAndCanRefuse() throws {
        let f = try ReleaseFixture()
        try f.create()
        let tokens = TokenFixture()
        var request = f.deployRequest()
        let seen = Recorded<String>()
        var check = try tokens.check(try tokens.token(scope: "model:deploy:bert@1.0.0"))
        check.online = { _, claims in
            seen.value = claims.subject
            throw TokenRejection.revoked(jti: claims.tokenID)
        }
        request.token = check
        try assertRefused(try DeployGate.run(request), at: .token, containing: "revoked", fixture: f)
        XCTAssertEqual(seen.value, "ci")

        // A token that fails locally never reaches the online check.
        let unseen = Recorded<String>()
        var wrongScope = try tokens.check(try tokens.token(scope: "model:deploy:bert@9.9.9"))
        wrongScope.online = { _, claims in unseen.value = claims.subject }
        request.token = wrongScope
        try assertRefused(try DeployGate.run(request), at: .token, fixture: f)
        XCTAssertNil(unseen.value)

        check.online = { _, _ in }
        request.token = check
        XCTAssertTrue(try DeployGate.run(request).deployed)
    }

    func testPolicyStepRunsLastAndCanRefuse() throws {
        let f = try ReleaseFixture()
        try f.create()
        var request = f.deployRequest()
        let seen = Recorded<String>()
        request.policy = DeployPolicy { release, _ in
            seen.value = release.manifest.name
            return .init(passed: false, detail: "license missing")
        }
        try assertRefused(try DeployGate.run(request), at: .policy, containing: "license missing", fixture: f)
        XCTAssertEqual(seen.value, "bert")
        request.policy = DeployPolicy { _, _ in .init(passed: true, detail: "ok") }
        XCTAssertTrue(try DeployGate.run(request).deployed)
    }

    func testExistingNonEmptyOutputIsAUsageError() throws {
        let f = try ReleaseFixture()
        try f.create()
        try FileManager.default.createDirectory(atPath: f.path("deployed"), withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: f.path("deployed/keep.txt")))
        XCTAssertThrowsError(try DeployGate.run(f.deployRequest())) { error in
            XCTAssertEqual((error as? ReleaseInputError)?.category, .invalidInput)
        }
        XCTAssertEqual(try String(contentsOfFile: f.path("deployed/keep.txt"), encoding: .utf8), "keep")
        XCTAssertEqual(try f.leftovers(), [])
    }

    func testCreateRefusesAnExistingReleaseAndLeavesNothingOnFailure() throws {
        let f = try ReleaseFixture()
        try f.create()
        XCTAssertThrowsError(try f.create())
        // A model with a symbolic link is refused and no release directory appears.
        try FileManager.default.createSymbolicLink(atPath: f.model.appendingPathComponent("link").path, withDestinationPath: "config.json")
        XCTAssertThrowsError(try f.create("second")) { error in
            XCTAssertTrue("\(error)".contains("symbolic link"), "\(error)")
        }
        XCTAssertFalse(f.exists("second"))
        XCTAssertEqual(try f.leftovers(), [])
    }

    func testCreateRefusesReservedProvenanceDirectoryAndBadNames() throws {
        let f = try ReleaseFixture()
        try FileManager.default.createDirectory(at: f.model.appendingPathComponent(".modelsec"), withIntermediateDirectories: false)
        XCTAssertThrowsError(try f.create())
        try FileManager.default.removeItem(at: f.model.appendingPathComponent(".modelsec"))
        XCTAssertThrowsError(try f.create(version: "1.0 beta"))
        XCTAssertThrowsError(try f.create(version: "*"))
        XCTAssertFalse(f.exists("release"))
    }

    /// A DP report that reads two ways is refused before it can be recorded:
    /// a duplicate key (Python keeps the last, others the first), and two keys
    /// that are the NFC and NFD spellings of one name (different bytes, which
    /// a Swift dictionary would merge into one).
    func testDPReportThatReadsTwoWaysIsRefused() throws {
        let nfc = "\u{E9}psilon", nfd = "e\u{301}psilon"
        XCTAssertEqual(nfc, nfd, "Swift's String == is canonical equivalence")
        XCTAssertNotEqual(Array(nfc.utf8), Array(nfd.utf8))
        for text in ["{\"epsilon\": 1, \"epsilon\": 9}",
                     "{\"\(nfc)\": 1, \"\(nfd)\": 9}",
                     "{\"runs\": [{\"\(nfd)\": 1, \"\(nfc)\": 2}]}"] {
            XCTAssertThrowsError(try MetadataValue(jsonData: Data(text.utf8)), text) { error in
                XCTAssertTrue(error is UnambiguousJSON.Ambiguity, "\(text): \(error)")
            }
        }
        XCTAssertNoThrow(try MetadataValue(jsonData: Data("{\"\(nfc)\": 1, \"epsilon\": 2}".utf8)))
        // Keys that would make String hashing (which normalises) quadratic are refused before they are hashed.
        // Timed in this thread's CPU time (the parse runs on it): a busy machine's waits do not count.
        let marks = "e" + String(repeating: "\u{301}", count: 40_000)
        let (cpu, _) = try TestSupport.cpuSeconds {
            XCTAssertThrowsError(try MetadataValue(jsonData: Data("{\"\(marks)\": 1}".utf8)))
            XCTAssertThrowsError(try MetadataValue(jsonData: Data("{\"\(String(repeating: "k", count: 2000))\": 1}".utf8)))
        }
        XCTAssertLessThan(cpu, 2, "refused without quadratic work")
        XCTAssertNoThrow(try MetadataValue(jsonData: Data("{\"\(String(repeating: "\u{301}", count: 30))\": 1}".utf8)))

        let f = try ReleaseFixture()
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--out", f.path("sign.pem")]).status, 0)
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "x25519", "--out", f.path("deploy.pem")]).status, 0)
        let report = f.path("dp.json")
        try Data("{\"\(nfc)\": 1, \"\(nfd)\": 9}".utf8).write(to: URL(fileURLWithPath: report))
        let r = try TestSupport.modelsec(["release", "create", f.model.path, "--name", "m", "--version", "1",
                                          "--signing-key", f.path("sign.pem"), "--recipient", f.path("deploy.pem.pub"),
                                          "--dp-report", report, "--output", f.path("rel")])
        XCTAssertEqual(r.status, 2, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("dp.json") && r.stderrText.contains("not in Unicode NFC"), r.stderrText)
        XCTAssertFalse(f.exists("rel"))
    }

    func testManifestRecordsMetadataDPReportScanAndSigner() throws {
        let f = try ReleaseFixture()
        let card = try ModelCard(yaml: "license: mit\nowner: team\nextra:\n  custom:\n    nested: [1, 2.5, yes, ~]\n")
        let dp = try MetadataValue(jsonData: Data("{\"epsilon\": 2.0, \"delta\": 1e-5, \"steps\": 9007199254740993}".utf8))
        let created = try f.create { request in
            request.modelCard = card
            request.dpReport = dp
        }
        let read = try ReleaseManifest.read(directory: f.path("release"))
        XCTAssertEqual(read, created.manifest)
        XCTAssertEqual(read.modelCard?.license, "mit")
        XCTAssertEqual(read.modelCard?.extraFields["custom"], .object(["nested": .array([.integer(1), .number(2.5), .bool(true), .null])]))
        XCTAssertEqual(read.dpReport?.objectValue?["steps"], .integer(9_007_199_254_740_993))
        XCTAssertEqual(read.signer.keyID, f.signingKey.publicKey.keyID)
        XCTAssertEqual(read.signer.algorithm, "ed25519")
        XCTAssertEqual(read.encryption.recipients, [.init(type: "x25519", keyID: PublicKey.x25519(f.deployKey.publicKey).keyID)])
        XCTAssertNotNil(read.scan)
        XCTAssertEqual(read.tool.version, ModelSecVersion.current)
        XCTAssertEqual(read.format, "modelsec-release/v1")
        let weights = try XCTUnwrap(read.artifacts.first { $0.path == "weights.bin" })
        XCTAssertEqual(weights.size, 200_000)
        XCTAssertEqual(weights.sha256, SHA2.SHA256.hash(data: [UInt8](try Data(contentsOf: f.model.appendingPathComponent("weights.bin")))).hex)
        let encryptedSize = try FileManager.default.attributesOfItem(atPath: f.path("release/" + weights.encryptedPath))[.size] as? NSNumber
        XCTAssertEqual(encryptedSize?.uint64Value, weights.encryptedSize)
    }

    func testScannerFindingsAreRecordedNotRefused() throws {
        let f = try ReleaseFixture()
        // A protocol-2 pickle calling posix.system: GLOBAL 'posix system', a string argument, TUPLE1, REDUCE, STOP.
        var pickle: [UInt8] = [0x80, 0x02]
        pickle += Array("cposix\nsystem\n".utf8)
        pickle += [0x58] + withUnsafeBytes(of: UInt32(2).littleEndian, Array.init) + Array("id".utf8)
        pickle += [0x85, 0x52, 0x2E]
        try Data(pickle).write(to: f.model.appendingPathComponent("evil.pkl"))
        let created = try f.create()
        let findings = try XCTUnwrap(created.manifest.scan?.findings)
        XCTAssertTrue(findings.contains { $0.path == "evil.pkl" && $0.severity == "dangerous" }, "\(findings)")
        XCTAssertTrue(try DeployGate.run(f.deployRequest()).deployed)
    }
}
