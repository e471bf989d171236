import Foundation
import TestSupport
import XCTest

/// Regressions of the class "a command reports success and fails anyway, or
/// fails without its own code": `policy lint --json` printed `"ok": true`
/// and exited 1; the `dp` commands ended in `CLI.fail` with the generic
/// codes; `dp budget --show --json` put its list under `result`; an invalid
/// audit policy lost its code.
final class CommandFailureEnvelopeTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("failure-envelope") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Runs modelsec with `--json` and returns the exit status and the one document.
    func json(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, doc: [String: Any]) {
        let r = try TestSupport.modelsec(arguments + ["--json"])
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any],
                                "\(arguments.joined(separator: " ")): stdout is not one JSON object: \(r.stdoutText)", file: file, line: line)
        XCTAssertEqual(doc["ok"] as? Bool, r.status == 0, "ok must say whether the command succeeded", file: file, line: line)
        if r.status != 0 {
            XCTAssertEqual((doc["error"] as? [String: Any])?["exitCode"] as? Int, Int(r.status), file: file, line: line)
        }
        return (r.status, doc)
    }

    func code(_ doc: [String: Any]) -> String? { (doc["error"] as? [String: Any])?["code"] as? String }

    func testPolicyLintWithProblemsIsOneFailureDocument() throws {
        try "name: broken\nversion: \"1\"\nrules:\n  - id: A\n    title: t\n    severity: maybe\n    check: nosuch\n"
            .write(toFile: path("broken.yaml"), atomically: true, encoding: .utf8)
        let r = try json(["policy", "lint", path("broken.yaml")])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(code(r.doc), "policy.lint-problems")
        XCTAssertEqual(r.doc["valid"] as? Bool, false)
        XCTAssertGreaterThanOrEqual((r.doc["problems"] as? [Any])?.count ?? 0, 2, "the problems ride beside the error")
        let valid = try json(["policy", "lint", TestSupport.repositoryRoot.appendingPathComponent("policies/baseline.yaml").path])
        XCTAssertEqual(valid.status, 0)
        XCTAssertEqual(valid.doc["valid"] as? Bool, true)

        // The audit refuses the same policy with its own code and the lint hint.
        let audit = try TestSupport.modelsec(["audit", dir.path, "--policy", path("broken.yaml"), "--json"])
        XCTAssertEqual(audit.status, 2, audit.stderrText)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: audit.stdout) as? [String: Any])
        XCTAssertEqual(code(doc), "policy.invalid")
        XCTAssertTrue(audit.stderrText.contains("modelsec policy lint"), audit.stderrText)
    }

    func testDPSGDFailuresCarryTheirOwnCodes() throws {
        let unreachable = try json(["dp", "sgd", "--target-epsilon", "1e-9", "--sample-rate", "1", "--steps", "100", "--delta", "1e-5"])
        XCTAssertEqual(unreachable.status, 1)
        XCTAssertEqual(code(unreachable.doc), "dp.target-epsilon-unreachable")
        let usage = try json(["dp", "sgd", "--sample-rate", "2", "--delta", "1e-5", "--steps", "10", "--noise-multiplier", "1"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertEqual(code(usage.doc), "usage.invalid-arguments")
    }

    func testDPLibraryErrorsKeepTheirCodesAndGetTheFlagHint() throws {
        try "v\n1\n2\n".write(toFile: path("d.csv"), atomically: true, encoding: .utf8)
        let r = try TestSupport.modelsec(["dp", "release", "--input", path("d.csv"), "--column", "v", "--statistic", "count", "--epsilon", "1",
                                         "--ledger", path("l.db"), "--dataset", "nope", "--json"])
        XCTAssertEqual(r.status, 2, r.stderrText)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual(code(doc), "dp.unknown-dataset")
        XCTAssertTrue(((doc["error"] as? [String: Any])?["message"] as? String ?? "").contains("modelsec dp budget --ledger DB"), "\(doc)")
    }

    func testDPBudgetShowListsEveryDatasetByName() throws {
        for name in ["b", "a"] {
            XCTAssertEqual(try json(["dp", "budget", "--ledger", path("l.db"), "--dataset", name, "--set-total", "1"]).status, 0)
        }
        let r = try json(["dp", "budget", "--ledger", path("l.db"), "--show"])
        XCTAssertEqual(r.status, 0)
        XCTAssertNil(r.doc["result"], "a list under 'result' is no proper result")
        XCTAssertEqual(r.doc["ledger"] as? String, path("l.db"))
        XCTAssertEqual(Set(((r.doc["datasets"] as? [[String: Any]]) ?? []).compactMap { $0["dataset"] as? String }), ["a", "b"])
    }
}
