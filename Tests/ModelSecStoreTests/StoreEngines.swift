import DifferentialPrivacy
import Foundation
import ModelSecIO
import ModelSecStore
import ModelSecStorePostgres
import TestSupport
import XCTest

/// One store of each engine, freshly migrated, for the suite that runs the
/// same expectations against both.
struct StoreEngine {
    /// "sqlite" or "postgres".
    var name: String
    /// The store URL (redacted form equals the text: no password).
    var url: String
    /// The environment that gives modelsec the password.
    var environment: [String: String]
    /// Opens the ledger through the library.
    func open() throws -> any PrivacyLedger & LedgerImporting {
        let saved = ProcessInfo.processInfo.environment["PGPASSWORD"]
        if let pw = environment["PGPASSWORD"] { setenv("PGPASSWORD", pw, 1) }
        defer { if let saved { setenv("PGPASSWORD", saved, 1) } else if environment["PGPASSWORD"] != nil { unsetenv("PGPASSWORD") } }
        return try LedgerStores.open(try StoreURL(parsing: url))
    }

    /// Runs a SQL statement directly on the store (tests that alter it).
    func sql(_ statement: String, cluster: PostgresCluster?) throws {
        if name == "sqlite" {
            let path = String(url.dropFirst("sqlite:".count))
            let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()", path, statement])
            guard r.status == 0 else { throw NSError(domain: "sqlite", code: 1, userInfo: [NSLocalizedDescriptionKey: r.stderrText]) }
        } else {
            let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
            try cluster!.psql(statement, database: database)
        }
    }
}

/// Base class: `engines()` gives a fresh migrated store of each engine.
class StoreEngineTestCase: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("store") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The shared PostgreSQL cluster; a failure to start it fails the test with the reason.
    func cluster() throws -> PostgresCluster {
        do { return try PostgresCluster.shared() } catch {
            XCTFail("PostgreSQL is required by this test and could not be started: \(error)")
            throw error
        }
    }

    /// A fresh unmigrated SQLite and PostgreSQL store.
    func emptyEngines() throws -> [StoreEngine] {
        let pg = try cluster()
        // An empty file, as an empty database is on PostgreSQL (a missing file is refused by `store status`).
        let file = dir.appendingPathComponent("\(UUID().uuidString).db").path
        guard FileManager.default.createFile(atPath: file, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        return [StoreEngine(name: "sqlite", url: "sqlite:" + file, environment: [:]),
                StoreEngine(name: "postgres", url: pg.url(try pg.makeDatabase()), environment: pg.environment)]
    }

    /// Starts a psql session that locks `dataset`'s row and then runs
    /// `pg_sleep(sleep)` (psql sends both as one transaction, so the row stays
    /// locked until the sleep ends), and returns once the lock is held: the
    /// session waits in `pg_sleep` (wait event PgSleep), so the `FOR UPDATE`
    /// before it has completed. (Its `state` is `active` from the start of
    /// the query string, before the row is locked.) Also returns when the row
    /// is released at the earliest: the query's start on the server's clock
    /// plus `sleep` seconds.
    func holdDatasetRow(_ dataset: String, database: String, sleep: String, cluster pg: PostgresCluster) throws -> (process: Process, releasedNotBefore: Date) {
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        holder.arguments = ["-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.user, "-d", database, "-At", "-c",
                            "SELECT 1 FROM dp_datasets WHERE name = '\(dataset)' FOR UPDATE; SELECT pg_sleep(\(sleep))"]
        holder.environment = ProcessInfo.processInfo.environment.merging(["PGPASSWORD": pg.password]) { $1 }
        holder.standardInput = FileHandle.nullDevice
        holder.standardOutput = FileHandle.nullDevice
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        let holding = "SELECT extract(epoch FROM query_start) FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
            + "AND query LIKE '%pg_sleep(\(sleep))%' AND pid <> pg_backend_pid()"
        let deadline = Date().addingTimeInterval(60)
        var started: Double?
        while Date() < deadline, holder.isRunning {
            if let text = try? pg.psql(holding, database: database), let value = Double(text) { started = value; break }
            usleep(20_000)
        }
        guard let started else {
            if holder.isRunning { holder.terminate() }
            throw NSError(domain: "holdDatasetRow", code: 1, userInfo: [NSLocalizedDescriptionKey: "the psql session never held the row of \(dataset)"])
        }
        return (holder, Date(timeIntervalSince1970: started + (Double(sleep) ?? 0)))
    }

    /// A fresh migrated store of each engine.
    func engines() throws -> [StoreEngine] {
        let list = try emptyEngines()
        for e in list {
            let r = try TestSupport.modelsec(["store", "migrate", "--store", e.url, "--json"], environment: e.environment)
            XCTAssertEqual(r.status, 0, "\(e.name): \(r.stderrText)")
        }
        return list
    }

    /// The machine-readable code of a library error.
    func code(_ error: any Error) -> String { (error as? any ModelSecError)?.code ?? "\(type(of: error)): \(error)" }

    /// The error code in the envelope of a `--json` run.
    func errorCode(_ r: TestSupport.ProcessResult) -> String? { Self.errorCode(r) }

    /// The error code in the envelope of a `--json` run (for closures that may not capture the test case).
    static func errorCode(_ r: TestSupport.ProcessResult) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any],
              let error = object["error"] as? [String: Any] else { return nil }
        return error["code"] as? String
    }
}
