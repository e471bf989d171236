import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// A test case with a temporary directory and helpers for CSV files, the
/// `modelsec dp` command line and direct SQL on a ledger (through Python's
/// sqlite3 module, an independent client).
class DPFileTestCase: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("dp") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Writes `text` to `name` in the directory and returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }

    /// Writes `bytes` to `name` in the directory and returns its path.
    func write(_ name: String, _ bytes: Data) throws -> String {
        let url = dir.appendingPathComponent(name)
        try bytes.write(to: url)
        return url.path
    }

    /// A path in the directory.
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// `modelsec dp ARGS`.
    func dp(_ args: [String]) throws -> TestSupport.ProcessResult { try TestSupport.modelsec(["dp"] + args) }

    /// Runs SQL statements on the SQLite file at `db` with Python's sqlite3
    /// (autocommit), printing the rows of the last statement as repr().
    @discardableResult
    func sql(_ db: String, _ statements: [String]) throws -> String {
        let script = """
        import sqlite3, sys, json
        c = sqlite3.connect(sys.argv[1], isolation_level=None)
        rows = []
        for s in json.loads(sys.argv[2]):
            if s.rstrip().endswith(';'):
                c.executescript(s)
            else:
                rows = c.execute(s).fetchall()
        print(repr(rows))
        """
        let json = String(decoding: try JSONSerialization.data(withJSONObject: statements), as: UTF8.self)
        let r = try TestSupport.run("python3", ["-c", script, db, json])
        XCTAssertEqual(r.status, 0, r.stderrText)
        return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The charges of `dataset` through `dp budget --show --json`.
    func charges(_ db: String, _ dataset: String) throws -> [SpendRecord] {
        struct Report: Decodable { var status: BudgetStatus; var releases: [SpendRecord] }
        let r = try dp(["budget", "--ledger", db, "--dataset", dataset, "--show", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        return try JSONDecoder().decode(Report.self, from: r.stdout).releases
    }
}
