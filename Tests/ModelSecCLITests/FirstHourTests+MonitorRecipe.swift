import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 16. The monitor's cron recipe from its first run

    /// The recipe of docs/transparency-log.md, as written there (placeholders
    /// filled), works on the first run (no last.checkpoint yet) and after.
    func testMonitorRecipeWorksFromTheFirstRun() throws {
        let doc = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("docs/transparency-log.md"), encoding: .utf8)
        let start = try XCTUnwrap(doc.range(of: "modelsec log monitor DIR --log-key VKEY --key-id <your key id> \\\n"))
        let end = try XCTUnwrap(doc.range(of: "\n", range: doc.index(after: start.upperBound)..<doc.endIndex))
        let recipe = String(doc[start.lowerBound..<end.lowerBound]).replacingOccurrences(of: "\\\n", with: " ")
        try makeRelease()
        try run(["keygen", "--type", "ed25519", "--out", path("log.pem")])
        let vkey = try run(["log", "init", "--origin", "example.com/m", "--key", path("log.pem"), path("DIR")]).stdoutText
        try vkey.write(toFile: path("VKEY"), atomically: true, encoding: .utf8)
        try run(["log", "append", path("DIR"), "--key", path("log.pem"), "--release", path("rel")])
        let keyID = try run(["key", "inspect", path("release.pem.pub"), "--json"])
        let id = try XCTUnwrap((try JSONSerialization.jsonObject(with: keyID.stdout) as? [String: Any])?["keyId"] as? String, keyID.stdoutText)
        let words = recipe.replacingOccurrences(of: "<your key id>", with: id).split(separator: " ").map(String.init)
        XCTAssertEqual(words.prefix(3), ["modelsec", "log", "monitor"])
        let first = try run(Array(words.dropFirst()))
        let releases = (try JSONSerialization.jsonObject(with: first.stdout) as? [String: Any])?["releases"] as? [[String: Any]]
        XCTAssertEqual(releases?.count, 1, first.stdoutText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("last.checkpoint")))
        let second = try run(Array(words.dropFirst()))
        XCTAssertEqual(((try JSONSerialization.jsonObject(with: second.stdout) as? [String: Any])?["releases"] as? [Any])?.count, 0)
        // A missing --since that is not the saved file is still an error.
        try run(["log", "monitor", path("DIR"), "--log-key", path("VKEY"), "--key-id", id, "--since", path("typo.checkpoint")], expect: 2)
    }
}
