import ArgumentParser
import Foundation
import ModelSec
import ModelSecStore
import ModelSecStorePostgres

/// `--store URL` and `--store-password-file PATH`, shared by every command
/// that keeps state. The URL defaults to `MODELSEC_STORE`; the password
/// comes from the file, else `PGPASSWORD`, else `PGPASSFILE`/`~/.pgpass`,
/// never from argv.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("State store: sqlite:PATH or postgres://USER@HOST:PORT/DB?sslmode=MODE (default: $MODELSEC_STORE).",
                               valueName: "URL"))
    var store: String?

    @Option(name: .customLong("store-password-file"),
            help: ArgumentHelp("File whose first line is the PostgreSQL password (else PGPASSWORD, PGPASSFILE, ~/.pgpass).", valueName: "FILE"))
    var storePasswordFile: String?

    /// The URL text given by --store or MODELSEC_STORE.
    var urlText: String? {
        if let store { return store }
        if let env = ProcessInfo.processInfo.environment["MODELSEC_STORE"], !env.isEmpty { return env }
        return nil
    }

    /// The parsed store URL, or nil when none is given.
    func url() throws -> StoreURL? {
        try urlText.map { try StoreURL(parsing: $0) }
    }

    /// The usage check of a command that cannot run without a store.
    func requireURL() throws {
        if urlText == nil { throw ValidationError("give --store URL (or set MODELSEC_STORE)") }
    }

    /// The usage check of a command whose store is optional: a password
    /// file with no store URL to use it for is refused.
    func refusePasswordFileWithoutURL() throws {
        if storePasswordFile != nil && urlText == nil { throw ValidationError("--store-password-file goes with --store URL") }
    }
}

/// Opens the privacy ledger a `dp` command charges: `--ledger PATH` (an
/// SQLite file, created if missing) or the store URL (which must be migrated).
enum DPLedgerChoice {
    /// The ledger, or nil when neither is given.
    static func open(ledger: String?, options: StoreOptions) throws -> (any PrivacyLedger)? {
        if let ledger { return try SQLitePrivacyLedger(path: ledger) }
        guard let url = try options.url() else { return nil }
        return try LedgerStores.open(url, passwordFile: options.storePasswordFile)
    }

    /// The usage checks shared by the dp commands.
    static func validate(ledger: String?, options: StoreOptions) throws {
        if ledger != nil && options.store != nil { throw ValidationError("give --ledger DB or --store URL, not both") }
        try options.refusePasswordFileWithoutURL()
    }
}
