/// The transparency log's tables in the store (schema version 7), for both
/// engines: one row per log in `tlog_logs` (origin, verifier key, size, the
/// frontier of complete-subtree hashes, the latest signed checkpoint) and
/// one row per entry in `tlog_entries` (index, RFC 6962 leaf hash, the
/// entry's canonical bytes), unique per (origin, index) and per (origin,
/// leaf hash). Entries are never updated or deleted; a log is never deleted,
/// keeps its origin and key, and never shrinks.
public enum ReleaseLogSchema {
    /// The schema version that adds these tables.
    public static let version = 7

    /// The SQLite statements (inside the ledger file, STRICT tables).
    public static let sqliteStatements: [String] = [
        """
        CREATE TABLE tlog_logs (
            origin TEXT PRIMARY KEY NOT NULL CHECK (length(CAST(origin AS BLOB)) BETWEEN 1 AND 1024),
            vkey TEXT NOT NULL CHECK (length(vkey) BETWEEN 1 AND 2048),
            size INTEGER NOT NULL CHECK (size >= 0),
            frontier BLOB NOT NULL CHECK (length(frontier) % 32 = 0 AND length(frontier) <= 2048),
            checkpoint BLOB NOT NULL CHECK (length(checkpoint) BETWEEN 1 AND 65536),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE tlog_entries (
            origin TEXT NOT NULL REFERENCES tlog_logs(origin),
            idx INTEGER NOT NULL CHECK (idx >= 0),
            leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32),
            entry BLOB NOT NULL CHECK (length(entry) <= 65535),
            created_at TEXT NOT NULL,
            PRIMARY KEY (origin, idx),
            UNIQUE (origin, leaf_hash)
        ) STRICT
        """,
        """
        CREATE TRIGGER tlog_entries_are_kept BEFORE DELETE ON tlog_entries
        BEGIN SELECT RAISE(ABORT, 'transparency log entries cannot be deleted'); END
        """,
        """
        CREATE TRIGGER tlog_entries_are_fixed BEFORE UPDATE ON tlog_entries
        BEGIN SELECT RAISE(ABORT, 'transparency log entries cannot be changed'); END
        """,
        """
        CREATE TRIGGER tlog_logs_are_kept BEFORE DELETE ON tlog_logs
        BEGIN SELECT RAISE(ABORT, 'transparency logs cannot be deleted'); END
        """,
        """
        CREATE TRIGGER tlog_logs_only_grow BEFORE UPDATE ON tlog_logs
        WHEN NEW.origin IS NOT OLD.origin OR NEW.vkey IS NOT OLD.vkey OR NEW.size < OLD.size OR NEW.created_at IS NOT OLD.created_at
        BEGIN SELECT RAISE(ABORT, 'a transparency log keeps its origin and key and never shrinks'); END
        """,
    ]

    /// The PostgreSQL statements (`modelsec_refuse` comes from version 4).
    public static let postgresStatements: [String] = [
        """
        CREATE TABLE tlog_logs (
            origin TEXT PRIMARY KEY CHECK (octet_length(origin) BETWEEN 1 AND 1024),
            vkey TEXT NOT NULL CHECK (length(vkey) BETWEEN 1 AND 2048),
            size BIGINT NOT NULL CHECK (size >= 0),
            frontier BYTEA NOT NULL CHECK (octet_length(frontier) % 32 = 0 AND octet_length(frontier) <= 2048),
            checkpoint BYTEA NOT NULL CHECK (octet_length(checkpoint) BETWEEN 1 AND 65536),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE tlog_entries (
            origin TEXT NOT NULL REFERENCES tlog_logs(origin),
            idx BIGINT NOT NULL CHECK (idx >= 0),
            leaf_hash BYTEA NOT NULL CHECK (octet_length(leaf_hash) = 32),
            entry BYTEA NOT NULL CHECK (octet_length(entry) <= 65535),
            created_at TEXT NOT NULL,
            PRIMARY KEY (origin, idx),
            UNIQUE (origin, leaf_hash)
        )
        """,
        """
        CREATE TRIGGER tlog_entries_are_kept BEFORE DELETE OR UPDATE ON tlog_entries
        FOR EACH ROW EXECUTE FUNCTION modelsec_refuse('transparency log entries cannot be deleted or changed')
        """,
        """
        CREATE TRIGGER tlog_logs_are_kept BEFORE DELETE ON tlog_logs
        FOR EACH ROW EXECUTE FUNCTION modelsec_refuse('transparency logs cannot be deleted')
        """,
        """
        CREATE TRIGGER tlog_logs_only_grow BEFORE UPDATE ON tlog_logs FOR EACH ROW
        WHEN (NEW.origin IS DISTINCT FROM OLD.origin OR NEW.vkey IS DISTINCT FROM OLD.vkey OR NEW.size < OLD.size
              OR NEW.created_at IS DISTINCT FROM OLD.created_at)
        EXECUTE FUNCTION modelsec_refuse('a transparency log keeps its origin and key and never shrinks')
        """,
    ]

    /// The PostgreSQL triggers that protect the log tables.
    public static let postgresTriggers: Set<String> = ["tlog_entries_are_kept", "tlog_logs_are_kept", "tlog_logs_only_grow"]
}
