import Foundation
import ModelSecCrypto
import ModelSecIO
@testable import PolicyCheck
import TestSupport
import XCTest

/// Policies name rules, key ids, algorithms and paths; each is matched on
/// exact UTF-8 bytes, never with Swift's canonical equivalence (NFC `é` ==
/// NFD `e` + U+0301; U+212A KELVIN SIGN == capital `K`) or Unicode case
/// mapping (U+212A lowercases to `k`), and text is split on bytes or scalars,
/// never on `Character`s.
final class UnicodeEquivalenceClassTests: XCTestCase {
    static let kelvin = "\u{212A}"

    func testUnicodeEquivalenceClass_waiverRuleIDKelvinSign() {
        let yaml = { (rule: String) in
            """
            name: t
            version: 1
            rules:
              - {id: K1, title: t, severity: deny, check: artifacts-encrypted}
            waivers:
              - {rule: \(rule), release: "resnet@*", reason: legacy, expires: 2099-01-01}

            """
        }
        XCTAssertNotNil(Fixtures.lint(yaml("K1")).policy)
        let result = Fixtures.lint(yaml("\(Self.kelvin)1"))
        XCTAssertNil(result.policy, "a waiver for \\u{212A}1 is not a waiver for K1")
        XCTAssertTrue(result.diagnostics.contains { $0.message.contains("does not define") }, "\(result.diagnostics)")
    }

    /// The revoked-keys list is split on scalars: a `#` followed by a
    /// combining mark still starts a comment (as one `Character` it would not,
    /// and the whole line would become an id that matches no key).
    func testUnicodeEquivalenceClass_revokedKeysListSplitOnScalars() throws {
        let dir = try TestSupport.makeTemporaryDirectory("policy-revoked")
        let list = dir.appendingPathComponent("revoked.txt")
        for text in ["\(Fixtures.signerKeyID) #\u{301} rotated after incident\n", "\(String(repeating: "cd", count: 32))\u{2028}\(Fixtures.signerKeyID)\n"] {
            try text.write(to: list, atomically: true, encoding: .utf8)
            let policy = try Fixtures.policy(check: "key-not-revoked", params: "list_file: revoked.txt", base: dir.path)
            let outcome = Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest()))
            XCTAssertFalse(outcome.passed, "\(text.debugDescription): \(outcome.message)")
        }
    }

    /// `../\u{301}x.enc` climbs out of the release: split on the byte `/` it
    /// has a `..` component, which a split on `Character`s does not see. The
    /// file it names (outside the release) must not count as an encrypted artifact.
    func testUnicodeEquivalenceClass_encryptedPathCombiningMarkAfterSlash() throws {
        var m = Fixtures.manifest()
        var artifacts = m["artifacts"]!.arrayValue!
        var second = artifacts[1].objectValue!
        second["encryptedPath"] = .string("../\u{301}outside.enc")
        artifacts[1] = .object(second)
        m["artifacts"] = .array(artifacts)
        let parent = try TestSupport.makeTemporaryDirectory("policy-escape")
        let dir = try Fixtures.releaseDirectory(m, in: parent)
        XCTAssertTrue(FileManager.default.fileExists(atPath: parent.appendingPathComponent("\u{301}outside.enc").path), "the premise: the file outside exists")
        let evidence = try ManifestEvidenceLoader { _, _ in StubAuthenticator(signedBy: nil) }.load(directory: dir.path)
        XCTAssertEqual(evidence.artifacts.map(\.encrypted), [true, false])
        let outcome = Fixtures.outcome(try Fixtures.policy(check: "artifacts-encrypted"), evidence)
        XCTAssertFalse(outcome.passed, outcome.message)
    }

    /// Two release directories whose names differ only in normalisation are
    /// two releases: one authenticating does not mark the other authenticated.
    func testUnicodeEquivalenceClass_releaseDirectoryAuthenticationFlag() throws {
        let dir = try TestSupport.makeTemporaryDirectory("policy-dirs")
        let key = PrivateKey.generate(.ed25519).publicKey
        try key.pemRepresentation.write(to: dir.appendingPathComponent("k.pub"), atomically: true, encoding: .utf8)
        let policy = try Fixtures.policy(check: "signed-by-trusted-key", params: "keys: [k.pub]", base: dir.path)
        let base = try Fixtures.evidence(Fixtures.manifest())
        func release(_ directory: String, signedBy: String?) -> ReleaseEvidence {
            ReleaseEvidence(directory: directory, manifestPath: directory + "/release.json", manifest: base.manifest, name: base.name,
                            version: base.version, createdAt: base.createdAt, signerKeyID: base.signerKeyID,
                            signatureAlgorithms: base.signatureAlgorithms, hashAlgorithms: base.hashAlgorithms, artifacts: base.artifacts,
                            dpEpsilon: base.dpEpsilon, dpDelta: base.dpDelta, hasDPReport: base.hasDPReport,
                            scanFindings: base.scanFindings, authenticator: StubAuthenticator(signedBy: signedBy))
        }
        let report = PolicyEvaluator.audit(releases: [release("/releases/caf\u{E9}", signedBy: key.keyID),
                                                      release("/releases/cafe\u{301}", signedBy: nil)],
                                           policies: [policy], now: Fixtures.date("2026-11-29T00:00:00Z"))
        XCTAssertEqual(report.results.map(\.status), [.passed, .failure])
        XCTAssertEqual(report.releases.map(\.authenticated), [true, false])
    }

    /// Algorithm names fold ASCII case only: Unicode case mapping turns
    /// U+212A into `k`, which would let `\u{212A}-SIG` pass an allow-list naming `k-sig`.
    func testUnicodeEquivalenceClass_algorithmNameKelvinSign() throws {
        let policy = try Fixtures.policy(check: "allowed-algorithms", params: "signature: [k-sig]")
        var m = Fixtures.manifest()
        m.set(["signer", "algorithm"], .string("K-SIG"))
        XCTAssertTrue(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
        m.set(["signer", "algorithm"], .string("\(Self.kelvin)-SIG"))
        XCTAssertFalse(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
    }
}
