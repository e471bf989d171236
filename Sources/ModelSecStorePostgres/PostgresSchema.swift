import DifferentialPrivacy
import ModelSecStore
import PostgresNIO

/// The PostgreSQL store's schema and its versioned migrations.
///
/// The store's version is the row of `modelsec_schema` (one row, `id` = 1);
/// the numbers are those of the SQLite ledger (`PRAGMA user_version`), so
/// "schema version N" means the same tables on both engines. PostgreSQL
/// stores start at version 4 (the first version with request ids).
/// One PostgreSQL database holds every part's tables; on SQLite each part
/// (the privacy ledger, the token service's state) is its own file with its
/// own tables, so a step that adds only one part's tables is a version of
/// that part's SQLite file alone (version 5, the token service's `tok_*`
/// tables, is the SQLite token state file's version 5 and no change to an
/// SQLite ledger, which may go from 4 straight to the next ledger step).
/// Each step is a self-contained entry of ``migrations``.
/// `migrate` runs each missing step in its own transaction under an
/// advisory lock, so two migrating processes never interleave; a store
/// whose version is newer than ``version`` is refused, never changed.
enum PostgresSchema {
    /// The version this code reads and writes.
    static let version = 7
    /// The advisory lock key that serialises migrations.
    static let migrationLock = "modelsec-store-migration"

    /// The steps: version reached, statements.
    static let migrations: [(version: Int, statements: [String])] = [(4, version4), (5, version5), (6, version6), (7, version7)]

    /// Version 4: the privacy ledger (the SQLite version 4 tables, with the
    /// same constraints; append-only and complete-once rules as triggers).
    static let version4: [String] = [
        """
        CREATE TABLE modelsec_schema (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL CHECK (version > 0),
            migrated_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE dp_datasets (
            name TEXT PRIMARY KEY CHECK (length(name) > 0),
            relation TEXT NOT NULL CHECK (relation IN ('add-remove', 'replace-one')),
            total_epsilon_nano BIGINT NOT NULL CHECK (total_epsilon_nano >= 0),
            total_delta_femto BIGINT NOT NULL CHECK (total_delta_femto >= 0 AND total_delta_femto < 1000000000000000),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE dp_spends (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            dataset TEXT NOT NULL REFERENCES dp_datasets(name),
            relation TEXT NOT NULL CHECK (relation IN ('add-remove', 'replace-one')),
            epsilon_nano BIGINT NOT NULL CHECK (epsilon_nano >= 0),
            delta_femto BIGINT NOT NULL CHECK (delta_femto >= 0 AND delta_femto <= 1000000000000000),
            rho_femto BIGINT CHECK (rho_femto IS NULL OR rho_femto >= 0),
            mechanism TEXT NOT NULL,
            parameters TEXT NOT NULL,
            created_at TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('charged', 'released', 'failed', 'adjustment')),
            data_sha256 TEXT CHECK (data_sha256 IS NULL OR data_sha256 ~ '^[0-9a-f]{64}$'),
            result_sha256 TEXT CHECK (result_sha256 IS NULL OR result_sha256 ~ '^[0-9a-f]{64}$'),
            CHECK ((outcome = 'released') = (result_sha256 IS NOT NULL))
        )
        """,
        "CREATE INDEX dp_spends_dataset ON dp_spends(dataset)",
        """
        CREATE TABLE dp_charge_requests (
            request_id TEXT NOT NULL CHECK (length(request_id) BETWEEN 1 AND 200),
            position INTEGER NOT NULL CHECK (position >= 0),
            spend_id BIGINT NOT NULL UNIQUE REFERENCES dp_spends(id),
            fingerprint TEXT NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
            PRIMARY KEY (request_id, position)
        )
        """,
        """
        CREATE FUNCTION modelsec_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'restrict_violation'; END
        $$
        """,
        """
        CREATE TRIGGER dp_spends_are_append_only BEFORE DELETE ON dp_spends
        FOR EACH ROW EXECUTE FUNCTION modelsec_refuse('privacy ledger charges cannot be deleted')
        """,
        """
        CREATE TRIGGER dp_spends_complete_once BEFORE UPDATE ON dp_spends FOR EACH ROW
        WHEN (OLD.outcome <> 'charged' OR NEW.outcome NOT IN ('released', 'failed')
            OR NEW.id IS DISTINCT FROM OLD.id OR NEW.dataset IS DISTINCT FROM OLD.dataset OR NEW.relation IS DISTINCT FROM OLD.relation
            OR NEW.epsilon_nano IS DISTINCT FROM OLD.epsilon_nano OR NEW.delta_femto IS DISTINCT FROM OLD.delta_femto
            OR NEW.rho_femto IS DISTINCT FROM OLD.rho_femto OR NEW.mechanism IS DISTINCT FROM OLD.mechanism
            OR NEW.parameters IS DISTINCT FROM OLD.parameters OR NEW.created_at IS DISTINCT FROM OLD.created_at)
        EXECUTE FUNCTION modelsec_refuse('a privacy ledger charge is completed once and its cost never changes')
        """,
        """
        CREATE TRIGGER dp_datasets_are_kept BEFORE DELETE ON dp_datasets
        FOR EACH ROW EXECUTE FUNCTION modelsec_refuse('privacy ledger datasets cannot be deleted')
        """,
        """
        CREATE TRIGGER dp_datasets_keep_name BEFORE UPDATE ON dp_datasets FOR EACH ROW
        WHEN (NEW.name IS DISTINCT FROM OLD.name)
        EXECUTE FUNCTION modelsec_refuse('a dataset keeps its name')
        """,
        """
        CREATE TRIGGER dp_charge_requests_are_kept BEFORE DELETE OR UPDATE ON dp_charge_requests
        FOR EACH ROW EXECUTE FUNCTION modelsec_refuse('privacy ledger request ids cannot be changed or deleted')
        """,
        """
        CREATE TRIGGER modelsec_schema_is_kept BEFORE DELETE ON modelsec_schema
        FOR EACH ROW EXECUTE FUNCTION modelsec_refuse('the schema version row cannot be deleted')
        """,
    ]

    /// Version 6: each dataset's running sums (the SQLite version 6
    /// columns), so a charge reads one row instead of summing every charge.
    /// They are kept by the database, not by the code that charges: an
    /// AFTER INSERT trigger on `dp_spends` adds each charge to its dataset's
    /// row (whoever inserts it), and a dataset's sums cannot be updated
    /// other than from that trigger. Existing charges are summed into the
    /// new columns by the migration (``LedgerRules/sumsBackfill``), and
    /// `store status` recomputes them from the charges
    /// (``LedgerRules/sumsMismatch``).
    static let version6: [String] = [
        "ALTER TABLE dp_datasets " + LedgerRules.sumColumns.map {
            "ADD COLUMN \($0) BIGINT NOT NULL DEFAULT 0 CHECK (\($0) >= 0)"
        }.joined(separator: ", "),
        LedgerRules.sumsBackfill(datasets: "dp_datasets", spends: "dp_spends"),
        """
        CREATE FUNCTION modelsec_add_charge() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE dp_datasets SET \(LedgerRules.sumsIncrement(new: "NEW")) WHERE name = NEW.dataset;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER dp_spends_add_to_sums AFTER INSERT ON dp_spends
        FOR EACH ROW EXECUTE FUNCTION modelsec_add_charge()
        """,
        """
        CREATE TRIGGER dp_datasets_sums_follow_charges BEFORE UPDATE ON dp_datasets FOR EACH ROW
        WHEN (pg_trigger_depth() = 0 AND (\(LedgerRules.sumColumns.map { "NEW." + $0 }.joined(separator: ", ")))
              IS DISTINCT FROM (\(LedgerRules.sumColumns.map { "OLD." + $0 }.joined(separator: ", "))))
        EXECUTE FUNCTION modelsec_refuse('a dataset''s running sums change only when a charge is added')
        """,
    ]

    /// Version 7: the transparency log's records (``ModelSecStore/ReleaseLogSchema``),
    /// the same tables as the SQLite ledger file's version 7.
    static let version7: [String] = ReleaseLogSchema.postgresStatements

    /// The store's version: 0 when it has no modelsec schema.
    static func foundVersion(_ connection: PostgresConnection) async throws -> Int {
        let exists = try await connection.query("SELECT to_regclass('modelsec_schema') IS NOT NULL", logger: PostgresSession.logger)
        var present = false
        for try await value in exists.decode(Bool.self) { present = value }
        guard present else { return 0 }
        let rows = try await connection.query("SELECT version FROM modelsec_schema WHERE id = 1", logger: PostgresSession.logger)
        var version = 0
        for try await value in rows.decode(Int32.self) { version = Int(value) }
        return version
    }

    /// The triggers that keep the ledger append-only; each must exist and be enabled.
    static let triggers: Set<String> = Set(["dp_spends_are_append_only", "dp_spends_complete_once", "dp_datasets_are_kept",
                                        "dp_datasets_keep_name", "dp_charge_requests_are_kept", "modelsec_schema_is_kept",
                                        "dp_spends_add_to_sums", "dp_datasets_sums_follow_charges"])
                                        .union(ReleaseLogSchema.postgresTriggers)

    /// Throws unless the store is at exactly ``version`` with every
    /// protecting trigger present and enabled (a disabled trigger would let
    /// a charge be deleted or rewritten).
    static func requireCurrent(_ session: PostgresSession) throws {
        let store = session.store
        try session.run { try await requireCurrent($0, store: store) }
    }

    /// ``requireCurrent(_:)`` on one connection (async callers).
    static func requireCurrent(_ c: PostgresConnection, store: String) async throws {
        let found = try await foundVersion(c)
        if found == 0 { throw StoreError.noSchema(store: store) }
        if found > version { throw StoreError.newerSchema(store: store, found: found, supported: version) }
        if found < version { throw StoreError.olderSchema(store: store, found: found, current: version) }
        let rows = try await c.query("""
            SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND t.tgenabled = 'O' AND c.oid IN
                (to_regclass('dp_spends'), to_regclass('dp_datasets'), to_regclass('dp_charge_requests'), to_regclass('modelsec_schema'),
                 to_regclass('tlog_logs'), to_regclass('tlog_entries'))
            """, logger: PostgresSession.logger)
        var enabled = Set<String>()
        for try await name in rows.decode(String.self) { enabled.insert(name) }
        if let missing = triggers.subtracting(enabled).sorted().first {
            throw StoreError.schemaAltered(store: store, reason: "trigger \(missing) is missing or disabled")
        }
        // A charge is acknowledged once its statement's rows are read, which
        // PostgreSQL sends before the commit: a check deferred to the commit
        // could then fail after the receipt was given.
        let deferred = try await c.query("""
            SELECT t.tgname FROM pg_trigger t
            WHERE t.tgdeferrable AND t.tgrelid IN (to_regclass('dp_spends'), to_regclass('dp_datasets'), to_regclass('dp_charge_requests'))
            ORDER BY t.tgname LIMIT 1
            """, logger: PostgresSession.logger)
        for try await name in deferred.decode(String.self) {
            throw StoreError.schemaAltered(store: store, reason: "\(name) is a deferrable trigger or constraint on the privacy ledger's tables")
        }
    }

    /// Brings the store to ``version``; returns (version before, version after).
    static func migrate(_ session: PostgresSession) throws -> (from: Int, to: Int) {
        let store = session.store
        return try session.serializable(lockKeys: [migrationLock]) { connection in
            let found = try await foundVersion(connection)
            if found > version { throw StoreError.newerSchema(store: store, found: found, supported: version) }
            for step in migrations where step.version > found {
                for statement in step.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: PostgresSession.logger)
                }
                let time = LedgerRules.now()
                let v = Int32(step.version)
                try await connection.query("""
                    INSERT INTO modelsec_schema (id, version, migrated_at) VALUES (1, \(v), \(time))
                    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, migrated_at = EXCLUDED.migrated_at
                    """, logger: PostgresSession.logger)
            }
            return (found, max(found, version))
        }
    }
}
