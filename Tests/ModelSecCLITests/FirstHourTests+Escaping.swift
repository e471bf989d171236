import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 2. Untrusted text on a terminal

    /// Every string in a decoded JSON value.
    static func strings(in value: Any) -> [String] {
        if let s = value as? String { return [s] }
        if let a = value as? [Any] { return a.flatMap(strings(in:)) }
        if let d = value as? [String: Any] { return d.values.flatMap(strings(in:)) }
        return []
    }

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

        // A line break in a name must not start a line of its own (a forged "clean" line).
        try Data("x".utf8).write(to: URL(fileURLWithPath: model + "/line\nforged.bin: unknown, 0 pickle stream(s), clean"))

        let scan = try run(["scan", model, "--verbose"], expect: 1)
        XCTAssertFalse(Self.containsTerminalControl(scan.stdoutText + scan.stderrText), scan.stdoutText)
        XCTAssertTrue(scan.stdoutText.contains("p\\u{1b}[31mwn\\u{2067}.pkl"), scan.stdoutText)
        XCTAssertTrue(scan.stdoutText.contains("line\\u{a}forged.bin"), scan.stdoutText)
        XCTAssertFalse(scan.stdoutText.split(separator: "\n").contains { $0.hasPrefix("forged.bin") }, scan.stdoutText)
        // JSON: the exact name comes back from a JSON reader, and the raw bytes are escaped.
        let json = try run(["scan", model, "--json"], expect: 1)
        XCTAssertFalse(Self.containsTerminalControl(json.stdoutText), json.stdoutText)
        XCTAssertTrue(json.stdoutText.contains("\\u2067"), json.stdoutText)
        XCTAssertTrue(try XCTUnwrap(String(data: json.stdout, encoding: .utf8)).contains("\\u001b"))
        XCTAssertTrue(Self.strings(in: try JSONSerialization.jsonObject(with: json.stdout)).contains { $0.hasSuffix(pickleName) },
                      "the JSON value must be exact")

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
        XCTAssertTrue(Self.strings(in: try JSONSerialization.jsonObject(with: inspectJSON.stdout)).contains(evilName), "the JSON value must be exact")
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
        let token = b64("{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}") + "." + b64("{\"sub\":\"adm\u{202e}nimda\u{85}\\u001b]0;t\\u0007\"}") + "." + b64("sig")
        let r = try run(["token", "inspect", token])
        XCTAssertFalse(Self.containsTerminalControl(r.stdoutText), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("\\u202e"), r.stdoutText)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual((object["claims"] as? [String: Any])?["sub"] as? String, "adm\u{202e}nimda\u{85}\u{1b}]0;t\u{07}")
    }
}
