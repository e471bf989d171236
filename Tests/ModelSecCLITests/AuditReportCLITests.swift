import Foundation
import TestSupport
import XCTest

/// The audit reports for people (`--format html`, `--format markdown`) and
/// `audit --json`: a 50-release audit with every outcome, release names and
/// waiver reasons an attacker wrote, rendered the way a person sees it.
final class AuditReportCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("audit-report") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Markup an attacker puts in a release name: it must render as text.
    static let hostileName = "</script><script>alert(1)</script><img src=x onerror=alert(2)>|[x](javascript:alert(3))@team"
    /// Markup in a waiver reason (policies are reviewed, but a report must not trust them either).
    static let hostileReason = "legacy </td><img src=y onerror=alert(4)> *until* retrain"

    /// Expected releases by outcome in the audit ``makeAudit()`` builds.
    static let expected = ["failure": 12, "warning": 8, "waived": 10, "passed": 20]

    @discardableResult
    func ok(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(arguments)
        XCTAssertEqual(r.status, 0, "\(arguments.joined(separator: " ")): \(r.stderrText)", file: file, line: line)
        return r
    }

    /// 50 release directories: 20 pass, 10 waived, 8 warn only, 7 fail a deny
    /// rule, 3 are tampered (hostile name in release.json, signature fails) and
    /// 2 are not releases at all. Returns the directories and the policy.
    func makeAudit() throws -> (releases: [String], policy: String) {
        try ok(["keygen", "--type", "ed25519", "--out", path("sign.pem")])
        try ok(["keygen", "--type", "x25519", "--out", path("deploy.pem")])
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("safe weights".utf8).write(to: model.appendingPathComponent("weights.bin"))
        for version in ["1.0.0", "0.9.0", "0.8.0", "2.0.0"] {
            try ok(["release", "create", model.path, "--name", "clf", "--version", version, "--signing-key", path("sign.pem"),
                    "--recipient", path("deploy.pem.pub"), "--output", path("base-\(version)")])
        }
        let policy = """
        name: report-test
        version: "1"
        rules:
          - id: SIG
            title: Signed by the release key
            severity: deny
            check: signed-by-trusted-key
            params:
              keys: ["\(path("sign.pem.pub"))"]
          - id: STABLE
            title: Version 1.x
            severity: warn
            check: field
            params:
              path: version
              matches: "1\\\\..*"
          - id: KNOWN
            title: A known version
            severity: deny
            check: field
            params:
              path: version
              one_of: ["1.0.0", "0.9.0", "0.8.0"]
        waivers:
          - rule: STABLE
            release: "clf@0.9.*"
            reason: "\(Self.hostileReason)"
            expires: 2099-12-31

        """
        try policy.write(toFile: path("policy.yaml"), atomically: true, encoding: .utf8)
        var releases: [String] = []
        func copy(_ version: String, _ count: Int, _ label: String) throws {
            for i in 0..<count {
                let target = path("\(label)-\(i)")
                try FileManager.default.copyItem(atPath: path("base-\(version)"), toPath: target)
                releases.append(target)
            }
        }
        try copy("1.0.0", 20, "pass")
        try copy("0.9.0", 10, "waived")
        try copy("0.8.0", 8, "warn")
        try copy("2.0.0", 7, "deny")
        for i in 0..<3 {
            let target = path("evil-<i>\(i)")
            try FileManager.default.copyItem(atPath: path("base-1.0.0"), toPath: target)
            let manifest = URL(fileURLWithPath: target).appendingPathComponent("release.json")
            var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as? [String: Any])
            json["name"] = Self.hostileName
            try JSONSerialization.data(withJSONObject: json).write(to: manifest)
            releases.append(target)
        }
        for i in 0..<2 {
            let target = path("not-a-release-\(i)")
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            releases.append(target)
        }
        XCTAssertEqual(releases.count, 50)
        return (releases, path("policy.yaml"))
    }

    func testHTMLReportOf50ReleasesRendersInChromiumWithEverythingEscaped() throws {
        let chromium = try Self.chromium()
        let audit = try makeAudit()
        let report = path("report.html")
        let r = try TestSupport.modelsec(["audit"] + audit.releases + ["--policy", audit.policy, "--format", "html", "--output", report])
        XCTAssertEqual(r.status, 1, r.stderrText)   // deny rules failed
        let html = try String(contentsOfFile: report, encoding: .utf8)

        // Self-contained: nothing to fetch, and only the page's own two blocks may run.
        XCTAssertFalse(html.contains("src=\"http") || html.contains("href=\"http") || html.contains("<link"), "external resource")
        XCTAssertEqual(html.components(separatedBy: "<script").count - 1, 1, "one inline script, the filter")
        XCTAssertTrue(html.contains("Content-Security-Policy\" content=\"default-src 'none';"))
        XCTAssertFalse(html.contains("<img"), "a hostile name became markup")
        XCTAssertTrue(html.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"))
        XCTAssertTrue(html.contains("legacy &lt;/td&gt;&lt;img src=y onerror=alert(4)&gt; *until* retrain"))

        // Rendered as a person sees it: no console error, the script ran (the
        // filter bar shows and counts), the summary counts are on the page.
        let profile = path("chromium-profile")
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)",
                     "--disable-crash-reporter", "--disable-breakpad", "--disable-dev-shm-usage",
                     "--enable-logging=stderr", "--v=0", "--window-size=1280,2400"]
        let url = URL(fileURLWithPath: report).absoluteString
        let dom = try TestSupport.run("timeout", ["120", chromium] + flags + ["--dump-dom", url])
        XCTAssertEqual(dom.status, 0, dom.stderrText)
        let consoleProblems = dom.stderrText.split(separator: "\n").filter {
            $0.contains("CONSOLE") || $0.contains("Uncaught") || $0.contains("Refused to") || $0.contains("Content Security Policy")
        }
        XCTAssertEqual(consoleProblems, [], "console output while rendering the report")
        let rendered = dom.stdoutText
        XCTAssertTrue(rendered.contains("50 of 50 release(s) shown"), "the filter script did not run")
        XCTAssertFalse(rendered.contains("<nav id=\"filters\" hidden"), "the filter bar is still hidden")
        XCTAssertFalse(rendered.contains("<img"), "the DOM holds an element from a release name")
        let text = Self.visibleText(rendered)
        for (outcome, count) in Self.expected {
            XCTAssertTrue(rendered.contains("<td id=\"count-\(outcome)\">\(count)</td>"), "\(outcome): \(count)")
        }
        XCTAssertTrue(text.contains("Total 50"), text.prefix(600).description)
        XCTAssertTrue(text.contains(Self.hostileName), "the hostile name is shown as text")
        XCTAssertTrue(text.contains("50 releases, 3 rules"), "the totals line")
        XCTAssertTrue(text.contains("2099-12-31"), "the waiver's expiry")

        let png = path("report.png")
        let shot = try TestSupport.run("timeout", ["120", chromium] + flags + ["--screenshot=\(png)", url])
        XCTAssertEqual(shot.status, 0, shot.stderrText)
        let image = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(image.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
        XCTAssertGreaterThan(image.count, 10_000, "a blank screenshot")

        // Printable: Chromium prints it (the print style drops the filter bar).
        let pdf = path("report.pdf")
        let printed = try TestSupport.run("timeout", ["120", chromium] + flags + ["--no-pdf-header-footer", "--print-to-pdf=\(pdf)", url])
        XCTAssertEqual(printed.status, 0, printed.stderrText)
        let document = try Data(contentsOf: URL(fileURLWithPath: pdf))
        XCTAssertEqual(String(decoding: document.prefix(5), as: UTF8.self), "%PDF-")
        XCTAssertGreaterThan(document.count, 10_000, "an empty print")
        XCTAssertTrue(html.contains("@media print{#filters{display:none!important}"), "the print style hides the filters")
    }

    func testMarkdownReportEscapesNamesAndKeepsTablesIntact() throws {
        let audit = try makeAudit()
        let r = try TestSupport.modelsec(["audit"] + audit.releases + ["--policy", audit.policy, "--format", "markdown"])
        XCTAssertEqual(r.status, 1, r.stderrText)
        let markdown = r.stdoutText
        for (outcome, count) in Self.expected {
            let label = ["failure": "FAIL", "warning": "WARN", "waived": "waived", "passed": "pass"][outcome]!
            XCTAssertTrue(markdown.contains("| \(label) | \(count) |"), "\(outcome): \(markdown.prefix(400))")
        }
        XCTAssertFalse(markdown.contains("<img") || markdown.contains("<script") || markdown.contains("</td"), "raw HTML reached the comment")
        XCTAssertFalse(markdown.contains("](javascript"), "a link survived")
        XCTAssertTrue(markdown.contains("\\)\\@team") && !markdown.contains(")@team"), "a mention survived")
        XCTAssertTrue(markdown.contains("&lt;img src\\=x onerror\\=alert\\(2\\)&gt;"))
        XCTAssertTrue(markdown.contains("20 release\\(s\\) passed every rule"))
        // Every row of a findings table has exactly its six cell separators:
        // a `|` from a release cannot open another cell.
        for line in markdown.split(separator: "\n") where line.hasPrefix("| ") && !line.hasPrefix("| Outcome") && !line.hasPrefix("| Policy") {
            let cells = Self.unescapedPipes(String(line))
            XCTAssertTrue(cells == 3 || cells == 5 || cells == 6, "row with \(cells) separators: \(line)")
        }
        XCTAssertEqual(markdown.components(separatedBy: "### FAIL: ").count - 1, 12)
    }

    func testJSONResultIsTheEnvelopeAndOutputIsGuarded() throws {
        let audit = try makeAudit()
        let base = ["audit"] + audit.releases + ["--policy", audit.policy]
        let r = try TestSupport.modelsec(base + ["--json"])
        XCTAssertEqual(r.status, 1, r.stderrText)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual(doc["ok"] as? Bool, false)
        XCTAssertEqual((doc["error"] as? [String: Any])?["code"] as? String, "audit.rules-failed")
        XCTAssertEqual((doc["totals"] as? [String: Any])?["releasesByOutcome"] as? [String: Int], Self.expected)

        // The report file goes through the overwrite rule; --json then reports where it went.
        try Data("keep".utf8).write(to: URL(fileURLWithPath: path("exists.html")))
        let refused = try TestSupport.modelsec(base + ["--format", "html", "--output", path("exists.html"), "--json"])
        XCTAssertEqual(refused.status, 2, refused.stderrText)
        let error = (try JSONSerialization.jsonObject(with: refused.stdout) as? [String: Any])?["error"] as? [String: Any]
        XCTAssertEqual(error?["code"] as? String, "output.exists")
        XCTAssertEqual(try String(contentsOfFile: path("exists.html"), encoding: .utf8), "keep")
        let forced = try TestSupport.modelsec(base + ["--format", "html", "--output", path("exists.html"), "--force", "--json"])
        XCTAssertEqual(forced.status, 1, forced.stderrText)
        let written = try XCTUnwrap(try JSONSerialization.jsonObject(with: forced.stdout) as? [String: Any])
        XCTAssertEqual(written["format"] as? String, "html")
        XCTAssertEqual(written["output"] as? String, path("exists.html"))
        XCTAssertTrue(try String(contentsOfFile: path("exists.html"), encoding: .utf8).hasPrefix("<!DOCTYPE html>"))

        // A clean audit: ok true, exit 0.
        let clean = try TestSupport.modelsec(["audit", path("pass-0"), "--policy", audit.policy, "--json"])
        XCTAssertEqual(clean.status, 0, clean.stderrText)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: clean.stdout) as? [String: Any])?["ok"] as? Bool, true)
    }

    /// The text a person reads in a DOM dump: tags dropped, character
    /// references decoded, whitespace collapsed.
    static func visibleText(_ html: String) -> String {
        var body = html
        if let start = body.range(of: "<body") { body = String(body[start.lowerBound...]) }
        body = body.replacingOccurrences(of: "<script>[\\s\\S]*?</script>", with: " ", options: .regularExpression)
        body = body.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")] {
            body = body.replacingOccurrences(of: entity, with: character)
        }
        return body.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Number of `|` in a Markdown line that are not backslash-escaped.
    static func unescapedPipes(_ line: String) -> Int {
        var count = 0, escaped = false
        for c in line {
            if escaped { escaped = false; continue }
            if c == "\\" { escaped = true } else if c == "|" { count += 1 }
        }
        return count
    }

    /// The Chromium binary (Debian `chromium`; scripts/install-deps.sh installs it).
    static func chromium() throws -> String {
        for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        // A missing Chromium fails the test: CI installs it (scripts/install-deps.sh), and a skipped
        // rendering check would let a broken report through unnoticed.
        throw ChromiumMissing()
    }
}

/// Chromium is not installed: the HTML report test fails rather than skipping.
struct ChromiumMissing: Error, CustomStringConvertible {
    var description: String { "chromium is not installed; run scripts/install-deps.sh (Debian package chromium)" }
}
