import ArgumentParser

/// `modelsec store …`: the shared state store (SQLite file or PostgreSQL).
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Prepare, inspect and copy the state store (SQLite or PostgreSQL).",
        discussion: """
        A store is sqlite:PATH or postgres://USER@HOST:PORT/DB?sslmode=MODE \
        (--store, or MODELSEC_STORE). A URL never holds a password: it comes \
        from --store-password-file, PGPASSWORD or PGPASSFILE (~/.pgpass). \
        See docs/store.md.

        Examples:
          modelsec store migrate --store postgres://dp@db:5432/ledger
          modelsec store status --store sqlite:privacy.db --json
          modelsec store copy --from sqlite:privacy.db --to postgres://dp@db/ledger
        """,
        subcommands: [StoreStatusCommand.self, StoreMigrateCommand.self, StoreCopyCommand.self]
    )
}
