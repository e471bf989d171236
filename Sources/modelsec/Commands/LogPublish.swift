import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// `modelsec log publish`: (re)write a log directory from the store's records.
struct LogPublish: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Write a transparency log kept in the store out as a tlog-tiles directory.",
        discussion: """
        Brings DIR up to the store's latest signed checkpoint of ORIGIN: the \
        entries DIR lacks are read from the store and hashed into tiles, the \
        root must be the store checkpoint's, and the tiles are flushed before \
        the checkpoint is renamed into place (a crash leaves the previous \
        checkpoint and a log that verifies). DIR is created when missing; a \
        DIR already current is left as it is (with its cosignatures); a DIR \
        ahead of the store or with another history is refused. No private \
        key is needed: the checkpoint is the one the store holds. Use it to \
        serve the log from a web root on another machine. See docs/store.md.

        Examples:
          modelsec log publish /var/www/models-log --store postgres://web@db/modelsec \\
              --origin example.com/models
        """
    )

    @Argument(help: ArgumentHelp("The log directory to write.", valueName: "DIR"))
    var directory: String

    @Option(help: ArgumentHelp("The log's origin.", valueName: "ORIGIN"))
    var origin: String

    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var json: JSONOption

    struct Report: Encodable {
        let directory: String
        let origin: String
        let store: String
        let previousSize: UInt64
        let treeSize: UInt64
        let rootHash: String
    }

    func validate() throws {
        try storeOptions.requireURL()
    }

    func run() throws {
        guard let store = try LogStoreSupport.open(storeOptions) else { return }
        let result = try StorePublisher.publish(store: store, origin: origin, directory: directory)
        let report = Report(directory: directory, origin: origin, store: store.storeName, previousSize: result.previousSize,
                            treeSize: result.size, rootHash: result.checkpoint.checkpoint.root.base64)
        if json.isOn { return try CLI.printResult(report) }
        if result.previousSize == result.size {
            CLI.printLine("\(directory): already at tree size \(result.size), root \(report.rootHash)")
        } else {
            CLI.printLine("\(directory): tree size \(result.previousSize) -> \(result.size), root \(report.rootHash) (from \(store.storeName))")
        }
    }
}
