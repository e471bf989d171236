import Foundation
import ModelSecCrypto
import ModelSecIO
@testable import PolicyCheck
import TestSupport
import XCTest

/// Every built-in check, passing and failing, on hand-written release.json fixtures.
final class CheckTests: XCTestCase {
    func testSignedByTrustedKey() throws {
        let dir = try TestSupport.makeTemporaryDirectory("check-sig")
        let trusted = PrivateKey.generate(.ed25519).publicKey
        let other = PrivateKey.generate(.ed25519).publicKey
        try trusted.pemRepresentation.write(to: dir.appendingPathComponent("trusted.pub"), atomically: true, encoding: .utf8)
        let policy = try Fixtures.policy(check: "signed-by-trusted-key", params: "keys: [trusted.pub]", base: dir.path)

        let good = Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest(), signedBy: trusted.keyID))
        XCTAssertTrue(good.passed, good.message)
        let untrusted = Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest(), signedBy: other.keyID))
        XCTAssertFalse(untrusted.passed)
        XCTAssertTrue(untrusted.message.contains("signer not trusted"), untrusted.message)
        let broken = Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest(), signedBy: nil))
        XCTAssertFalse(broken.passed)

        // key_ids further restricts which trusted key may have signed.
        let restricted = try Fixtures.policy(check: "signed-by-trusted-key", params: "keys: [trusted.pub]\nkey_ids: [\(other.keyID)]", base: dir.path)
        XCTAssertFalse(Fixtures.outcome(restricted, try Fixtures.evidence(Fixtures.manifest(), signedBy: trusted.keyID)).passed)
    }

    func testArtifactsEncrypted() throws {
        let policy = try Fixtures.policy(check: "artifacts-encrypted")
        XCTAssertTrue(Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest())).passed)
        // An artifact file that is not in the encryption format.
        let plain = Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest(), plaintext: ["artifacts/config.json.enc"]))
        XCTAssertFalse(plain.passed)
        XCTAssertTrue(plain.message.contains("artifacts/config.json.enc"), plain.message)
        XCTAssertTrue(plain.files.contains { $0.hasSuffix("artifacts/config.json.enc") })
        // No encryption parameters recorded.
        var m = Fixtures.manifest()
        m["encryption"] = nil
        XCTAssertFalse(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
        // No artifacts at all.
        m = Fixtures.manifest()
        m["artifacts"] = .array([])
        XCTAssertFalse(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
    }

    func testAllowedAlgorithms() throws {
        let policy = try Fixtures.policy(check: "allowed-algorithms", params: "signature: [ed25519]\nhash: [sha256]\nencryption: [aes-256-gcm]")
        XCTAssertTrue(Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest())).passed)
        var m = Fixtures.manifest()
        m.set(["signer", "algorithm"], .string("rsa-pkcs1-sha1"))
        let badSig = Fixtures.outcome(policy, try Fixtures.evidence(m))
        XCTAssertFalse(badSig.passed)
        XCTAssertTrue(badSig.message.contains("rsa-pkcs1-sha1"), badSig.message)
        m = Fixtures.manifest()
        m.set(["encryption", "cipher"], .string("des-cbc"))
        XCTAssertFalse(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
        // Only the listed kinds are constrained.
        let onlyHash = try Fixtures.policy(check: "allowed-algorithms", params: "hash: [sha256]")
        XCTAssertTrue(Fixtures.outcome(onlyHash, try Fixtures.evidence(m)).passed)
        let sha512 = try Fixtures.policy(check: "allowed-algorithms", params: "hash: [sha512]")
        XCTAssertFalse(Fixtures.outcome(sha512, try Fixtures.evidence(m)).passed)
    }

    func testRequiredMetadata() throws {
        let policy = try Fixtures.policy(check: "required-metadata", params: "fields: [license, owner, eval.accuracy]")
        XCTAssertTrue(Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest())).passed)
        var m = Fixtures.manifest()
        m.set(["modelCard", "owner"], nil)
        let missing = Fixtures.outcome(policy, try Fixtures.evidence(m))
        XCTAssertFalse(missing.passed)
        XCTAssertTrue(missing.message.contains("owner"), missing.message)
        m["modelCard"] = nil
        XCTAssertFalse(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
    }

    func testFieldConditions() throws {
        let evidence = try Fixtures.evidence(Fixtures.manifest())
        func check(_ params: String) throws -> Bool { Fixtures.outcome(try Fixtures.policy(check: "field", params: params), evidence).passed }
        // exists
        XCTAssertTrue(try check("path: modelCard.license\nexists: true"))
        XCTAssertFalse(try check("path: modelCard.nothing\nexists: true"))
        XCTAssertTrue(try check("path: modelCard.nothing\nexists: false"))
        XCTAssertFalse(try check("path: modelCard.license\nexists: false"))
        // equals (types matter; numbers compare numerically)
        XCTAssertTrue(try check("path: modelCard.license\nequals: apache-2.0"))
        XCTAssertFalse(try check("path: modelCard.license\nequals: mit"))
        XCTAssertTrue(try check("path: encryption.chunkSize\nequals: 65536.0"))
        XCTAssertFalse(try check("path: encryption.chunkSize\nequals: \"65536\""))
        // one_of
        XCTAssertTrue(try check("path: signer.algorithm\none_of: [p256, ed25519]"))
        XCTAssertFalse(try check("path: signer.algorithm\none_of: [p256]"))
        // matches (whole string)
        XCTAssertTrue(try check(#"path: version\nmatches: '[0-9]+\.[0-9]+\.[0-9]+'"#.replacingOccurrences(of: "\\n", with: "\n")))
        XCTAssertFalse(try check("path: version\nmatches: '[0-9]+'"))
        XCTAssertFalse(try check("path: encryption.chunkSize\nmatches: '.*'"))  // not a string
        // at_most / at_least, over every element with [*]
        XCTAssertTrue(try check("path: artifacts[*].size\nat_most: 10"))
        XCTAssertFalse(try check("path: artifacts[*].size\nat_most: 9"))
        XCTAssertTrue(try check("path: artifacts[*].size\nat_least: 2"))
        XCTAssertFalse(try check("path: artifacts[*].size\nat_least: 3"))
        XCTAssertFalse(try check("path: modelCard.license\nat_least: 1"))  // not a number
        // A missing path fails every condition except exists: false.
        XCTAssertFalse(try check("path: dpReport.missing\nat_most: 100"))
        // Several conditions must all hold.
        XCTAssertTrue(try check("path: dpReport.epsilon\nat_least: 1\nat_most: 3"))
        XCTAssertFalse(try check("path: dpReport.epsilon\nat_least: 3\nat_most: 4"))
    }

    func testDPLimits() throws {
        let policy = try Fixtures.policy(check: "dp-limits", params: "max_epsilon: 3\nmax_delta: 1.0e-5")
        XCTAssertTrue(Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest())).passed)
        var m = Fixtures.manifest()
        m.set(["dpReport", "epsilon"], .number(8))
        let tooMuch = Fixtures.outcome(policy, try Fixtures.evidence(m))
        XCTAssertFalse(tooMuch.passed)
        XCTAssertTrue(tooMuch.message.contains("epsilon 8 exceeds 3"), tooMuch.message)
        m = Fixtures.manifest()
        m.set(["dpReport", "delta"], .number(1e-3))
        XCTAssertFalse(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
        // The `modelsec dp release` shape: cost.epsilon / cost.delta.
        m = Fixtures.manifest()
        m["dpReport"] = .object(["statistic": .string("mean"), "cost": .object(["epsilon": .number(1), "delta": .number(0)])])
        XCTAssertTrue(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
        // No report: fails when required (the default), passes when not.
        m["dpReport"] = nil
        XCTAssertFalse(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
        let optional = try Fixtures.policy(check: "dp-limits", params: "max_epsilon: 3\nrequired: false")
        XCTAssertTrue(Fixtures.outcome(optional, try Fixtures.evidence(m)).passed)
    }

    func testNoUnsafeSerialization() throws {
        let policy = try Fixtures.policy(check: "no-unsafe-serialization", params: "fail_on: [dangerous]")
        XCTAssertTrue(Fixtures.outcome(policy, try Fixtures.evidence(Fixtures.manifest())).passed)
        var m = Fixtures.manifest()
        let finding: JSONValue = .object(["path": .string("model.pkl"), "severity": .string("dangerous"), "kind": .string("dangerous-global"),
                                          "location": .string("model.pkl"), "global": .string("posix.system"), "message": .string("imports posix.system")])
        let suspicious: JSONValue = .object(["path": .string("x.pkl"), "severity": .string("suspicious"), "kind": .string("unknown-global"),
                                             "location": .string("x.pkl"), "message": .string("imports foo.bar")])
        m.set(["scan", "findings"], .array([suspicious]))
        XCTAssertTrue(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed, "suspicious is not in fail_on")
        let all = try Fixtures.policy(check: "no-unsafe-serialization")
        XCTAssertFalse(Fixtures.outcome(all, try Fixtures.evidence(m)).passed, "default fail_on covers suspicious")
        m.set(["scan", "findings"], .array([finding, suspicious]))
        m["artifacts"] = .array(m["artifacts"]!.arrayValue! + [.object(["path": .string("model.pkl"), "size": .number(40),
            "sha256": .string(String(repeating: "2", count: 64)), "encryptedPath": .string("artifacts/model.pkl.enc"), "encryptedSize": .number(120)])])
        let bad = Fixtures.outcome(policy, try Fixtures.evidence(m))
        XCTAssertFalse(bad.passed)
        XCTAssertTrue(bad.message.contains("posix.system"), bad.message)
        XCTAssertTrue(bad.files.contains { $0.hasSuffix("/artifacts/model.pkl.enc") }, "\(bad.files)")
        // No scan recorded.
        m["scan"] = nil
        XCTAssertFalse(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
        let lenient = try Fixtures.policy(check: "no-unsafe-serialization", params: "require_scan: false")
        XCTAssertTrue(Fixtures.outcome(lenient, try Fixtures.evidence(m)).passed)
    }

    func testMaxAge() throws {
        let policy = try Fixtures.policy(check: "max-age", params: "days: 30")
        let evidence = try Fixtures.evidence(Fixtures.manifest(createdAt: "2026-11-01T12:00:00Z"))
        XCTAssertTrue(Fixtures.outcome(policy, evidence, now: Fixtures.date("2026-12-01T12:00:00Z")).passed)  // exactly 30 days
        XCTAssertFalse(Fixtures.outcome(policy, evidence, now: Fixtures.date("2026-12-01T12:00:01Z")).passed)
        var m = Fixtures.manifest()
        m["createdAt"] = .string("yesterday")
        XCTAssertFalse(Fixtures.outcome(policy, try Fixtures.evidence(m)).passed)
    }

    func testKeyNotRevoked() throws {
        let dir = try TestSupport.makeTemporaryDirectory("check-revoked")
        let other = String(repeating: "cd", count: 32)
        try "# revoked\n\(other)  # old CI key\n".write(to: dir.appendingPathComponent("revoked.txt"), atomically: true, encoding: .utf8)
        let fromFile = try Fixtures.policy(check: "key-not-revoked", params: "list_file: revoked.txt", base: dir.path)
        XCTAssertTrue(Fixtures.outcome(fromFile, try Fixtures.evidence(Fixtures.manifest())).passed)
        try "\(Fixtures.signerKeyID.uppercased())\n".write(to: dir.appendingPathComponent("revoked.txt"), atomically: true, encoding: .utf8)
        let revoked = try Fixtures.policy(check: "key-not-revoked", params: "list_file: revoked.txt", base: dir.path)
        let outcome = Fixtures.outcome(revoked, try Fixtures.evidence(Fixtures.manifest()))
        XCTAssertFalse(outcome.passed)
        XCTAssertTrue(outcome.message.contains("revoked"), outcome.message)
        let inline = try Fixtures.policy(check: "key-not-revoked", params: "key_ids: [\(Fixtures.signerKeyID)]")
        XCTAssertFalse(Fixtures.outcome(inline, try Fixtures.evidence(Fixtures.manifest())).passed)
    }

    func testUnreadableReleasesThrowInvalidInput() throws {
        let parent = try TestSupport.makeTemporaryDirectory("check-unreadable")
        let loader = ManifestEvidenceLoader { _, _ in StubAuthenticator(signedBy: nil) }
        let missing = parent.appendingPathComponent("missing").path
        XCTAssertThrowsError(try loader.load(directory: missing)) { error in
            XCTAssertEqual(error as? AuditError, .notADirectory(path: missing))
            XCTAssertEqual((error as? AuditError)?.code, "audit.not-a-directory")
        }
        let dir = parent.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let manifest = dir.appendingPathComponent("release.json").path
        XCTAssertThrowsError(try loader.load(directory: dir.path)) { error in
            XCTAssertEqual(error as? AuditError, .noManifest(directory: dir.path, manifest: manifest))
        }
        try Data("{not json".utf8).write(to: dir.appendingPathComponent("release.json"))
        XCTAssertThrowsError(try loader.load(directory: dir.path)) { error in
            guard case .manifestNotJSON(manifest, _)? = error as? AuditError else { return XCTFail("\(error)") }
            XCTAssertEqual((error as? AuditError)?.category, .invalidInput)
            XCTAssertEqual((error as? AuditError)?.path, manifest)
        }
        // A release.json that reads two ways (a duplicate key: Python keeps the
        // last value, other readers the first) is refused before it is judged.
        try Data("{\"name\": \"a\", \"version\": \"1\", \"name\": \"b\"}".utf8).write(to: dir.appendingPathComponent("release.json"))
        XCTAssertThrowsError(try loader.load(directory: dir.path)) { error in
            guard case let .manifestNotJSON(path, reason)? = error as? AuditError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, manifest)
            XCTAssertTrue(reason?.contains("duplicate key") == true, "\(String(describing: reason))")
        }
        try Data(#"[1]"#.utf8).write(to: dir.appendingPathComponent("release.json"))
        XCTAssertThrowsError(try loader.load(directory: dir.path)) { XCTAssertEqual($0 as? AuditError, .manifestNotObject(manifest: manifest)) }
        try Data(#"{"version": "1"}"#.utf8).write(to: dir.appendingPathComponent("release.json"))
        XCTAssertThrowsError(try loader.load(directory: dir.path)) { error in
            XCTAssertEqual(error as? AuditError, .manifestUnidentified(manifest: manifest, missing: "name"))
            XCTAssertEqual((error as? AuditError)?.code, "audit.release-json-unidentified")
        }
    }
}
