import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
@testable import PolicyCheck
import TestSupport
import XCTest

/// A policy whose mapping key is an alias of nested aliases ("billion
/// laughs"): Yams hashes every key while composing, so before the fix a
/// 500-byte policy kept `policy lint`, `audit` and `release verify --policy`
/// busy for half a minute. It must be refused at once, naming the file.
final class YAMLAliasBombTests: XCTestCase {
    /// Ten x's, then `levels - 1` lists of ten aliases of the previous list
    /// (the last one is 10^levels scalars when expanded).
    static func aliasLevels(_ levels: Int) -> String {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<levels {
            yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ",") + "]\n"
        }
        return yaml
    }

    /// The levels and a mapping key that is an alias of the last one: the
    /// issue's 508-byte policy (25 s in `policy lint` before the fix).
    static func aliasBombKey(levels: Int = 6) -> String { aliasLevels(levels) + "? *a\(levels - 1)\n: boom\n" }

    static let policyHead = "name: bomb\nversion: 1\nrules:\n  - {id: R1, title: t, severity: deny, check: artifacts-encrypted}\n"

    func testYAMLAliasBombClass_policyLintAndLoadRefuseAtOnce() throws {
        let dir = try TestSupport.makeTemporaryDirectory("policy-bomb")
        let path = dir.appendingPathComponent("bomb.yaml").path
        let yaml = Self.policyHead + Self.aliasBombKey()
        XCTAssertLessThan(yaml.utf8.count, 600)
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)

        // CPU time of this thread, which parses: a busy machine's waits do not count.
        let (lintSeconds, result) = try TestSupport.cpuSeconds { try PolicyLoader.lint(path: path) }
        XCTAssertLessThan(lintSeconds, 1)
        XCTAssertNil(result.policy)
        XCTAssertEqual(result.diagnostics.count, 1, "\(result.diagnostics)")
        XCTAssertEqual(result.diagnostics.first?.path, path)
        // The anchored lists alone pass the node limit (a4 is 111,111 nodes), on line 9.
        XCTAssertTrue(result.diagnostics.first?.message.contains("more than 100000 YAML nodes") ?? false, "\(result.diagnostics)")
        XCTAssertEqual(result.diagnostics.first?.line, 9)

        let (loadSeconds, _) = try TestSupport.cpuSeconds {
            XCTAssertThrowsError(try PolicyLoader.load(path: path)) { error in
                XCTAssertTrue("\(error)".contains(path), "\(error)")
                XCTAssertEqual((error as? ModelSecError)?.category, .invalidInput)
            }
        }
        XCTAssertLessThan(loadSeconds, 1)
    }

    /// Aliases, lists and mappings are never mapping keys, in block or flow
    /// style; an alias value is fine unless it expands past the node limit.
    func testYAMLAliasBombClass_complexKeysAndExpandedValuesRefused() {
        let small = Self.aliasLevels(3)  // a2 is 1,111 nodes
        let cases = [
            ("? *a2\n: boom", "an alias used as a mapping key", 8),
            ("a9: {*a2: boom}", "an alias used as a mapping key", 8),
            ("a9: &k key\n*k : again", "an alias used as a mapping key", 9),
            ("? [x, y]\n: complex", "a list used as a mapping key", 8),
            ("a9: {[x]: y}", "a list used as a mapping key", 8),
            ("? {x: y}\n: complex", "a mapping used as a mapping key", 8),
            ("a9: [" + Array(repeating: "*a2", count: 99).joined(separator: ",") + "]", "more than 100000 YAML nodes", 8),
        ]
        for (tail, expected, line) in cases {
            let (seconds, result) = TestSupport.cpuSeconds { Fixtures.lint(Self.policyHead + small + tail + "\n") }
            XCTAssertLessThan(seconds, 1, tail)
            XCTAssertNil(result.policy, tail)
            XCTAssertTrue(result.diagnostics.contains { $0.message.contains(expected) && $0.path == "test.yaml" && $0.line == line },
                          "\(tail): \(result.diagnostics)")
        }
        // Below the limit the same aliases are accepted by the loader (the policy then reports the unknown keys).
        let fine = Fixtures.lint(Self.policyHead + small + "a9: [" + Array(repeating: "*a2", count: 80).joined(separator: ",") + "]\n")
        XCTAssertTrue(fine.diagnostics.allSatisfy { $0.message.hasPrefix("unknown key") }, "\(fine.diagnostics)")
    }

    func testYAMLAliasBombClass_cliPolicyLintRefusesAtOnce() throws {
        let dir = try TestSupport.makeTemporaryDirectory("policy-bomb-cli")
        let path = dir.appendingPathComponent("bomb.yaml").path
        try (Self.policyHead + Self.aliasBombKey()).write(toFile: path, atomically: true, encoding: .utf8)
        let start = Date()
        let r = try TestSupport.modelsec(["policy", "lint", path])
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "process start included")
        XCTAssertEqual(r.status, 1, r.stdoutText + r.stderrText)
        XCTAssertTrue((r.stdoutText + r.stderrText).contains("bomb.yaml"), r.stdoutText + r.stderrText)
        XCTAssertTrue((r.stdoutText + r.stderrText).contains("bomb.yaml:9:"), r.stdoutText + r.stderrText)
        XCTAssertTrue((r.stdoutText + r.stderrText).contains("more than 100000 YAML nodes"), r.stdoutText + r.stderrText)
    }

    /// Anchors and aliases as values keep working: one key list shared by two rules.
    func testAnchoredPolicyStillLoads() throws {
        let dir = try TestSupport.makeTemporaryDirectory("policy-anchors")
        let key = PrivateKey.generate(.ed25519).publicKey
        try key.pemRepresentation.write(to: dir.appendingPathComponent("k.pub"), atomically: true, encoding: .utf8)
        let yaml = """
        name: anchored
        version: 1
        rules:
          - id: SIG
            title: Signed
            severity: deny
            check: signed-by-trusted-key
            params:
              keys: &trust [k.pub]
          - id: REV
            title: Not revoked
            severity: deny
            check: key-not-revoked
            params:
              keys: *trust
              key_ids: &revoked [\(String(repeating: "cd", count: 32))]
          - id: ALG
            title: Algorithms
            severity: &level warn
            check: allowed-algorithms
            params: {signature: [ed25519], hash: [sha256]}
        """
        let result = Fixtures.lint(yaml, base: dir.path)
        let policy = try XCTUnwrap(result.policy, "\(result.diagnostics)")
        XCTAssertEqual(policy.rules.map(\.id), ["SIG", "REV", "ALG"])
        XCTAssertEqual(policy.rules[2].severity, .warn)
        guard case let .keyNotRevoked(ids, _) = policy.rules[1].check else { return XCTFail("wrong check") }
        XCTAssertTrue(ids.contains(ExactString(key.keyID)), "the aliased key list was read")
    }
}
