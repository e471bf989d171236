import ArgumentParser
import ModelSecStore
import ModelSecStorePostgres

/// `modelsec store migrate`: create or upgrade the store's schema.
struct StoreMigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the store's schema.",
        discussion: """
        Runs every missing schema step, each in one transaction (PostgreSQL: \
        under an advisory lock, so concurrent migrations wait for each other). \
        A store at the current version is left unchanged; a store written by a \
        newer modelsec is refused (exit code 2) naming the version it has. The \
        role needs CREATE on the database; nothing after migration does.

        Examples:
          modelsec store migrate --store sqlite:privacy.db
          modelsec store migrate --store postgres://owner@db/ledger --json
        """
    )

    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var json: JSONOption

    /// The JSON result.
    struct Report: Encodable {
        var store: String
        var engine: String
        var fromVersion: Int
        var toVersion: Int
    }

    func validate() throws {
        try storeOptions.requireURL()
    }

    func run() throws {
        guard let url = try storeOptions.url() else { return }
        let (from, to) = try LedgerStores.migrate(url, passwordFile: storeOptions.storePasswordFile)
        let report = Report(store: url.redacted, engine: url.engine, fromVersion: from, toVersion: to)
        if json.isOn { try CLI.printJSON(report); return }
        print(from == to ? "\(report.store): schema version \(to), already current" : "\(report.store): schema version \(from) -> \(to)")
    }
}
