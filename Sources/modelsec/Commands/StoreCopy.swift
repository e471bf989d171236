import ArgumentParser
import ModelSec
import ModelSecStore
import ModelSecStorePostgres

/// `modelsec store copy`: move a privacy ledger to another store.
struct StoreCopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy every privacy budget and charge, and every transparency log, into an empty store.",
        discussion: """
        Copies each dataset (relation, total) and each charge (cost, mechanism, \
        parameters, time, outcome, data and result digests) in charge order, in \
        one transaction, then checks that every dataset's status reads back \
        identical. The destination must be migrated and hold no datasets. Charge \
        ids are renumbered; request ids are not copied. Each transparency log \
        is copied whole (its row and every entry in index order, one \
        transaction per log), checked as it goes in: the entries rebuild the \
        frontier and the checkpoint verifies with the log's key. Stop every \
        writer of the source first.

        Examples:
          modelsec store copy --from sqlite:privacy.db --to postgres://dp@db/ledger
          modelsec store copy --from sqlite:privacy.db --to sqlite:copy.db --json
        """
    )

    @Option(help: ArgumentHelp("The source store URL.", valueName: "URL"))
    var from: String

    @Option(help: ArgumentHelp("The destination store URL (migrated, empty).", valueName: "URL"))
    var to: String

    @Option(name: .customLong("from-password-file"), help: ArgumentHelp("Password file for a PostgreSQL source.", valueName: "FILE"))
    var fromPasswordFile: String?

    @Option(name: .customLong("to-password-file"), help: ArgumentHelp("Password file for a PostgreSQL destination.", valueName: "FILE"))
    var toPasswordFile: String?

    @OptionGroup var json: JSONOption

    /// The JSON result.
    struct Report: Encodable {
        var from: String
        var to: String
        var datasets: Int
        var charges: Int
        var logs: Int
        var logEntries: Int
    }

    func run() throws {
        let source = try StoreURL(parsing: from), destination = try StoreURL(parsing: to)
        guard source != destination else { throw ValidationError("--from and --to name the same store") }
        let reader = try LedgerStores.open(source, passwordFile: fromPasswordFile)
        let writer = try LedgerStores.open(destination, passwordFile: toPasswordFile)
        let logReader = try ReleaseLogStores.open(source, passwordFile: fromPasswordFile)
        let logWriter = try ReleaseLogStores.open(destination, passwordFile: toPasswordFile)
        // Both parts need an empty destination: checked before either is copied.
        try ReleaseLogStores.requireNoLogs(logWriter)
        let summary = try LedgerStores.copy(from: reader, to: writer, destinationName: destination.redacted)
        let logs = try ReleaseLogStores.copy(from: logReader, to: logWriter)
        let report = Report(from: source.redacted, to: destination.redacted, datasets: summary.datasets, charges: summary.charges,
                            logs: logs.logs, logEntries: logs.entries)
        if json.isOn { try CLI.printJSON(report); return }
        print("copied \(report.datasets) dataset(s), \(report.charges) charge(s) and \(report.logs) transparency log(s) (\(report.logEntries) entries) from \(report.from) to \(report.to)")
    }
}
