import ArgumentParser
import ModelSecStore
import ModelSecStorePostgres

/// `modelsec store status`: the store's schema version, unchanged.
struct StoreStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the store's schema version and check its running sums (read only).",
        discussion: """
        Prints the schema version found and the version this modelsec uses: \
        current, empty (run store migrate), older (run store migrate) or newer \
        (written by a newer modelsec; exit code 2, nothing is changed). On a \
        current store it also recomputes each dataset's running sums from its \
        charges: a difference is store.schema-altered (exit code 2, naming the \
        dataset). It also lists the transparency logs the store holds (origin, \
        size, root hash), each checkpoint verified with the log's key against \
        the stored frontier.

        Examples:
          modelsec store status --store sqlite:privacy.db
          modelsec store status --store postgres://auditor@db/ledger --json
        """
    )

    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var json: JSONOption

    func validate() throws {
        try storeOptions.requireURL()
    }

    func run() throws {
        guard let url = try storeOptions.url() else { return }
        let status = try LedgerStores.status(url, passwordFile: storeOptions.storePasswordFile)
        if status.state == "newer" {
            throw StoreError.newerSchema(store: status.store, found: status.schemaVersion, supported: status.supportedVersion)
        }
        if json.isOn { try CLI.printJSON(status); return }
        print("store:   \(status.store) (\(status.engine))")
        print("schema:  version \(status.schemaVersion), this modelsec uses \(status.supportedVersion): \(status.state)")
        for log in status.logs ?? [] {
            CLI.printLine("log:     \(log.origin): \(log.size) entries, root \(log.rootHash)")
        }
    }
}
