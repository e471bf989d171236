#if canImport(Glibc)
import Glibc
#endif
import ArtifactEncryption
import Foundation
@testable import ModelRelease
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import ModelSigning
import TestSupport
import XCTest

/// The deploy-gate and release classes of issue #13: a malicious model must
/// never be recorded as clean, and a release must never write outside its
/// output, whatever the bytes of its paths.
final class GateSecurityClassTests: XCTestCase {
    /// A protocol 2 pickle whose REDUCE calls `posix.system("true")`.
    static let systemPickle: [UInt8] = [0x80, 0x02] + Array("cposix\nsystem\n".utf8) + [0x58, 4, 0, 0, 0] + Array("true".utf8) + [0x85, 0x52, 0x2E]

    func makeFixtureWithEvilPickle() throws -> ReleaseFixture {
        let f = try ReleaseFixture()
        try Data(Self.systemPickle).write(to: f.model.appendingPathComponent("sub/evil.pkl"))
        return f
    }

    /// Rewrites release.json with `edit` and re-signs the release with the
    /// fixture's TRUSTED key: the insider case, where only the gate's own
    /// checks stand between the release and production.
    func resignWithTrustedKey(_ f: ReleaseFixture, _ name: String = "release", edit: (inout [String: Any]) -> Void) throws {
        let manifestURL = URL(fileURLWithPath: f.path("\(name)/release.json"))
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        edit(&json)
        let bytes = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        try bytes.write(to: manifestURL)
        let artifacts = try XCTUnwrap(json["artifacts"] as? [[String: Any]])
        let resources = artifacts.map { (name: $0["path"] as! String, sha256: $0["sha256"] as! String) }
            + [(name: ReleaseLayout.manifestResourceName, sha256: SHA2.SHA256.hash(data: bytes).hex)]
            + (json["evidence"] as? [[String: Any]] ?? []).map {
                (name: ReleaseLayout.evidenceResourceName($0["path"] as! String), sha256: $0["sha256"] as! String)
            }
        try ReleaseSignature.sign(subjectName: "bert", resources: resources, signer: f.signingKey).write(to: f.path("\(name)/release.sig"))
    }

    // MARK: - Class 1: how the model path is spelled never changes what is recorded

    func testModelPathSpellingClass_everySpellingRecordsTheSameFindings() throws {
        let f = try makeFixtureWithEvilPickle()
        let cwd = FileManager.default.currentDirectoryPath
        defer { XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(cwd)) }
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(f.root.path))
        var recorded: [[String]] = []
        for (index, spelling) in ["model", "model/", "model//", "./model", "model/.", f.model.path + "/"].enumerated() {
            let result = try f.create("release\(index)") { $0.model = spelling }
            let scan = try XCTUnwrap(result.manifest.scan, spelling)
            // weights.bin (random bytes with a model extension) is scanned too, and is an unknown format.
            XCTAssertEqual(scan.scannedFiles, 2, "model given as \(spelling)")
            let dangerous = scan.findings.filter { $0.severity == "dangerous" }
            XCTAssertEqual(dangerous.map(\.path), ["sub/evil.pkl"], "model given as \(spelling)")
            XCTAssertEqual(dangerous.first?.global, "posix.system", "model given as \(spelling)")
            XCTAssertEqual(result.manifest.artifacts.map(\.path).sorted(), [".hidden", "config.json", "sub/empty.txt", "sub/evil.pkl", "weights.bin"])
            recorded.append(scan.findings.map { "\($0.path) \($0.severity) \($0.kind) \($0.location)" })
        }
        XCTAssertEqual(Set(recorded.map { $0.joined(separator: "|") }).count, 1, "every spelling records the same findings: \(recorded)")
    }

    // MARK: - The gate judges what it installs

    func testGateScanClass_aReleaseJSONThatHidesAFindingIsRefused() throws {
        let f = try makeFixtureWithEvilPickle()
        try f.create()
        try resignWithTrustedKey(f) { json in
            json["scan"] = ["tool": "modelsec-scan forged", "scannedFiles": 1, "findings": [Any]()]
        }
        var request = f.deployRequest()
        let policyRan = Recorded<Bool>()
        request.policy = DeployPolicy { _, _ in policyRan.value = true; return .init(passed: true, detail: "ok") }
        let report = try DeployGate.run(request)
        XCTAssertFalse(report.deployed)
        XCTAssertEqual(report.failedStep?.name, .scan, report.summary)
        XCTAssertTrue(report.failedStep?.detail.contains("release.json records no finding; the plaintext has 1 dangerous") == true,
                      report.failedStep?.detail ?? "")
        XCTAssertNil(policyRan.value, "the policy never sees a release whose record lies")
        XCTAssertFalse(f.exists("deployed"))
        XCTAssertEqual(try f.leftovers(), [])
    }

    func testGateScanClass_thePolicyJudgesTheFreshScanNotTheRecord() throws {
        let f = try makeFixtureWithEvilPickle()
        try f.create { $0.scan = false }   // nothing recorded at all
        var request = f.deployRequest()
        let seen = Recorded<ReleaseManifest.ScanResult>()
        request.policy = DeployPolicy { _, fresh in
            seen.value = fresh
            let dangerous = fresh.findings.filter { $0.severity == "dangerous" }
            return .init(passed: dangerous.isEmpty, detail: "\(dangerous.count) dangerous")
        }
        let report = try DeployGate.run(request)
        XCTAssertEqual(report.failedStep?.name, .policy, report.summary)
        let dangerous = seen.value?.findings.filter { $0.severity == "dangerous" }
        XCTAssertEqual(dangerous?.map(\.path), ["sub/evil.pkl"])
        XCTAssertEqual(dangerous?.first?.kind, "dangerous-global")
        XCTAssertFalse(f.exists("deployed"))
    }

    func testGateScanClass_aCleanReleasePassesTheScanStep() throws {
        let f = try ReleaseFixture()
        try f.create()
        let report = try DeployGate.run(f.deployRequest())
        XCTAssertTrue(report.deployed, report.summary)
        XCTAssertEqual(report.steps.first { $0.name == .scan }?.status, .passed)
    }

    // MARK: - Class 11: release paths that would leave the output

    func testPathEscapeClass_hostilePathsInATrustedReleaseAreRefusedAndNothingIsWritten() throws {
        let hostile = [
            "../\u{301}\u{600}/../other-model/run.sh",   // a combining mark hides ".." from Character splitting
            "../other-model/run.sh",
            "/tmp/absolute",
            "a//b",
            "a/./b",
            "a/../../b",
            "sub/\u{0}x",
            "sub/",
            ".modelsec/release.json",
            ".modelsec/\u{301}x",
            "..",
        ]
        for (index, path) in hostile.enumerated() {
            let f = try ReleaseFixture()
            try f.create()
            try resignWithTrustedKey(f) { json in
                var artifacts = json["artifacts"] as! [[String: Any]]
                artifacts[0]["path"] = path
                artifacts[0]["encryptedPath"] = "artifacts/" + path + ".enc"
                json["artifacts"] = artifacts
            }
            try FileManager.default.createDirectory(atPath: f.path("out"), withIntermediateDirectories: true)
            let before = try FileManager.default.contentsOfDirectory(atPath: f.root.path).sorted()
            let report = try DeployGate.run(f.deployRequest(output: "out/deployed-\(index)"))
            XCTAssertFalse(report.deployed, "path \(index) deployed")
            // Refused before anything is decrypted: by the manifest checks (or, for a name
            // that collides with release.json's own resource, by the signature's).
            XCTAssertTrue([.manifest, .signature].contains(report.failedStep?.name), "path \(index): \(report.summary)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.root.path).sorted(), before, "path \(index) left something beside the output")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.path("out")), [], "path \(index) left something in out/")
            XCTAssertFalse(FileManager.default.fileExists(atPath: f.root.appendingPathComponent("other-model").path))
        }
    }

    func testPathEscapeClass_pathsAreComparedAsBytes() throws {
        // NFC "é" and NFD "e\u{301}" are two different files on Linux: both may
        // be released, and neither is a duplicate of the other.
        let f = try ReleaseFixture()
        try Data("nfc".utf8).write(to: f.model.appendingPathComponent("caf\u{e9}.txt"))
        try Data("nfd".utf8).write(to: f.model.appendingPathComponent("cafe\u{301}.txt"))
        let created = try f.create()
        XCTAssertEqual(created.manifest.artifacts.filter { $0.path.hasPrefix("caf") }.count, 2)
        let report = try DeployGate.run(f.deployRequest())
        XCTAssertTrue(report.deployed, report.summary)
        XCTAssertEqual(try String(contentsOfFile: f.path("deployed/caf\u{e9}.txt"), encoding: .utf8), "nfc")
        XCTAssertEqual(try String(contentsOfFile: f.path("deployed/cafe\u{301}.txt"), encoding: .utf8), "nfd")
        // The manifest refuses an exact byte duplicate.
        try resignWithTrustedKey(f) { json in
            var artifacts = json["artifacts"] as! [[String: Any]]
            artifacts.append(artifacts[0])
            json["artifacts"] = artifacts
        }
        let duplicate = try DeployGate.run(f.deployRequest(output: "again"))
        XCTAssertFalse(duplicate.deployed)
        XCTAssertTrue(duplicate.failedStep?.detail.contains("twice") == true, duplicate.summary)
    }

    func testPathEscapeClass_filesAreCreatedThroughDescriptorsAndNeverFollowALink() throws {
        let root = try TestSupport.makeTemporaryDirectory("descriptor")
        let inside = root.appendingPathComponent("staging")
        let outside = root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: inside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        XCTAssertEqual(symlink(outside.path, inside.path + "/planted"), 0)
        XCTAssertEqual(symlink(outside.path + "/file", inside.path + "/link-file"), 0)
        let directory = try DirectoryDescriptor(path: inside.path)
        XCTAssertThrowsError(try directory.writeFile([1], to: ModelPath("planted/x")))
        XCTAssertThrowsError(try directory.writeFile([1], to: ModelPath("link-file")))
        for bad in ["../x", "a/../../x", "./x", "a//x", "/abs"] {
            XCTAssertThrowsError(try directory.writeFile([1], to: ModelPath(bad)), bad)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside.path), [], "nothing reached the link targets")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted(), ["outside", "staging"])
        try directory.writeFile(Array("ok".utf8), to: ModelPath("a/b/c.bin"))
        XCTAssertEqual(try String(contentsOfFile: inside.path + "/a/b/c.bin", encoding: .utf8), "ok")
    }

    // MARK: - A FIFO (or device) in place of a release file

    func testSpecialFileClass_aFIFOInPlaceOfAnArtifactIsRefusedWithoutHanging() throws {
        for victim in ["artifacts/weights.bin.enc", "release.json", "release.sig"] {
            let f = try ReleaseFixture()
            try f.create()
            let path = f.path("release/" + victim)
            try FileManager.default.removeItem(atPath: path)
            XCTAssertEqual(mkfifo(path, 0o600), 0)
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var report: DeployReport?
            nonisolated(unsafe) var thrown: Error?
            let request = f.deployRequest()
            Thread.detachNewThread {
                do { report = try DeployGate.run(request) } catch { thrown = error }
                done.signal()
            }
            guard done.wait(timeout: .now() + 20) == .success else {
                // Unblock the gate so the test process can end, then fail.
                let fd = open(path, O_WRONLY | O_NONBLOCK)
                if fd >= 0 { close(fd) }
                return XCTFail("the gate hung on a FIFO at \(victim)")
            }
            if let report {
                XCTAssertFalse(report.deployed, victim)
                XCTAssertTrue(report.summary.contains("not a regular file"), "\(victim): \(report.summary)")
            } else {
                XCTAssertTrue("\(thrown!)".contains("not a regular file"), "\(victim): \(thrown!)")
            }
            XCTAssertFalse(f.exists("deployed"))
            XCTAssertEqual(try f.leftovers(), [], victim)
        }
    }

    // MARK: - Findings from the attacker's review

    func testGateScanClass_anArtifactTooDeepToWalkIsRefusedBeforeDecryption() throws {
        let f = try ReleaseFixture()
        try f.create()
        try resignWithTrustedKey(f) { json in
            var artifacts = json["artifacts"] as! [[String: Any]]
            let deep = String(repeating: "d/", count: ModelTree.Options.defaultMaxDepth + 1) + "pad.txt"
            artifacts[0]["path"] = deep
            artifacts[0]["encryptedPath"] = "artifacts/" + deep + ".enc"
            json["artifacts"] = artifacts
        }
        let report = try DeployGate.run(f.deployRequest())
        XCTAssertEqual(report.failedStep?.name, .manifest, report.summary)
        XCTAssertTrue(report.summary.contains("nested deeper"), report.summary)
    }

    func testGateScanClass_findingsAreComparedAsAMultiset() {
        func finding(_ path: String, _ global: String) -> ReleaseManifest.Finding {
            .init(path: path, severity: "dangerous", kind: "dangerous-global", location: path, global: global, message: "m")
        }
        let record = ReleaseManifest.ScanResult(tool: "t", scannedFiles: 1, findings: [finding("a.pkl", "posix.system")])
        let fresh = ReleaseManifest.ScanResult(tool: "t", scannedFiles: 1, findings: [
            finding("a.pkl", "posix.system"), finding("a.pkl", "posix.system"), finding("a\u{301}.pkl", "posix.system"),
        ])
        // The second identical finding and the NFD-named file are both missing from the record.
        XCTAssertEqual(fresh.findingsNotIn(record).map(\.path), ["a.pkl", "a\u{301}.pkl"])
        XCTAssertEqual(record.findingsNotIn(fresh).count, 0)
    }

    func testOutputPathIsResolvedByTheKernelNotAsText() throws {
        let f = try ReleaseFixture()
        try f.create()
        try FileManager.default.createDirectory(atPath: f.path("sub/deep"), withIntermediateDirectories: true)
        XCTAssertEqual(symlink("sub/deep", f.path("lnk")), 0)
        // The kernel resolves lnk/.. to sub: the model goes to sub/x, never to ./x.
        let report = try DeployGate.run(f.deployRequest(output: "lnk/../x"))
        XCTAssertTrue(report.deployed, report.summary)
        XCTAssertTrue(FileManager.default.fileExists(atPath: f.path("sub/x/config.json")))
        XCTAssertFalse(f.exists("x"))
    }

    func testReleaseCreateRefusesAnOutputInsideTheModel() throws {
        let f = try ReleaseFixture()
        XCTAssertThrowsError(try f.create("model/rel")) {
            XCTAssertTrue("\($0)".contains("is inside the model"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.path("model/rel")))
    }
}
