import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import ModelSecCrypto
import ModelSecIO
@testable import PolicyCheck
import TestSupport
import XCTest

/// Audits over many directories: one that is not a release, copies of one
/// release (original and tampered), and the names and URIs reports give them.
final class AuditAtScaleTests: XCTestCase {
    static let now = Fixtures.date("2026-11-29T00:00:00Z")
    let loader = ManifestEvidenceLoader { _, _ in StubAuthenticator(signedBy: Fixtures.signerKeyID) }

    func policy() throws -> Policy {
        try XCTUnwrap(Fixtures.lint("""
        name: scale
        version: 1
        rules:
          - id: ENC
            title: Encrypted
            severity: deny
            check: artifacts-encrypted
          - id: LIC
            title: Licensed
            severity: deny
            check: field
            params: {path: modelCard.license, equals: apache-2.0}
        """).policy)
    }

    /// Regression (an audit aborted on one bad directory): a missing directory,
    /// a directory without release.json and a broken release.json are one
    /// failed `release-readable` result each, and the good releases are audited.
    func testANonReleaseDirectoryIsOneFailedResultNotAnAbort() throws {
        let parent = try TestSupport.makeTemporaryDirectory("audit-scale")
        let good = try Fixtures.releaseDirectory(Fixtures.manifest(name: "good", version: "1.0.0"), in: parent).path
        let other = try Fixtures.releaseDirectory(Fixtures.manifest(name: "other", version: "2.0.0"), in: parent).path
        let empty = parent.appendingPathComponent("notes").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let missing = parent.appendingPathComponent("gone").path
        let broken = parent.appendingPathComponent("broken").path
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try Data("{".utf8).write(to: URL(fileURLWithPath: broken).appendingPathComponent("release.json"))
        let policyFile = parent.appendingPathComponent("p.yaml")
        try Data(policyText().utf8).write(to: policyFile)

        let report = try Auditor.run(releaseDirectories: [good, empty, missing, other, broken], policyPaths: [policyFile.path],
                                     loader: loader, now: Self.now)
        XCTAssertEqual(report.totals.releases, 5)
        XCTAssertEqual(report.totals.passed, 4, "both real releases pass both rules")
        XCTAssertEqual(report.totals.failures, 3)
        let unreadable = report.results.filter { $0.ruleID == PolicyEvaluator.releaseReadableRule }
        XCTAssertEqual(unreadable.map(\.releaseDirectory), [empty, missing, broken], "in the order given")
        XCTAssertTrue(unreadable.allSatisfy { $0.status == .failure && $0.policy == PolicyEvaluator.builtInPolicy })
        XCTAssertEqual(report.releases.filter { !$0.readable }.map { $0.error?.code },
                       ["audit.not-a-release", "audit.not-a-directory", "audit.release-json-not-json"])
        XCTAssertEqual(report.releases.filter(\.readable).map(\.release), ["good@1.0.0", "other@2.0.0"])
        XCTAssertEqual(report.exitCode(failOnWarn: false), 1)

        // Every format carries the failed directory and still covers the rest.
        let text = String(decoding: try report.rendered(as: .text), as: UTF8.self)
        XCTAssertTrue(text.contains("\(empty): NOT A READABLE RELEASE"), text)
        XCTAssertTrue(text.contains("good@1.0.0"), text)
        let xml = try XMLDocument(data: try report.rendered(as: .junit))
        let cases = try xml.nodes(forXPath: "//testcase").compactMap { $0 as? XMLElement }
        XCTAssertEqual(cases.count, 7)
        XCTAssertEqual(cases.filter { !$0.elements(forName: "failure").isEmpty }.count, 3)
        let sarifFile = parent.appendingPathComponent("a.sarif")
        try report.rendered(as: .sarif).write(to: sarifFile)
        let validation = try SARIFValidation.validate(file: sarifFile)
        XCTAssertEqual(validation.status, 0, validation.stdoutText + validation.stderrText)
        let sarif = try JSONSerialization.jsonObject(with: Data(contentsOf: sarifFile)) as! [String: Any]
        let runs = sarif["runs"] as! [[String: Any]]
        XCTAssertEqual(runs.count, 2, "the policy's run and the built-in run")
        XCTAssertEqual((runs[1]["results"] as! [[String: Any]]).count, 3)
    }

    func policyText() -> String {
        """
        name: scale
        version: 1
        rules:
          - id: ENC
            title: Encrypted
            severity: deny
            check: artifacts-encrypted
          - id: LIC
            title: Licensed
            severity: deny
            check: field
            params: {path: modelCard.license, equals: apache-2.0}
        """
    }

    /// Regression (reports named releases only by name@version): an original,
    /// a copy whose release.json was edited and an identical copy are told
    /// apart by directory and release.json digest in text, JUnit and SARIF, and
    /// no two JUnit test cases share a (classname, name), even for the same
    /// directory given twice.
    func testOriginalAndTamperedCopyAreToldApartAndJUnitNamesNeverCollide() throws {
        let parent = try TestSupport.makeTemporaryDirectory("audit-copies")
        let original = try Fixtures.releaseDirectory(Fixtures.manifest(name: "resnet", version: "1.2.0"), in: parent)
        let tampered = parent.appendingPathComponent("tampered")
        try FileManager.default.copyItem(at: original, to: tampered)
        let manifestURL = tampered.appendingPathComponent("release.json")
        try Data(String(decoding: try Data(contentsOf: manifestURL), as: UTF8.self)
            .replacingOccurrences(of: "apache-2.0", with: "proprietary").utf8).write(to: manifestURL)
        let identical = parent.appendingPathComponent("identical")
        try FileManager.default.copyItem(at: original, to: identical)
        let directories = [original.path, tampered.path, identical.path, original.path]
        let report = PolicyEvaluator.audit(subjects: try directories.map { AuditSubject.release(try loader.load(directory: $0)) },
                                           policies: [try policy()], now: Self.now)

        let digests = report.releases.map { $0.manifestSHA256 ?? "" }
        XCTAssertEqual(Set(report.releases.map(\.release)), ["resnet@1.2.0"])
        XCTAssertEqual(digests[0], digests[2])
        XCTAssertNotEqual(digests[0], digests[1])
        XCTAssertEqual(digests[0], SHA2.SHA256.hash(data: try Data(contentsOf: original.appendingPathComponent("release.json"))).hex)
        let failed = report.results.filter { $0.status == .failure }
        XCTAssertEqual(failed.map(\.releaseDirectory), [tampered.path])
        XCTAssertEqual(failed.first?.manifestSHA256, digests[1])

        // Text: each row names the directory and the digest; each release line the full digest.
        let text = String(decoding: try report.rendered(as: .text), as: UTF8.self)
        let failRow = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("FAIL") })
        XCTAssertTrue(failRow.contains(tampered.path) && failRow.contains("sha256:" + digests[1].prefix(16)), String(failRow))
        for (directory, digest) in zip(directories, digests) {
            XCTAssertTrue(text.contains("resnet@1.2.0 (\(directory), release.json sha256 \(digest))"), text)
        }

        // JUnit: unique (classname, name) pairs, each naming directory and digest.
        let xml = try XMLDocument(data: try report.rendered(as: .junit))
        let cases = try xml.nodes(forXPath: "//testcase").compactMap { $0 as? XMLElement }
        XCTAssertEqual(cases.count, 8)
        let ids = cases.map { "\($0.attribute(forName: "classname")!.stringValue!)|\($0.attribute(forName: "name")!.stringValue!)" }
        XCTAssertEqual(Set(ids).count, ids.count, "\(ids)")
        let failure = try XCTUnwrap(cases.first { !$0.elements(forName: "failure").isEmpty })
        let failureName = failure.attribute(forName: "name")!.stringValue!
        XCTAssertTrue(failureName.contains(tampered.path) && failureName.contains(String(digests[1].prefix(16))), failureName)
        let suites = try xml.nodes(forXPath: "//testsuite").compactMap { $0 as? XMLElement }
        XCTAssertEqual(Set(suites.map { $0.attribute(forName: "name")!.stringValue! }).count, 3, "one suite per directory and digest")

        // SARIF: the failure names the tampered copy's directory and digest.
        let sarif = try JSONSerialization.jsonObject(with: try report.rendered(as: .sarif)) as! [String: Any]
        let results = ((sarif["runs"] as! [[String: Any]])[0]["results"] as! [[String: Any]])
        XCTAssertEqual(results.count, 1)
        let props = results[0]["properties"] as! [String: Any]
        XCTAssertEqual(props["manifestSHA256"] as? String, digests[1])
        XCTAssertEqual(props["releaseDirectory"] as? String, tampered.path)
        XCTAssertTrue(((results[0]["message"] as! [String: Any])["text"] as! String).contains(tampered.path))
    }

    /// Regression (relative directories gave relative SARIF URIs): every
    /// location is an absolute `file://` URI with each byte outside the
    /// unreserved set percent-encoded, and the log validates.
    func testSARIFLocationsAreAbsolutePercentEncodedFileURIs() throws {
        XCTAssertEqual(SARIFReport.fileURI("releases/a b#1%/./release.json", workingDirectory: "/work/ci"),
                       "file:///work/ci/releases/a%20b%231%25/release.json")
        XCTAssertEqual(SARIFReport.fileURI("/r/caf\u{E9}/x?y", workingDirectory: "/ignored"), "file:///r/caf%C3%A9/x%3Fy")
        XCTAssertEqual(SARIFReport.fileURI("./r//x", workingDirectory: "/w/"), "file:///w/r/x")

        let parent = try TestSupport.makeTemporaryDirectory("audit-uri")
        let dirName = "rel ease#1%\u{E9}"
        var manifest = Fixtures.manifest(name: "uri", version: "1")
        manifest.set(["modelCard", "license"], .string("mit"))
        let made = try Fixtures.releaseDirectory(manifest, in: parent)
        try FileManager.default.moveItem(at: made, to: parent.appendingPathComponent(dirName))
        // Loaded by a relative path, as `modelsec audit releases/*` does.
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(parent.path))
        defer { XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(previous)) }
        let report = PolicyEvaluator.audit(releases: [try loader.load(directory: dirName)], policies: [try policy()], now: Self.now)
        let data = try report.rendered(as: .sarif)
        let sarif = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let result = ((sarif["runs"] as! [[String: Any]])[0]["results"] as! [[String: Any]])[0]
        let uris = (result["locations"] as! [[String: Any]]).map {
            (($0["physicalLocation"] as! [String: Any])["artifactLocation"] as! [String: Any])["uri"] as! String
        }
        let resolvedParent = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).path
        XCTAssertEqual(uris, [SARIFReport.fileURI(resolvedParent + "/" + dirName + "/release.json", workingDirectory: "/")])
        XCTAssertTrue(uris[0].hasPrefix("file:///") && uris[0].hasSuffix("/rel%20ease%231%25%C3%A9/release.json"), uris[0])
        // The URI names the file: decoding it gives back the path.
        XCTAssertTrue(FileManager.default.fileExists(atPath: URL(string: uris[0])!.path), uris[0])
        let file = parent.appendingPathComponent("uri.sarif")
        try data.write(to: file)
        let validation = try SARIFValidation.validate(file: file)
        XCTAssertEqual(validation.status, 0, validation.stdoutText + validation.stderrText)
    }

    /// Signature trust given to the audit replaces the policy's keys, and
    /// every format says which keys were used; with neither, the signature
    /// rule fails closed and the report says there was no trust.
    func testAuditTrustReplacesThePolicysKeysAndEveryFormatSaysWhich() throws {
        let key = PrivateKey.generate(.ed25519).publicKey
        let trusted = AuditTrust(keys: [key], origin: "--trusted-keys ci-trust/")
        unsetenv("POLICYCHECK_UNSET_TRUST")
        let policy = try Fixtures.policy(check: "signed-by-trusted-key", params: "keys: [\"${POLICYCHECK_UNSET_TRUST}\"]")
        let evidence = try Fixtures.evidence(Fixtures.manifest(), signedBy: key.keyID)

        let withTrust = PolicyEvaluator.audit(releases: [evidence], policies: [policy], now: Self.now, trust: trusted)
        XCTAssertEqual(withTrust.totals.passed, 1)
        XCTAssertEqual(withTrust.signatureTrust, SignatureTrust(source: .audit, detail: "--trusted-keys ci-trust/", keyIDs: [key.keyID]))
        XCTAssertTrue(withTrust.results[0].message.contains("given to the audit: --trusted-keys ci-trust/"), withTrust.results[0].message)
        let text = String(decoding: try withTrust.rendered(as: .text), as: UTF8.self)
        XCTAssertTrue(text.contains("signature trust: 1 key(s) given to the audit (--trusted-keys ci-trust/)"), text)
        let json = try JSONSerialization.jsonObject(with: try withTrust.rendered(as: .json)) as! [String: Any]
        XCTAssertEqual((json["signatureTrust"] as? [String: Any])?["source"] as? String, "audit")
        let sarif = try JSONSerialization.jsonObject(with: try withTrust.rendered(as: .sarif)) as! [String: Any]
        let runProps = (sarif["runs"] as! [[String: Any]])[0]["properties"] as! [String: Any]
        XCTAssertEqual((runProps["signatureTrust"] as? [String: Any])?["keyIDs"] as? [String], [key.keyID])
        let junit = String(decoding: try withTrust.rendered(as: .junit), as: UTF8.self)
        XCTAssertTrue(junit.contains("<property name=\"signature.trust.source\" value=\"audit\"/>"), junit)

        let without = PolicyEvaluator.audit(releases: [evidence], policies: [policy], now: Self.now)
        XCTAssertEqual(without.totals.failures, 1)
        XCTAssertEqual(without.signatureTrust.source, .none)
        XCTAssertTrue(without.results[0].message.contains("${POLICYCHECK_UNSET_TRUST}"), without.results[0].message)
        XCTAssertTrue(String(decoding: try without.rendered(as: .text), as: UTF8.self).contains("signature trust: none"))

        // The policy's own keys, when they resolve, are used and named as such.
        let keyDir = try TestSupport.makeTemporaryDirectory("audit-trust")
        try key.pemRepresentation.write(to: keyDir.appendingPathComponent("k.pub"), atomically: true, encoding: .utf8)
        let own = try Fixtures.policy(check: "signed-by-trusted-key", params: "keys: [k.pub]", base: keyDir.path)
        let fromPolicy = PolicyEvaluator.audit(releases: [evidence], policies: [own], now: Self.now)
        XCTAssertEqual(fromPolicy.totals.passed, 1)
        XCTAssertEqual(fromPolicy.signatureTrust.source, .policy)
        XCTAssertTrue(fromPolicy.results[0].message.contains("named by the policy"), fromPolicy.results[0].message)
        // Audit keys that do not include the signer fail, even though the policy's would pass.
        let other = AuditTrust(keys: [PrivateKey.generate(.ed25519).publicKey], origin: "--public-key other.pub")
        XCTAssertEqual(PolicyEvaluator.audit(releases: [evidence], policies: [own], now: Self.now, trust: other).totals.failures, 1)
    }

    /// An unset variable in a revocation rule fails closed when evaluated.
    func testUnsetRevocationListFailsClosed() throws {
        unsetenv("POLICYCHECK_UNSET_REVOKED")
        let policy = try Fixtures.policy(check: "key-not-revoked", params: "list_file: \"${POLICYCHECK_UNSET_REVOKED}\"")
        let outcome = Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest()))
        XCTAssertFalse(outcome.passed)
        XCTAssertTrue(outcome.message.contains("${POLICYCHECK_UNSET_REVOKED}"), outcome.message)
    }

    /// A policy copied away from its revoked-keys list: the problem names the
    /// list as written and the absolute path tried beside the policy file,
    /// whatever the working directory; with the list beside it, it loads.
    func testRelativeListFileResolvesBesideThePolicyAndNamesThePathTried() throws {
        let work = try TestSupport.makeTemporaryDirectory("policy-copy")
        let folder = work.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestSupport.repositoryRoot.appendingPathComponent("policies/baseline.yaml"),
                                         to: folder.appendingPathComponent("baseline.yaml"))
        unsetenv("MODELSEC_REVOKED_KEYS")
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(work.path))
        defer { XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(previous)) }
        let tried = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("elsewhere/revoked-keys.txt").path
        let result = try PolicyLoader.lint(path: "elsewhere/baseline.yaml")
        XCTAssertNil(result.policy)
        XCTAssertEqual(result.problems.count, 1, "\(result.diagnostics)")
        let message = result.problems[0].message
        XCTAssertTrue(message.contains("'${MODELSEC_REVOKED_KEYS:-revoked-keys.txt}'") && message.contains("tried '\(tried)'") && message.contains("does not exist"), message)
        XCTAssertThrowsError(try PolicyLoader.load(path: "elsewhere/baseline.yaml")) { error in
            XCTAssertEqual((error as? PolicyError)?.code, "policy.invalid")
            XCTAssertEqual((error as? PolicyError)?.path, "elsewhere/baseline.yaml")
        }
        try Data("# none\n".utf8).write(to: folder.appendingPathComponent("revoked-keys.txt"))
        XCTAssertNotNil(try PolicyLoader.lint(path: "elsewhere/baseline.yaml").policy)
    }
}
