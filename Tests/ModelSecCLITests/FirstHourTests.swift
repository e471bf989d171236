import Foundation
import TestSupport
import XCTest

/// Regressions from the second new-user walkthrough (issue #15,
/// docs/../notes walkthrough): each test fails on the code before its fix.
final class FirstHourTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory("cli-first-hour")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    func run(_ arguments: [String], expect status: Int32 = 0, environment: [String: String]? = nil,
             file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(arguments, environment: environment, currentDirectory: dir)
        XCTAssertEqual(r.status, status, "modelsec \(arguments.joined(separator: " ")): \(r.stdoutText) \(r.stderrText)",
                       file: file, line: line)
        return r
    }

    func errorCode(_ r: TestSupport.ProcessResult) -> String? {
        ((try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
    }

    /// A signing key, a deploy key, a model and a release of it made with them.
    func makeRelease(_ name: String = "rel", model: String = "model") throws {
        if !FileManager.default.fileExists(atPath: path("release.pem")) {
            try run(["keygen", "--type", "ed25519", "--out", path("release.pem")])
            try run(["keygen", "--type", "x25519", "--out", path("deploy.pem")])
            try FileManager.default.createDirectory(atPath: path("trusted"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: path("release.pem.pub"), toPath: path("trusted/release.pem.pub"))
        }
        if !FileManager.default.fileExists(atPath: path(model)) {
            try FileManager.default.createDirectory(atPath: path(model), withIntermediateDirectories: true)
            try Data("safe weights".utf8).write(to: URL(fileURLWithPath: path(model + "/weights.bin")))
        }
        try run(["release", "create", path(model), "--name", "clf", "--version", "1.0.0", "--signing-key", path("release.pem"),
                 "--recipient", path("deploy.pem.pub"), "--output", path(name)])
    }

    func gate(_ release: String = "rel", output: String, extra: [String] = [], expect status: Int32,
              environment: [String: String]? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        try run(["release", "verify", path(release), "--trusted-keys", path("trusted"), "--identity", path("deploy.pem"),
                 "--output", path(output), "--json"] + extra, expect: status, environment: environment, file: file, line: line)
    }

    // MARK: 1. Boolean environment variables

    /// MODELSEC_REQUIRE_TOKEN and MODELSEC_STRICT_PERMISSIONS accept
    /// 1/true/yes/on in any case, and refuse values that are no boolean.
    func testBooleanEnvironmentVariables() throws {
        try makeRelease()
        for on in ["1", "true", "TRUE", "Yes", "on"] {
            let r = try gate(output: "out-\(on)", expect: 2, environment: ["MODELSEC_REQUIRE_TOKEN": on])
            XCTAssertTrue(r.stderrText.contains("A deploy token is required"), r.stderrText)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out-\(on)")))
        }
        for (index, off) in ["0", "false", "NO", "off", ""].enumerated() {
            try gate(output: "off-\(index)", expect: 0, environment: ["MODELSEC_REQUIRE_TOKEN": off])
        }
        let bogus = try gate(output: "bogus", expect: 2, environment: ["MODELSEC_REQUIRE_TOKEN": "enabled"])
        XCTAssertTrue(bogus.stderrText.contains("MODELSEC_REQUIRE_TOKEN=\"enabled\" is not a boolean"), bogus.stderrText)
        XCTAssertEqual(errorCode(bogus), "usage.invalid-value")

        // An exposed key is refused when strict mode is on by any spelling.
        chmod(path("deploy.pem"), 0o644)
        for on in ["1", "true", "YES", "On"] {
            let r = try gate(output: "strict-\(on)", expect: 2, environment: ["MODELSEC_STRICT_PERMISSIONS": on])
            XCTAssertTrue(r.stderrText.contains("deploy.pem"), r.stderrText)
        }
        let warned = try gate(output: "lenient", expect: 0, environment: ["MODELSEC_STRICT_PERMISSIONS": "off"])
        XCTAssertTrue(warned.stderrText.contains("warning"), warned.stderrText)
        let strictBogus = try run(["sign", path("model"), "--key", path("release.pem"), "--output", path("m.sig")],
                                  expect: 2, environment: ["MODELSEC_STRICT_PERMISSIONS": "2"])
        XCTAssertTrue(strictBogus.stderrText.contains("MODELSEC_STRICT_PERMISSIONS=\"2\" is not a boolean"), strictBogus.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("m.sig")))
    }
}

extension FirstHourTests {
    // MARK: 3. The gate's policy step trusts the gate's keys

    /// `release verify --trusted-keys DIR --policy baseline.yaml` passes the
    /// policy's signature rule with the gate's keys, as `audit` does, even
    /// when the variable the policy names points at other keys.
    func testGatePolicyStepUsesTheGatesTrust() throws {
        try makeRelease()
        try FileManager.default.createDirectory(atPath: path("pol"), withIntermediateDirectories: true)
        for name in ["baseline.yaml", "revoked-keys.txt"] {
            try FileManager.default.copyItem(at: TestSupport.repositoryRoot.appendingPathComponent("policies/" + name),
                                             to: URL(fileURLWithPath: path("pol/" + name)))
        }
        try run(["keygen", "--type", "ed25519", "--out", path("other.pem")])
        try FileManager.default.createDirectory(atPath: path("other"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path("other.pem.pub"), toPath: path("other/other.pem.pub"))
        let environment = ["MODELSEC_TRUSTED_KEYS": path("other")]
        try gate(output: "dep", extra: ["--policy", path("pol/baseline.yaml")], expect: 0, environment: environment)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("dep/weights.bin")))
        try run(["release", "verify", path("rel"), "--public-key", path("release.pem.pub"), "--identity", path("deploy.pem"),
                 "--policy", path("pol/baseline.yaml"), "--output", path("dep2")], environment: environment)
        // The audit agrees, with the same flags.
        try run(["audit", path("rel"), "--policy", path("pol/baseline.yaml"), "--trusted-keys", path("trusted")], environment: environment)
        // And trust still matters: the gate trusting only `other` fails at the signature step.
        let refused = try run(["release", "verify", path("rel"), "--trusted-keys", path("other"), "--identity", path("deploy.pem"),
                               "--policy", path("pol/baseline.yaml"), "--output", path("dep3")], expect: 1, environment: environment)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("dep3")), refused.stderrText)
    }
}

extension FirstHourTests {
    // MARK: 2. Untrusted text on a terminal

    /// Raw bytes a terminal acts on: ESC, BEL, CSI/OSC introducers, bidi controls.
    static func containsTerminalControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { s in
            let v = s.value
            return (v < 0x20 && v != 0x0A) || v == 0x7F || (0x80...0x9F).contains(v) || (0x202A...0x202E).contains(v)
                || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F
        }
    }

    /// A model whose file names carry escape sequences and a bidi override,
    /// one a dangerous pickle: scan, release create and release inspect
    /// print them escaped; --json keeps the exact names.
    func testHostileNamesAreEscapedInScanAndReleaseInspect() throws {
        let model = path("evilmodel")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        let evilName = "evil\u{1b}[2J\u{1b}]0;x\u{07}\u{202e}.bin"
        try Data("x".utf8).write(to: URL(fileURLWithPath: model + "/" + evilName))
        let pickleName = "p\u{1b}[31mwn\u{2067}.pkl"
        try Data("cos\nsystem\n(S'echo hi'\ntR.".utf8).write(to: URL(fileURLWithPath: model + "/" + pickleName))

        let scan = try run(["scan", model, "--verbose"], expect: 1)
        XCTAssertFalse(Self.containsTerminalControl(scan.stdoutText + scan.stderrText), scan.stdoutText)
        XCTAssertTrue(scan.stdoutText.contains("p\\u{1b}[31mwn\\u{2067}.pkl"), scan.stdoutText)
        // JSON: the exact name comes back from a JSON reader, and the raw bytes are escaped.
        let json = try run(["scan", model, "--json"], expect: 1)
        XCTAssertFalse(Self.containsTerminalControl(json.stdoutText), json.stdoutText)
        XCTAssertTrue(json.stdoutText.contains("\\u2067"), json.stdoutText)
        XCTAssertTrue(try XCTUnwrap(String(data: json.stdout, encoding: .utf8)).contains("\\u001b"))
        let decoded = try XCTUnwrap(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        XCTAssertTrue(String(describing: decoded).contains("\u{2067}"), "the JSON value must be exact")

        try run(["keygen", "--type", "ed25519", "--out", path("release.pem")])
        try run(["keygen", "--type", "x25519", "--out", path("deploy.pem")])
        let created = try run(["release", "create", model, "--name", "evil", "--version", "1.0.0", "--signing-key", path("release.pem"),
                               "--recipient", path("deploy.pem.pub"), "--output", path("evrel")])
        XCTAssertFalse(Self.containsTerminalControl(created.stdoutText + created.stderrText), created.stderrText)
        let inspect = try run(["release", "inspect", path("evrel")])
        XCTAssertFalse(Self.containsTerminalControl(inspect.stdoutText + inspect.stderrText), inspect.stdoutText)
        XCTAssertTrue(inspect.stdoutText.contains("evil\\u{1b}[2J\\u{1b}]0;x\\u{7}\\u{202e}.bin"), inspect.stdoutText)
        XCTAssertTrue(inspect.stdoutText.contains("dangerous"), inspect.stdoutText)
        let inspectJSON = try run(["release", "inspect", path("evrel"), "--json"])
        XCTAssertFalse(Self.containsTerminalControl(inspectJSON.stdoutText), inspectJSON.stdoutText)
        XCTAssertTrue(String(describing: try JSONSerialization.jsonObject(with: inspectJSON.stdout)).contains(evilName))
    }

    /// `dp release --group-by` prints CSV group keys (and histogram
    /// categories) escaped.
    func testDPGroupKeysAndCategoriesAreEscaped() throws {
        var csv = "ward,minutes\n"
        for i in 0..<400 { csv += "\(i % 2 == 0 ? "w\u{1b}[2J\u{202e}a" : "plain"),\(i % 50)\n" }
        try csv.write(toFile: path("visits.csv"), atomically: true, encoding: .utf8)
        let grouped = try run(["dp", "release", "--input", path("visits.csv"), "--column", "minutes", "--statistic", "count",
                               "--epsilon", "5", "--delta", "1e-6", "--group-by", "ward"])
        XCTAssertFalse(Self.containsTerminalControl(grouped.stdoutText), grouped.stdoutText)
        XCTAssertTrue(grouped.stdoutText.contains("w\\u{1b}[2J\\u{202e}a: count"), grouped.stdoutText)
        let histogram = try run(["dp", "release", "--input", path("visits.csv"), "--column", "ward", "--statistic", "histogram",
                                 "--categories", "plain,w\u{1b}[2J\u{202e}a", "--epsilon", "5"])
        XCTAssertFalse(Self.containsTerminalControl(histogram.stdoutText), histogram.stdoutText)
        XCTAssertTrue(histogram.stdoutText.contains("w\\u{1b}[2J\\u{202e}a:"), histogram.stdoutText)
    }

    /// `token inspect` prints JSON; a claim with a bidi override or C1
    /// control is escaped in it and decodes to the exact claim.
    func testTokenInspectEscapesBidiInItsJSON() throws {
        func b64(_ s: String) -> String {
            Data(s.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let token = b64("{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}") + "." + b64("{\"sub\":\"adm\u{202e}nimda\u{85}\u{1b}]0;t\u{07}\"}") + "." + b64("sig")
        let r = try run(["token", "inspect", token])
        XCTAssertFalse(Self.containsTerminalControl(r.stdoutText), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("\\u202e"), r.stdoutText)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual((object["claims"] as? [String: Any])?["sub"] as? String, "adm\u{202e}nimda\u{85}\u{1b}]0;t\u{07}")
    }
}
