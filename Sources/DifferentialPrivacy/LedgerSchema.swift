import GRDB
import ModelSecStore

/// The privacy ledger's SQLite schema, and its verification when a ledger
/// is opened.
///
/// A ledger is identified by `PRAGMA application_id` = 0x4D534C47 ("MSLG")
/// and `PRAGMA user_version` = ``version``. On open, every object in
/// `sqlite_master` (tables, indexes, triggers, with their exact SQL text)
/// must equal what this version creates, and `PRAGMA quick_check` (which
/// also re-checks every CHECK and NOT NULL constraint on the stored rows)
/// and `PRAGMA foreign_key_check` must pass; anything else is refused. So a
/// table without its CHECK constraints, an added trigger or view, a row
/// written with constraints disabled, or a ledger from a newer modelsec is
/// never used. Version 1 (modelsec before per-dataset relations) and
/// version 2 (before zCDP charges) ledgers are recognised by their exact
/// schemas and upgraded to version 3 (``LedgerMigration``).
enum LedgerSchema {
    /// "MSLG".
    static let applicationID: Int32 = 0x4D53_4C47
    /// The schema version this code reads and writes.
    static let version: Int32 = 7

    /// The statements that create schema version 6: version 4 plus each
    /// dataset's running sums (``sumsStatements``). There is no SQLite
    /// ledger version 5: the numbers are shared with the PostgreSQL store,
    /// whose version 5 added tables that live outside the ledger file.
    static let statements: [String] = version6Statements + ReleaseLogSchema.sqliteStatements

    /// Version 6: version 4 plus the running sums; recognised and upgraded
    /// to version 7, which adds the transparency log's tables
    /// (``ModelSecStore/ReleaseLogSchema``) and changes no ledger row.
    static let version6Statements: [String] = version4Statements + sumsStatements

    /// Version 4: version 3 plus the request ids of idempotent charges
    /// (``requestStatements``), recognised and upgraded.
    static let version4Statements: [String] = version3Statements + requestStatements

    /// What version 6 adds: the dataset row's running sums
    /// (``LedgerRules/sumColumns``) and the trigger that adds every inserted
    /// charge to them, so they hold whoever inserts the charge. A charge
    /// reads them instead of summing every charge of the dataset; an upgrade
    /// fills them from the existing charges (``LedgerRules/sumsBackfill(datasets:spends:)``),
    /// and `store status` recomputes and compares them.
    static let sumsStatements: [String] = LedgerRules.sumColumns.map {
        "ALTER TABLE datasets ADD COLUMN \($0) INTEGER NOT NULL DEFAULT 0 CHECK (\($0) >= 0)"
    } + [
        """
        CREATE TRIGGER spends_add_to_sums AFTER INSERT ON spends
        BEGIN UPDATE datasets SET \(LedgerRules.sumsIncrement(new: "NEW")) WHERE name = NEW.dataset; END
        """,
    ]

    /// What version 4 adds: `charge_requests`, one row per charge made
    /// under a request id (`position` orders a multi-charge request), with
    /// the hex SHA-256 fingerprint of the requests (``LedgerRules/fingerprint(_:_:)``);
    /// rows are never updated or deleted.
    static let requestStatements: [String] = [
        """
        CREATE TABLE charge_requests (
            request_id TEXT NOT NULL CHECK (length(request_id) BETWEEN 1 AND 200),
            position INTEGER NOT NULL CHECK (position >= 0),
            spend_id INTEGER NOT NULL UNIQUE REFERENCES spends(id),
            fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
            PRIMARY KEY (request_id, position)
        ) STRICT
        """,
        """
        CREATE TRIGGER charge_requests_are_kept BEFORE DELETE ON charge_requests
        BEGIN SELECT RAISE(ABORT, 'privacy ledger request ids cannot be deleted'); END
        """,
        """
        CREATE TRIGGER charge_requests_are_fixed BEFORE UPDATE ON charge_requests
        BEGIN SELECT RAISE(ABORT, 'privacy ledger request ids cannot be changed'); END
        """,
    ]

    // The statements versions 2 and 3 share, byte for byte (an old ledger is
    // recognised by the exact text SQLite keeps of each).
    static let datasetsTable =
        """
        CREATE TABLE datasets (
            name TEXT PRIMARY KEY NOT NULL CHECK (length(name) > 0),
            relation TEXT NOT NULL CHECK (relation IN ('add-remove', 'replace-one')),
            total_epsilon_nano INTEGER NOT NULL CHECK (total_epsilon_nano >= 0),
            total_delta_femto INTEGER NOT NULL CHECK (total_delta_femto >= 0 AND total_delta_femto < 1000000000000000),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT
        """
    static let spendsIndex = "CREATE INDEX spends_dataset ON spends(dataset)"
    static let spendsAppendOnly =
        """
        CREATE TRIGGER spends_are_append_only BEFORE DELETE ON spends
        BEGIN SELECT RAISE(ABORT, 'privacy ledger charges cannot be deleted'); END
        """
    static let datasetsKept =
        """
        CREATE TRIGGER datasets_are_kept BEFORE DELETE ON datasets
        BEGIN SELECT RAISE(ABORT, 'privacy ledger datasets cannot be deleted'); END
        """
    static let datasetsKeepNameAndRelation =
        """
        CREATE TRIGGER datasets_keep_name_and_relation BEFORE UPDATE ON datasets
        WHEN NEW.name IS NOT OLD.name
            OR (NEW.relation IS NOT OLD.relation AND EXISTS (SELECT 1 FROM spends WHERE dataset = OLD.name))
        BEGIN SELECT RAISE(ABORT, 'a dataset keeps its name, and its neighbouring relation once it has charges'); END
        """

    /// Version 3 (version 2 plus `spends.rho_femto`, the zCDP rho of a
    /// Gaussian charge), recognised and upgraded.
    static let version3Statements: [String] = frozenStatements(rho: true)

    /// Version 2 (per-dataset relations and outcomes; no rho), recognised and upgraded.
    static let version2Statements: [String] = frozenStatements(rho: false)

    /// Versions 2 and 3, which differ only in `spends.rho_femto` and in the
    /// completion trigger's check that it never changes. The text is SQLite's
    /// record of each object, byte for byte (version 3 inserts the column and
    /// the check; nothing else moves).
    private static func frozenStatements(rho: Bool) -> [String] {
        let rhoColumn = rho ? "\n    rho_femto INTEGER CHECK (rho_femto IS NULL OR rho_femto >= 0)," : ""
        let rhoFixed = rho ? " OR NEW.rho_femto IS NOT OLD.rho_femto" : ""
        return [
            datasetsTable,
            """
            CREATE TABLE spends (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                dataset TEXT NOT NULL REFERENCES datasets(name),
                relation TEXT NOT NULL CHECK (relation IN ('add-remove', 'replace-one')),
                epsilon_nano INTEGER NOT NULL CHECK (epsilon_nano >= 0),
                delta_femto INTEGER NOT NULL CHECK (delta_femto >= 0 AND delta_femto <= 1000000000000000),\(rhoColumn)
                mechanism TEXT NOT NULL,
                parameters TEXT NOT NULL,
                created_at TEXT NOT NULL,
                outcome TEXT NOT NULL CHECK (outcome IN ('charged', 'released', 'failed', 'adjustment')),
                data_sha256 TEXT CHECK (data_sha256 IS NULL OR (length(data_sha256) = 64 AND data_sha256 NOT GLOB '*[^0-9a-f]*')),
                result_sha256 TEXT CHECK (result_sha256 IS NULL OR (length(result_sha256) = 64 AND result_sha256 NOT GLOB '*[^0-9a-f]*')),
                CHECK ((outcome = 'released') = (result_sha256 IS NOT NULL))
            ) STRICT
            """,
            spendsIndex,
            spendsAppendOnly,
            """
            CREATE TRIGGER spends_complete_once BEFORE UPDATE ON spends
            WHEN OLD.outcome != 'charged' OR NEW.outcome NOT IN ('released', 'failed')
                OR NEW.id IS NOT OLD.id OR NEW.dataset IS NOT OLD.dataset OR NEW.relation IS NOT OLD.relation
                OR NEW.epsilon_nano IS NOT OLD.epsilon_nano OR NEW.delta_femto IS NOT OLD.delta_femto\(rhoFixed)
                OR NEW.mechanism IS NOT OLD.mechanism OR NEW.parameters IS NOT OLD.parameters OR NEW.created_at IS NOT OLD.created_at
            BEGIN SELECT RAISE(ABORT, 'a privacy ledger charge is completed once and its cost never changes'); END
            """,
            datasetsKept,
            datasetsKeepNameAndRelation,
        ]
    }

    /// Version 1 (modelsec's first ledger, created through GRDB's migrator).
    static let version1Statements: [String] = [
        """
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
        """,
        "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)",
    ]

    /// One row of `sqlite_master`.
    struct Object: Hashable, Comparable {
        var type: String, name: String, table: String, sql: String?
        static func < (a: Object, b: Object) -> Bool { (a.type, a.name) < (b.type, b.name) }
    }

    /// The schema objects of a database, in a stable order.
    static func objects(_ db: Database) throws -> [Object] {
        try Row.fetchAll(db, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master").map {
            Object(type: $0["type"], name: $0["name"], table: $0["tbl_name"], sql: $0["sql"])
        }.sorted()
    }

    /// The objects `statements` create, read back from an in-memory database
    /// (so SQLite's own normalisation of the text is reproduced exactly).
    static func expectedObjects(_ statements: [String]) throws -> [Object] {
        let memory = try DatabaseQueue()
        return try memory.write { db in
            for s in statements { try db.execute(sql: s) }
            return try objects(db)
        }
    }

    /// Creates `statements` (default: the current schema) in an empty
    /// database and stamps it with `version` (inside the caller's transaction).
    static func create(_ db: Database, statements: [String] = statements, version: Int32 = version) throws {
        for s in statements { try db.execute(sql: s) }
        try db.execute(sql: "PRAGMA application_id = \(applicationID)")
        try db.execute(sql: "PRAGMA user_version = \(version)")
    }

    /// What opening a database finds.
    enum State {
        /// No objects: a new ledger is created.
        case empty
        /// An exact version 1 ledger: it is upgraded.
        case version1
        /// A verified version 2 ledger: it is upgraded.
        case version2
        /// A verified version 3 ledger: it is upgraded.
        case version3
        /// A verified version 4 ledger: it is upgraded.
        case version4
        /// A verified version 6 ledger: it is upgraded.
        case version6
        /// A verified ledger of this version.
        case current
    }

    /// Recognises and verifies the database (read-only); throws a reason for
    /// a person if it is not a ledger this code may use.
    static func state(_ db: Database) throws -> State {
        let found = try objects(db)
        let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        let userVersion = try Int32.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        if found.isEmpty && applicationID == 0 && userVersion == 0 { return .empty }
        if applicationID == Self.applicationID {
            guard userVersion <= version else {
                throw LedgerSchemaError.newer(found: Int(userVersion))
            }
            let known: [Int32: [String]] = [version: statements, 6: version6Statements, 4: version4Statements, 3: version3Statements, 2: version2Statements]
            guard let versionStatements = known[userVersion] else { throw LedgerSchemaError("unknown ledger schema version \(userVersion)") }
            let expected = try expectedObjects(versionStatements)
            guard found == expected else { throw LedgerSchemaError(difference(found: found, expected: expected, version: userVersion)) }
        } else if applicationID == 0, userVersion == 0, try found == expectedObjects(version1Statements),
                  try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") == ["v1"] {
            return .version1
        } else if applicationID == 0, found.contains(where: { $0.type == "table" && $0.name == "clients" }),
                  found.contains(where: { $0.type == "table" && $0.name == "used_assertions" }) {
            throw LedgerSchemaError("this is a token service state file (modelsec serve's clients, replay cache and audit), not a privacy ledger")
        } else {
            throw LedgerSchemaError("not a modelsec privacy ledger (no ledger application id and no known schema)")
        }
        let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
        guard check == ["ok"] else {
            throw LedgerSchemaError("fails SQLite's integrity check (\(check.first ?? "")); a row may have been written with its constraints disabled")
        }
        guard try Row.fetchOne(db, sql: "PRAGMA foreign_key_check") == nil else {
            throw LedgerSchemaError("a charge refers to a dataset that does not exist")
        }
        switch userVersion {
        case version: return .current
        case 6: return .version6
        case 4: return .version4
        case 3: return .version3
        default: return .version2
        }
    }

    /// Creates or upgrades the schema if needed and verifies it, inside the
    /// caller's exclusive transaction.
    static func prepare(_ db: Database) throws {
        switch try state(db) {
        case .empty: try create(db)
        case .version1:
            try LedgerMigration.upgradeVersion1(db)
            try LedgerMigration.upgradeVersion2(db)
        case .version2: try LedgerMigration.upgradeVersion2(db)
        case .version3:
            try LedgerMigration.upgradeVersion3(db)
            try LedgerMigration.upgradeVersion4(db)
            try LedgerMigration.upgradeVersion6(db)
        case .version4:
            try LedgerMigration.upgradeVersion4(db)
            try LedgerMigration.upgradeVersion6(db)
        case .version6: try LedgerMigration.upgradeVersion6(db)
        case .current: return
        }
        guard case .current = try state(db) else { throw LedgerSchemaError("the new schema does not verify") }
    }

    /// The first difference between two schemas, for a person.
    static func difference(found: [Object], expected: [Object], version: Int32) -> String {
        let expectedNames = Dictionary(expected.map { ("\($0.type) \($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
        let foundNames = Dictionary(found.map { ("\($0.type) \($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
        for (key, object) in foundNames.sorted(by: { $0.key < $1.key }) {
            guard let want = expectedNames[key] else { return "schema altered: unexpected \(key)" }
            if want != object { return "schema altered: \(key) differs from schema version \(version) (constraints removed or changed)" }
        }
        for key in expectedNames.keys.sorted() where foundNames[key] == nil { return "schema altered: \(key) is missing" }
        return "schema altered"
    }
}

/// Why a ledger file was refused.
struct LedgerSchemaError: Error, CustomStringConvertible {
    let description: String
    /// The version found, when the ledger is newer than this code.
    var newerVersion: Int?
    init(_ description: String) { self.description = description }

    /// A ledger written by a newer modelsec.
    static func newer(found: Int) -> LedgerSchemaError {
        var e = LedgerSchemaError("written by a newer modelsec (ledger schema version \(found); this modelsec reads versions 1 to \(LedgerSchema.version))")
        e.newerVersion = found
        return e
    }
}
