import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 17. Minor

    /// Every file the README tour writes in the repository root is ignored by git.
    func testReadmeTourOutputsAreIgnored() throws {
        let root = TestSupport.repositoryRoot
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let ignore = try String(contentsOf: root.appendingPathComponent(".gitignore"), encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("/") }
        // The outputs named in the tour's sh blocks (--out, --output, -o, > FILE), by their first path component.
        var outputs: Set<String> = ["model.sig"]
        var inBlock = false
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inBlock = line == "```sh"; continue }
            guard inBlock else { continue }
            let words = line.split(separator: " ").map(String.init)
            for (i, word) in words.enumerated() where i + 1 < words.count && ["--out", "--output", "-o", ">"].contains(word) {
                let target = words[i + 1]
                guard target != "-", !target.hasPrefix("/"), !target.hasPrefix("$") else { continue }
                outputs.insert(String(target.split(separator: "/").first ?? "").trimmingCharacters(in: CharacterSet(charactersIn: ")")))
            }
        }
        XCTAssertTrue(outputs.contains("release-signing.pem") && outputs.contains("releases"), "\(outputs)")
        for output in outputs.sorted() {
            let tracked = FileManager.default.fileExists(atPath: root.appendingPathComponent(output).path)
                && ["examples", "policies", "docs"].contains(output)
            if tracked { continue }
            XCTAssertTrue(ignore.contains("/" + output) || ignore.contains("/" + output + "/"), "\(output) is not in .gitignore")
        }
    }

    func testAuditOfAMissingPathAndShowOfAMissingLedgerAreUnusableInput() throws {
        try makeRelease()
        let policy = path("p.yaml")
        try "name: p\nversion: \"1\"\nrules:\n  - id: R1\n    title: t\n    severity: deny\n    check: artifacts-encrypted\n"
            .write(toFile: policy, atomically: true, encoding: .utf8)
        let r = try run(["audit", path("rel"), path("emptyrel/*"), "--policy", policy, "--json"], expect: 2)
        XCTAssertTrue(r.stderrText.contains("emptyrel/*: no such file or directory"), r.stderrText)
        // The report still covers the release that exists.
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText)
        XCTAssertEqual((object["error"] as? [String: Any])?["code"] as? String, "file.unusable")
        XCTAssertNotNil(object["totals"] ?? object["releases"], r.stdoutText)
        // A directory that is not a release is still one failed result.
        try run(["audit", path("rel"), path("model"), "--policy", policy], expect: 1)

        let show = try run(["dp", "budget", "--ledger", path("typo.db"), "--show", "--json"], expect: 2)
        XCTAssertTrue(show.stderrText.contains("no such ledger"), show.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("typo.db")))
    }
}
