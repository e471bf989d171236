import Foundation
import TestSupport
import XCTest

/// Issue #21's "done when", on the demo itself (`scripts/demo.sh`, as
/// `make demo` runs it): its release carries an ML-BOM that CycloneDX's own
/// validator accepts and a provenance signed by the release key, and a strict
/// policy refuses that release for an unapproved licence and for a missing
/// evaluation result (while the same rules pass when they allow what it has).
final class DemoEvidenceTests: XCTestCase {
    /// Python: verifies the DSSE envelope argv[1] with the Ed25519 public key
    /// PEM argv[2] (the DSSE v1 pre-authentication encoding), independently
    /// of modelsec.
    static let dsseVerifier = """
    import base64, json, sys
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    envelope = json.load(open(sys.argv[1], encoding="utf-8"))
    key = load_pem_public_key(open(sys.argv[2], "rb").read())
    body = base64.b64decode(envelope["payload"], validate=True)
    kind = envelope["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)
    assert len(envelope["signatures"]) == 1, envelope["signatures"]
    key.verify(base64.b64decode(envelope["signatures"][0]["sig"], validate=True), pae)
    print("signed")
    """

    func testTheDemoReleaseCarriesValidEvidenceThatAStrictPolicyCanRefuse() throws {
        let demo = try TestSupport.makeTemporaryDirectory("demo").appendingPathComponent("run")
        let script = TestSupport.repositoryRoot.appendingPathComponent("scripts/demo.sh").path
        let run = try TestSupport.run("/bin/bash", [script, TestSupport.modelsecBinary.path],
                                      environment: ProcessInfo.processInfo.environment.merging(["MODELSEC_DEMO_DIR": demo.path]) { $1 },
                                      timeout: 600)
        XCTAssertEqual(run.status, 0, run.stdoutText + run.stderrText)
        let release = demo.appendingPathComponent("release")
        func path(_ name: String) -> String { release.appendingPathComponent(name).path }

        // The ML-BOM, by CycloneDX's own validator; the provenance, by the
        // in-toto and SLSA definitions and by the release key's signature.
        let python = try TestSupport.python()
        let bom = try TestSupport.run(python, ["-c", EvidenceValidators.cycloneDX, path("bom.cdx.json")])
        XCTAssertEqual(bom.status, 0, bom.stdoutText + bom.stderrText)
        let provenance = try TestSupport.run(python, ["-c", EvidenceValidators.provenance, path("provenance.dsse.json")])
        XCTAssertEqual(provenance.status, 0, provenance.stdoutText + provenance.stderrText)
        let signed = try TestSupport.run(python, ["-c", Self.dsseVerifier, path("provenance.dsse.json"),
                                                  demo.appendingPathComponent("keys/signing.pem.pub").path])
        XCTAssertEqual(signed.status, 0, signed.stdoutText + signed.stderrText)

        // Strict rules over that evidence: each refuses the demo's release when
        // it asks for what the release does not have, and passes when it does not.
        let trusted = demo.appendingPathComponent("trusted").path
        func audit(_ rule: String) throws -> (status: Int32, failed: [String]) {
            let policy = demo.appendingPathComponent("policy-\(UUID().uuidString).yaml")
            try "name: demo-check\nversion: \"1\"\nrules:\n\(rule)".write(to: policy, atomically: true, encoding: .utf8)
            let r = try TestSupport.modelsec(["audit", release.path, "--policy", policy.path, "--trusted-keys", trusted, "--format", "json"])
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stderrText)
            let results = try XCTUnwrap(json["results"] as? [[String: Any]], r.stdoutText)
            return (r.status, results.filter { $0["status"] as? String == "failure" }.compactMap { $0["ruleID"] as? String })
        }
        func licences(_ allowed: String) -> String {
            "  - id: LIC\n    title: licences\n    severity: deny\n    check: licenses\n    params:\n      allowed: \(allowed)\n      include_datasets: true\n"
        }
        func metrics(_ wanted: String) -> String {
            "  - id: EVAL\n    title: evaluated\n    severity: deny\n    check: required-metrics\n    params:\n      metrics: ['\(wanted)']\n"
        }
        let unapproved = try audit(licences("[MIT]"))
        XCTAssertEqual(unapproved.status, 1)
        XCTAssertEqual(unapproved.failed, ["LIC"])
        let approved = try audit(licences("[Apache-2.0, CC-BY-4.0]"))
        XCTAssertEqual(approved.status, 0, "\(approved.failed)")
        let missingMetric = try audit(metrics("f1 >= 0.5"))
        XCTAssertEqual(missingMetric.status, 1)
        XCTAssertEqual(missingMetric.failed, ["EVAL"])
        let tooLow = try audit(metrics("accuracy >= 0.9"))   // policies/strict.yaml's bar; the demo model scores 0.5
        XCTAssertEqual(tooLow.failed, ["EVAL"])
        let met = try audit(metrics("accuracy >= 0.5"))
        XCTAssertEqual(met.status, 0, "\(met.failed)")
    }
}
