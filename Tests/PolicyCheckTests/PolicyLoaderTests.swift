import Foundation
import ModelSecCrypto
@testable import PolicyCheck
import TestSupport
import XCTest
import ModelSecIO

final class PolicyLoaderTests: XCTestCase {
    func testValidPolicyParsesRulesWaiversAndFileDigest() throws {
        let dir = try TestSupport.makeTemporaryDirectory("policy-load")
        let key = PrivateKey.generate(.ed25519)
        try key.publicKey.pemRepresentation.write(to: dir.appendingPathComponent("signer.pub"), atomically: true, encoding: .utf8)
        let yaml = """
        name: demo
        version: 3
        rules:
          - id: SIG
            title: Signed
            severity: deny
            check: signed-by-trusted-key
            params:
              keys: [signer.pub]
          - id: DP
            title: DP
            severity: warn
            check: dp-limits
            params: {max_epsilon: 4, max_delta: 1.0e-5}
        waivers:
          - rule: DP
            release: "resnet@1.*"
            reason: legacy
            expires: 2027-01-31
        """
        let path = dir.appendingPathComponent("p.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let policy = try PolicyLoader.load(path: path)
        XCTAssertEqual(policy.name, "demo")
        XCTAssertEqual(policy.version, "3")
        XCTAssertEqual(policy.rules.map(\.id), ["SIG", "DP"])
        XCTAssertEqual(policy.rules.map(\.line), [4, 10])
        XCTAssertEqual(policy.rules[1].severity, .warn)
        guard case let .signedByTrustedKey(keys, _, _, _) = policy.rules[0].check else { return XCTFail("wrong check") }
        XCTAssertEqual(keys.map(\.keyID), [key.publicKey.keyID])
        guard case let .dpLimits(eps, delta, required) = policy.rules[1].check else { return XCTFail("wrong check") }
        XCTAssertEqual(eps, 4); XCTAssertEqual(delta, 1e-5); XCTAssertTrue(required)
        XCTAssertEqual(policy.waivers.count, 1)
        XCTAssertTrue(policy.waivers[0].matches(release: "resnet@1.4.2"))
        XCTAssertFalse(policy.waivers[0].matches(release: "resnet@2.0.0"))
        XCTAssertFalse(policy.waivers[0].matches(release: "resnet-x@1.0"))
        // Expires at the end of the day named, UTC.
        XCTAssertFalse(policy.waivers[0].isExpired(at: Fixtures.date("2027-01-31T23:59:59Z")))
        XCTAssertTrue(policy.waivers[0].isExpired(at: Fixtures.date("2027-02-01T00:00:00Z")))
        // The digest is over the file's bytes (checked with the independent sha256sum).
        let sum = try TestSupport.run("/usr/bin/sha256sum", [path])
        XCTAssertEqual(policy.sha256, String(sum.stdoutText.prefix(64)))
    }

    /// Every kind of problem, each with the line (and column) it is on.
    func testLintReportsProblemsWithLineNumbers() {
        let yaml = """
        name: bad
        version: 1
        sevrity: x
        rules:
          - id: R1
            title: t
            severity: block
            check: signed-by-magic
          - id: R2
            title: t
            severity: deny
            check: dp-limits
            params:
              max_epsilon: lots
              colour: red
          - id: R3
            title: t
            severity: warn
            check: field
            params:
              path: "a..b"
              matches: "(unclosed"
          - id: R4
            title: t
            severity: warn
            check: max-age
          - id: R5
            title: t
            severity: deny
            check: no-unsafe-serialization
            params:
              fail_on: [dangerous, scary]
          - id: R1
            title: again
            severity: deny
            check: artifacts-encrypted
        waivers:
          - rule: R9
            release: foo
            reason: ""
            expires: 2026-02-30
        """
        let result = Fixtures.lint(yaml)
        XCTAssertNil(result.policy)
        let found = result.diagnostics.map { "\($0.line): \($0.message)" }
        func expect(_ line: Int, _ fragment: String, file: StaticString = #filePath, l: UInt = #line) {
            XCTAssertTrue(result.diagnostics.contains { $0.line == line && $0.message.contains(fragment) },
                          "no diagnostic on line \(line) containing '\(fragment)' in \(found)", file: file, line: l)
        }
        expect(3, "unknown key 'sevrity'")
        expect(7, "unknown severity 'block'")
        expect(8, "unknown check 'signed-by-magic'")
        expect(14, "'max_epsilon' must be a number")
        expect(15, "unknown parameter 'colour'")
        expect(21, "invalid path 'a..b'")
        expect(22, "not a valid regular expression")
        expect(23, "missing parameter 'days'")
        expect(32, "'scary' is not a scanner severity")
        expect(33, "duplicate rule id 'R1'")
        expect(38, "waiver refers to rule 'R9'")
        expect(39, "must have the form NAME@VERSION")
        expect(40, "non-empty reason")
        expect(41, "'2026-02-30' is not a date")
        // File order, with path:line:column: prefixes.
        XCTAssertEqual(result.diagnostics.map(\.line), result.diagnostics.map(\.line).sorted())
        XCTAssertTrue(result.diagnostics[0].description.hasPrefix("test.yaml:3:1: "))
    }

    func testMissingParametersAndTopLevelFields() {
        let result = Fixtures.lint("""
        version: 1
        rules:
          - id: A
            title: t
            severity: deny
            check: signed-by-trusted-key
          - id: B
            severity: deny
            check: allowed-algorithms
            params:
              hash: sha256
        """)
        let messages = result.diagnostics.map(\.message)
        XCTAssertTrue(messages.contains { $0.contains("missing 'name'") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.contains("rule 'A': missing parameter 'keys'") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.contains("missing 'title'") }, "\(messages)")
        XCTAssertTrue(result.diagnostics.contains { $0.line == 11 && $0.message.contains("'hash' must be a list") }, "\(result.diagnostics)")
    }

    func testYAMLSyntaxErrorHasALine() {
        let result = Fixtures.lint("name: x\nrules:\n  - id: [unclosed\n")
        XCTAssertNil(result.policy)
        XCTAssertEqual(result.diagnostics.count, 1)
        XCTAssertGreaterThan(result.diagnostics[0].line, 0)
        XCTAssertTrue(result.diagnostics[0].message.hasPrefix("not valid YAML"))
    }

    func testKeyPathsFromEnvironmentAndUnsetVariable() throws {
        let dir = try TestSupport.makeTemporaryDirectory("policy-env")
        let key = PrivateKey.generate(.p256)
        let keyPath = dir.appendingPathComponent("trusted.pub").path
        try key.publicKey.pemRepresentation.write(toFile: keyPath, atomically: true, encoding: .utf8)
        let yaml = """
        name: e
        version: 1
        rules:
          - id: S
            title: t
            severity: deny
            check: signed-by-trusted-key
            params:
              keys: ["${POLICYCHECK_TEST_KEYS}"]
        """
        unsetenv("POLICYCHECK_TEST_KEYS")
        // Unset: the policy is valid (lint checks the policy, not the environment);
        // the variable is a note, and the rule keeps the reference to fail closed on.
        let unset = Fixtures.lint(yaml)
        XCTAssertTrue(unset.problems.isEmpty, "\(unset.diagnostics)")
        XCTAssertTrue(unset.notes.contains { $0.line == 9 && $0.message.contains("POLICYCHECK_TEST_KEYS is not set") }, "\(unset.diagnostics)")
        guard case let .signedByTrustedKey(noKeys, _, unresolved, _)? = unset.policy?.rules[0].check else { return XCTFail("\(unset.diagnostics)") }
        XCTAssertTrue(noKeys.isEmpty)
        XCTAssertEqual(unresolved, ["${POLICYCHECK_TEST_KEYS}"])
        setenv("POLICYCHECK_TEST_KEYS", dir.path, 1)  // a directory of keys
        defer { unsetenv("POLICYCHECK_TEST_KEYS") }
        let set = Fixtures.lint(yaml)
        XCTAssertTrue(set.diagnostics.isEmpty, "\(set.diagnostics)")
        guard case let .signedByTrustedKey(keys, _, stillUnresolved, _)? = set.policy?.rules[0].check else { return XCTFail("\(set.diagnostics)") }
        XCTAssertEqual(keys.map(\.keyID), [key.publicKey.keyID])
        XCTAssertTrue(stillUnresolved.isEmpty)
    }

    func testShippedPoliciesLintClean() throws {
        let root = TestSupport.repositoryRoot
        let names = ["policies/baseline.yaml", "policies/strict.yaml", "policies/examples/waiver-example.yaml"]
        // Without MODELSEC_TRUSTED_KEYS (a CI lint job has none): valid, with one note each.
        unsetenv("MODELSEC_TRUSTED_KEYS")
        for name in names {
            let result = try PolicyLoader.lint(path: root.appendingPathComponent(name).path)
            XCTAssertNotNil(result.policy, "\(name): \(result.diagnostics)")
            XCTAssertEqual(result.notes.count, 1, "\(name): \(result.diagnostics)")
            XCTAssertTrue(result.notes.allSatisfy { $0.message.contains("MODELSEC_TRUSTED_KEYS is not set") }, "\(result.notes)")
        }
        setenv("MODELSEC_TRUSTED_KEYS", root.appendingPathComponent("keys-example/p256.pem.pub").path, 1)
        defer { unsetenv("MODELSEC_TRUSTED_KEYS") }
        for name in names {
            let result = try PolicyLoader.lint(path: root.appendingPathComponent(name).path)
            XCTAssertNotNil(result.policy, "\(name): \(result.diagnostics)")
            XCTAssertTrue(result.diagnostics.isEmpty, "\(name): \(result.diagnostics)")
        }
        let example = try PolicyLoader.load(path: root.appendingPathComponent("policies/examples/waiver-example.yaml").path)
        XCTAssertFalse(example.waivers.isEmpty)
    }

    func testFieldPathSyntax() throws {
        let doc = try JSONValue(parsing: Data(#"{"a": {"b-c": [1, {"d": 2}, null]}, "list": [{"x": 1}, {"x": 2}, {"y": 3}]}"#.utf8))
        XCTAssertEqual(try FieldPath(parsing: #"a["b-c"][0]"#).values(in: doc), [.number(1)])
        XCTAssertEqual(try FieldPath(parsing: #"a["b-c"][1].d"#).values(in: doc), [.number(2)])
        XCTAssertEqual(try FieldPath(parsing: #"a["b-c"][2]"#).values(in: doc), [])  // null counts as missing
        XCTAssertEqual(try FieldPath(parsing: "list[*].x").values(in: doc), [.number(1), .number(2)])
        XCTAssertEqual(try FieldPath(parsing: "nope.deeper").values(in: doc), [])
        for bad in ["", "a.", ".a", "a..b", "a[x]", "a[-1]", "a[", #"a["x]"#, "a[0]b"] {
            XCTAssertThrowsError(try FieldPath(parsing: bad), bad)
        }
    }
}
