import DifferentialPrivacy
import ModelSecIO
import Foundation
import TestSupport
import XCTest

/// Regression (issue #22, the ledger trusted its file): a table without its
/// CHECK constraints accepted a spend of -5. The schema, its version and
/// the stored rows are now verified on open; each charge records the
/// SHA-256 of the input data; large deltas need --force.
final class LedgerIntegrityTests: DPFileTestCase {
    /// The version 1 schema without CHECK constraints, as another tool (or a
    /// hand edit) could have written it.
    static let uncheckedSchema = [
        "CREATE TABLE datasets (name TEXT PRIMARY KEY NOT NULL, total_epsilon_nano INTEGER NOT NULL, total_delta_femto INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE TABLE spends (id INTEGER PRIMARY KEY AUTOINCREMENT, dataset TEXT NOT NULL REFERENCES datasets(name), epsilon_nano INTEGER NOT NULL, delta_femto INTEGER NOT NULL, mechanism TEXT NOT NULL, parameters TEXT NOT NULL, created_at TEXT NOT NULL, result_sha256 TEXT NOT NULL)",
        "CREATE INDEX spends_dataset ON spends(dataset)",
        "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)",
        "INSERT INTO grdb_migrations VALUES ('v1')",
        "INSERT INTO datasets VALUES ('d', 1000000000, 0, 't', 't')",
        "INSERT INTO spends (dataset, epsilon_nano, delta_femto, mechanism, parameters, created_at, result_sha256) VALUES ('d', -5000000000, 0, 'm', '{}', 't', 'x')",
    ]

    func testLedgerWithoutCheckConstraintsIsRefused() throws {
        let db = path("unchecked.db")
        try sql(db, Self.uncheckedSchema)
        let csv = try write("d.csv", "v\n1\n")
        for args in [["budget", "--ledger", db, "--show"],
                     ["release", "--input", csv, "--column", "v", "--statistic", "count", "--epsilon", "3", "--ledger", db, "--dataset", "d"]] {
            let r = try dp(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stdoutText)")
            XCTAssertTrue(r.stderrText.contains("refused"), r.stderrText)
        }
        XCTAssertThrowsError(try SQLitePrivacyLedger(path: db))
    }

    func testRowsWrittenWithConstraintsDisabledAreRefused() throws {
        let db = path("l.db")
        try SQLitePrivacyLedger(path: db).setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1))
        try sql(db, ["PRAGMA ignore_check_constraints = 1",
                     "INSERT INTO spends (dataset, relation, epsilon_nano, delta_femto, mechanism, parameters, created_at, outcome) VALUES ('d', 'add-remove', -5000000000, 0, 'm', '{}', 't', 'charged')"])
        XCTAssertThrowsError(try SQLitePrivacyLedger(path: db)) { XCTAssertTrue("\($0)".contains("integrity"), "\($0)") }
    }

    func testAlteredOrNewerSchemasAreRefused() throws {
        let alterations: [(String, [String])] = [
            ("trigger", ["CREATE TRIGGER t AFTER INSERT ON spends BEGIN DELETE FROM spends WHERE id = NEW.id; END"]),
            ("view", ["CREATE VIEW v AS SELECT * FROM spends"]),
            ("newer", ["PRAGMA user_version = 8"]),
            ("dropped trigger", ["DROP TRIGGER spends_are_append_only"]),
            ("foreign", ["PRAGMA application_id = 1"]),
        ]
        for (name, statements) in alterations {
            let db = path("\(name).db")
            try SQLitePrivacyLedger(path: db).setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1))
            try sql(db, statements)
            XCTAssertThrowsError(try SQLitePrivacyLedger(path: db), name) { error in
                XCTAssertEqual((error as? any ModelSecError)?.category, .invalidInput)
                if name == "newer" { XCTAssertEqual((error as? any ModelSecError)?.code, "store.newer-schema", "\(error)") }
            }
        }
        // Not a database at all.
        XCTAssertThrowsError(try SQLitePrivacyLedger(path: try write("text.db", "not a database, just text\n")))
    }

    func testChargesCannotBeDeletedOrRewritten() throws {
        let db = path("l.db")
        let ledger = try SQLitePrivacyLedger(path: db)
        try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1))
        _ = try ledger.spend(ChargeRequest(dataset: "d", cost: PrivacyCost(epsilon: 0.5), relation: .addRemove, mechanism: "m", parameters: "{}")) {
            (0, [1], nil)
        }
        for statement in ["DELETE FROM spends", "UPDATE spends SET epsilon_nano = 0", "UPDATE spends SET outcome = 'failed'",
                          "DELETE FROM datasets", "UPDATE datasets SET relation = 'replace-one'"] {
            let script = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\ntry:\n    c.execute(sys.argv[2]); print('allowed')\nexcept sqlite3.DatabaseError as e:\n    print('refused')"
            let r = try TestSupport.run("python3", ["-c", script, db, statement])
            XCTAssertEqual(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "refused", statement)
        }
        XCTAssertEqual(try ledger.status(dataset: "d").spent.epsilon, 0.5)
    }

    /// A ledger written by the first modelsec (schema version 1, through
    /// GRDB's migrator) is upgraded: relations taken from each charge's
    /// parameters, and a dataset charged under both relations is fixed to
    /// replace-one with an adjustment charge for its add-remove releases.
    func testVersion1LedgerIsUpgradedAndMixedRelationsArePriced() throws {
        let db = path("v1.db")
        let v1 = LedgerSchemaFixture.version1
        try sql(db, [v1, "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)",
                     "INSERT INTO grdb_migrations VALUES ('v1')",
                     "INSERT INTO datasets VALUES ('mixed', 5000000000, 1000000000, 't0', 't0')",
                     "INSERT INTO datasets VALUES ('plain', 5000000000, 0, 't0', 't0')",
                     "INSERT INTO spends (dataset, epsilon_nano, delta_femto, mechanism, parameters, created_at, result_sha256) VALUES ('mixed', 500000000, 1000, 'discrete-gaussian', '{\"relation\":\"add-remove\"}', 't1', '\(String(repeating: "a", count: 64))')",
                     "INSERT INTO spends (dataset, epsilon_nano, delta_femto, mechanism, parameters, created_at, result_sha256) VALUES ('mixed', 250000000, 0, 'discrete-laplace', '{\"relation\":\"replace-one\"}', 't2', '\(String(repeating: "b", count: 64))')",
                     "INSERT INTO spends (dataset, epsilon_nano, delta_femto, mechanism, parameters, created_at, result_sha256) VALUES ('plain', 100000000, 0, 'discrete-laplace', '{\"relation\":\"add-remove\"}', 't3', '\(String(repeating: "c", count: 64))')"])
        let ledger = try SQLitePrivacyLedger(path: db)
        XCTAssertEqual(try ledger.status(dataset: "plain").relation, .addRemove)
        XCTAssertEqual(try ledger.status(dataset: "plain").spent.epsilon, 0.1, accuracy: 1e-12)
        let mixed = try ledger.status(dataset: "mixed")
        XCTAssertEqual(mixed.relation, .replaceOne)
        // 0.5 + 0.25 charged, plus 0.5 again for the add-remove release; its delta 1e-12 costs e^0.5 * 1e-12 more.
        XCTAssertEqual(mixed.spent.epsilon, 1.25, accuracy: 1e-12)
        XCTAssertEqual(mixed.spent.delta, 1e-12 + (exp(0.5) * 1000).rounded(.up) * 1e-15, accuracy: 1e-18)
        let spends = try ledger.spends(dataset: "mixed")
        XCTAssertEqual(spends.map(\.outcome), [.released, .released, .adjustment])
        XCTAssertEqual(spends.map(\.relation), [.addRemove, .replaceOne, .replaceOne])
        XCTAssertEqual(spends[0].resultSHA256, String(repeating: "a", count: 64))
        // Opening again finds a verified (version 3) ledger.
        XCTAssertEqual(try SQLitePrivacyLedger(path: db).spends(dataset: "mixed").count, 3)
    }

    func testEveryChargeRecordsTheDigestOfTheInputData() throws {
        let csv = try write("d.csv", "v\n" + (0..<1000).map { "\($0)" }.joined(separator: "\n") + "\n")
        let db = path("l.db")
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "2"]).status, 0)
        let r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "sum", "--bounds", "0,1000", "--epsilon", "1",
                        "--ledger", db, "--dataset", "d"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let digest = String(try TestSupport.run("sha256sum", [csv]).stdoutText.prefix(64))
        let recorded = try charges(db, "d")
        XCTAssertEqual(recorded.map(\.dataSHA256), [digest])
        XCTAssertEqual(recorded.map(\.outcome), [.released])
        XCTAssertFalse(r.stdoutText.contains(digest), "the data digest is the curator's, not part of the published release")
    }

    func testLargeDeltaNeedsForceAndDeltaAboveOneOverNWarns() throws {
        let db = path("l.db")
        var r = try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "2", "--delta", "0.01"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("--force"), r.stderrText)
        r = try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "2", "--delta", "0.01", "--force"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let csv = try write("d.csv", "v\n" + (0..<1500).map { "\($0 % 7)" }.joined(separator: "\n") + "\n")
        let base = ["release", "--input", csv, "--column", "v", "--statistic", "mean", "--bounds", "0,7", "--epsilon", "1",
                    "--mechanism", "gaussian", "--relation", "replace-one"]
        r = try dp(base + ["--delta", "0.01"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("--force"), r.stderrText)
        XCTAssertEqual(try dp(base + ["--delta", "0.01", "--force"]).status, 0)
        // n = 1500 is public under replace-one: delta 1e-3 >= 1/1500 is warned about.
        r = try dp(base + ["--delta", "1e-3"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("1/n"), r.stderrText)
        r = try dp(base + ["--delta", "1e-6"])
        XCTAssertFalse(r.stderrText.contains("1/n"), r.stderrText)
    }
}

/// Older ledger schemas exactly as earlier modelsec versions created them.
enum LedgerSchemaFixture {
    /// Version 2 (per-dataset relation, outcomes, data digests; no rho).
    static let version2: [String] = [
        """
        CREATE TABLE datasets (
            name TEXT PRIMARY KEY NOT NULL CHECK (length(name) > 0),
            relation TEXT NOT NULL CHECK (relation IN ('add-remove', 'replace-one')),
            total_epsilon_nano INTEGER NOT NULL CHECK (total_epsilon_nano >= 0),
            total_delta_femto INTEGER NOT NULL CHECK (total_delta_femto >= 0 AND total_delta_femto < 1000000000000000),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE spends (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dataset TEXT NOT NULL REFERENCES datasets(name),
            relation TEXT NOT NULL CHECK (relation IN ('add-remove', 'replace-one')),
            epsilon_nano INTEGER NOT NULL CHECK (epsilon_nano >= 0),
            delta_femto INTEGER NOT NULL CHECK (delta_femto >= 0 AND delta_femto <= 1000000000000000),
            mechanism TEXT NOT NULL,
            parameters TEXT NOT NULL,
            created_at TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('charged', 'released', 'failed', 'adjustment')),
            data_sha256 TEXT CHECK (data_sha256 IS NULL OR (length(data_sha256) = 64 AND data_sha256 NOT GLOB '*[^0-9a-f]*')),
            result_sha256 TEXT CHECK (result_sha256 IS NULL OR (length(result_sha256) = 64 AND result_sha256 NOT GLOB '*[^0-9a-f]*')),
            CHECK ((outcome = 'released') = (result_sha256 IS NOT NULL))
        ) STRICT
        """,
        "CREATE INDEX spends_dataset ON spends(dataset)",
        """
        CREATE TRIGGER spends_are_append_only BEFORE DELETE ON spends
        BEGIN SELECT RAISE(ABORT, 'privacy ledger charges cannot be deleted'); END
        """,
        """
        CREATE TRIGGER spends_complete_once BEFORE UPDATE ON spends
        WHEN OLD.outcome != 'charged' OR NEW.outcome NOT IN ('released', 'failed')
            OR NEW.id IS NOT OLD.id OR NEW.dataset IS NOT OLD.dataset OR NEW.relation IS NOT OLD.relation
            OR NEW.epsilon_nano IS NOT OLD.epsilon_nano OR NEW.delta_femto IS NOT OLD.delta_femto
            OR NEW.mechanism IS NOT OLD.mechanism OR NEW.parameters IS NOT OLD.parameters OR NEW.created_at IS NOT OLD.created_at
        BEGIN SELECT RAISE(ABORT, 'a privacy ledger charge is completed once and its cost never changes'); END
        """,
        """
        CREATE TRIGGER datasets_are_kept BEFORE DELETE ON datasets
        BEGIN SELECT RAISE(ABORT, 'privacy ledger datasets cannot be deleted'); END
        """,
        """
        CREATE TRIGGER datasets_keep_name_and_relation BEFORE UPDATE ON datasets
        WHEN NEW.name IS NOT OLD.name
            OR (NEW.relation IS NOT OLD.relation AND EXISTS (SELECT 1 FROM spends WHERE dataset = OLD.name))
        BEGIN SELECT RAISE(ABORT, 'a dataset keeps its name, and its neighbouring relation once it has charges'); END
        """,
    ]

    /// Version 1, as modelsec's first ledger created it through GRDB's migrator.
    static let version1 = """
        CREATE TABLE datasets (
            name TEXT PRIMARY KEY NOT NULL,
            total_epsilon_nano INTEGER NOT NULL CHECK (total_epsilon_nano >= 0),
            total_delta_femto INTEGER NOT NULL CHECK (total_delta_femto >= 0),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL);
        CREATE TABLE spends (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dataset TEXT NOT NULL REFERENCES datasets(name),
            epsilon_nano INTEGER NOT NULL CHECK (epsilon_nano >= 0),
            delta_femto INTEGER NOT NULL CHECK (delta_femto >= 0),
            mechanism TEXT NOT NULL,
            parameters TEXT NOT NULL,
            created_at TEXT NOT NULL,
            result_sha256 TEXT NOT NULL);
        CREATE INDEX spends_dataset ON spends(dataset);
        """
}
