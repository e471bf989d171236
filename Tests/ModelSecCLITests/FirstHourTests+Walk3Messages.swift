import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: third walkthrough: messages, escaping, DP wording

    /// Item 7: a file that holds no private key (a certificate, a vkey, a JWK
    /// Set, text), given where a private key goes, gets only the error about
    /// what it is, never first a warning about its permissions; a real
    /// private key with open permissions still gets the warning.
    func testNonKeyFilesGetNoPermissionWarning() throws {
        try makeLoggedRelease()
        try "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ0VSVA==\n-----END CERTIFICATE-----\n"
            .write(toFile: path("signer.crt"), atomically: true, encoding: .utf8)
        try run(["token", "jwks", "--public-key", path("release.pem.pub"), "--out", path("jwks.json")])
        try "just some notes\n".write(toFile: path("notes.txt"), atomically: true, encoding: .utf8)
        for file in ["signer.crt", "log.vkey", "jwks.json", "notes.txt", "release.pem.pub"] {
            chmod(path(file), 0o644)
            for command in [["sign", path("model"), "--key", path(file), "--output", path("m.sig")],
                            ["log", "append", path("models-log"), "--key", path(file), "--release", path("rel")],
                            ["decrypt", path("rel/artifacts/weights.safetensors.enc"), "--identity", path(file), "--output", path("w")]] {
                let r = try run(command, expect: 2)
                XCTAssertFalse(r.stderrText.contains("accessible by others"), "\(command.joined(separator: " ")): \(r.stderrText)")
                XCTAssertTrue(r.stderrText.contains("error"), r.stderrText)
            }
        }
        chmod(path("release.pem"), 0o644)
        let exposed = try run(["sign", path("model"), "--key", path("release.pem"), "--output", path("m.sig")])
        XCTAssertTrue(exposed.stderrText.contains("private key is accessible by others"), exposed.stderrText)
        try run(["sign", path("model"), "--key", path("release.pem"), "--output", path("m2.sig"), "--strict-permissions"], expect: 2)
    }

    /// Item 16: messages name the flag that fixes them.
    func testMessagesNameTheFixingFlag() throws {
        try makeRelease()
        try FileManager.default.createSymbolicLink(atPath: path("model/link.safetensors"), withDestinationPath: "weights.safetensors")
        let link = try run(["sign", path("model"), "--key", path("release.pem"), "--output", path("m.sig")], expect: 2)
        XCTAssertTrue(link.stderrText.contains("--allow-symlinks"), link.stderrText)
        try run(["sign", path("model"), "--key", path("release.pem"), "--output", path("m.sig"), "--allow-symlinks"])
        let file = try run(["verify", path("model"), "--signature", path("m.sig"), "--trusted-keys", path("release.pem.pub")], expect: 2)
        XCTAssertTrue(file.stderrText.contains("use --public-key"), file.stderrText)
        let directory = try run(["release", "verify", path("rel"), "--public-key", path("trusted"), "--identity", path("deploy.pem"),
                                 "--output", path("out")], expect: 2)
        XCTAssertTrue(directory.stderrText.contains("use --trusted-keys"), directory.stderrText)
    }

    /// Item 10: `audit --format junit|json|sarif` on standard output never
    /// prints a terminal control raw. JSON and SARIF use the `\uXXXX` escapes
    /// of --json (the exact name for a JSON reader); JUnit writes what XML
    /// 1.0 cannot carry visibly (`\u{1b}`, never dropped) and bidi controls
    /// as character references, and stays well-formed XML.
    func testAuditReportsOnStandardOutputEscapeHostileNames() throws {
        let evil = "evil\u{1b}[2J\u{1b}]0;x\u{07}\u{202e}.bin"
        try makeRelease()
        try Data("x".utf8).write(to: URL(fileURLWithPath: path("model/" + evil)))
        try run(["release", "create", path("model"), "--name", "clf", "--version", "1.0.1", "--signing-key", path("release.pem"),
                 "--recipient", path("deploy.pem.pub"), "--output", path("erel")])
        let policy = TestSupport.repositoryRoot.appendingPathComponent("policies/baseline.yaml").path
        var outputs: [String: TestSupport.ProcessResult] = [:]
        for format in ["junit", "json", "sarif"] {
            let r = try TestSupport.modelsec(["audit", path("erel"), "--policy", policy, "--trusted-keys", path("trusted"), "--format", format],
                                             currentDirectory: dir)
            XCTAssertTrue(r.status == 0 || r.status == 1, r.stderrText)
            XCTAssertFalse(Self.containsTerminalControl(r.stdoutText), "\(format): \(r.stdoutText)")
            XCTAssertTrue(r.stdoutText.contains("evil"), "\(format) names the file: \(r.stdoutText)")
            outputs[format] = r
        }
        for format in ["json", "sarif"] {
            let text = try XCTUnwrap(outputs[format]).stdoutText
            XCTAssertTrue(text.contains("\\u202e") && text.contains("\\u001b"), text)
            let decoded = Self.strings(in: try JSONSerialization.jsonObject(with: try XCTUnwrap(outputs[format]).stdout))
            XCTAssertTrue(decoded.contains { $0.contains(evil) }, "\(format): the decoded name must be exact")
        }
        let junit = try XCTUnwrap(outputs["junit"]).stdoutText
        XCTAssertTrue(junit.contains("evil\\u{1b}[2J\\u{1b}]0;x\\u{7}\\u{202e}.bin"), junit)
        // Well-formed XML, and a reader gets the visible escapes, never the raw bidi control (walkthrough 4).
        try junit.write(toFile: path("report.xml"), atomically: true, encoding: .utf8)
        let parse = try TestSupport.run(try TestSupport.python(), ["-c", """
            import sys, xml.etree.ElementTree as ET
            text = "".join(e.text or "" for e in ET.parse(sys.argv[1]).iter()) + "".join(v for e in ET.parse(sys.argv[1]).iter() for v in e.attrib.values())
            sys.exit(0 if "evil\\\\u{1b}[2J\\\\u{1b}]0;x\\\\u{7}\\\\u{202e}.bin" in text and "\\u202e" not in text else 1)
            """, path("report.xml")])
        XCTAssertEqual(parse.status, 0, parse.stdoutText + parse.stderrText)
    }

    /// Item 6: the quantile's rank bound is stated for what it is (beyond the
    /// best candidate, with the candidates' spacing), not as the rank error.
    func testDPQuantileStatesWhatItsRankBoundIsRelativeTo() throws {
        let data = TestSupport.repositoryRoot.appendingPathComponent("examples/data/train.csv").path
        let r = try run(["dp", "release", "--input", data, "--column", "age", "--statistic", "quantile", "--quantile", "0.5",
                         "--bounds", "0,200000", "--epsilon", "1"])
        XCTAssertTrue(r.stdoutText.contains("records more than the best of the 1001 candidates (200.0 apart), with probability 95%"), r.stdoutText)
        XCTAssertFalse(r.stdoutText.contains("records with probability 95%"), r.stdoutText)
        let json = try run(["dp", "release", "--input", data, "--column", "age", "--statistic", "quantile", "--quantile", "0.5",
                            "--bounds", "0,200000", "--epsilon", "1", "--json"])
        let notes = (try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])?["notes"] as? [String] ?? []
        XCTAssertTrue(notes.contains { $0.contains("than the best of the 1001 candidates") }, "\(notes)")
        try assertMatchesSchema("dp-release.schema.json", [json.stdout])
    }
}
