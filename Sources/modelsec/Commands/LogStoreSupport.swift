import ArgumentParser
import Foundation
import ModelSec
import ModelSecStore
import ModelSecStorePostgres
import TransparencyLog

/// The store-backed log shared by `log append`, `log publish` and
/// `release create --log`: entries are sequenced by the store's append
/// transaction, then DIR is (re)written from the store's records.
enum LogStoreSupport {
    /// The log records of the store given by `options` (--store or MODELSEC_STORE).
    static func open(_ options: StoreOptions) throws -> (any ReleaseLogStore)? {
        guard let url = try options.url() else { return nil }
        return try ReleaseLogStores.open(url, passwordFile: options.storePasswordFile)
    }

    /// The log's origin: `explicit`, else the origin line of DIR/checkpoint
    /// (its signature is checked with the key right after).
    /// `remedy` says what to do when neither is there.
    static func origin(explicit: String?, directory: String,
                       remedy: String = "give the log's origin with --origin ORIGIN") throws -> String {
        if let explicit { return explicit }
        let path = (directory as NSString).appendingPathComponent(DirectoryLog.checkpointFile)
        guard FileIO.exists(path) else {
            throw ValidationError("\(directory) has no checkpoint yet: \(remedy)")
        }
        return try LogAppend.origin(ofCheckpointIn: directory)
    }

    /// Appends `entries` to the log of `signer`'s origin in `store` (one
    /// transaction; entries already logged keep their index), then
    /// publishes DIR from the store. A store without this log takes it
    /// over from DIR first when DIR holds a non-empty log signed by the
    /// same key (moving a directory log into the store), else starts it empty.
    static func append(_ entries: [[UInt8]], directory: String, signer: NoteSigner,
                       store: any ReleaseLogStore) throws -> (appended: StoredAppend, published: StorePublisher.Result) {
        let origin = signer.name
        if try store.log(origin: origin) == nil { try importDirectoryIfLogged(directory, signer: signer, store: store) }
        return try StorePublisher.appendAndPublish(entries, store: store, signer: signer, directory: directory)
    }

    /// Moves the directory log in `directory` (when it has entries) into
    /// `store` as the log of `signer`'s origin.
    static func importDirectoryIfLogged(_ directory: String, signer: NoteSigner, store: any ReleaseLogStore) throws {
        let checkpointPath = (directory as NSString).appendingPathComponent(DirectoryLog.checkpointFile)
        guard FileIO.exists(checkpointPath) else { return }
        let log = DirectoryLog(directory: directory, logKey: signer.verifier)
        let (entries, checkpoint) = try StorePublisher.readEntries(of: log)
        guard !entries.isEmpty else { return }
        var frontier = LogFrontier()
        for entry in entries { frontier.append(leaf: Merkle.leafHash(entry)) }
        let stored = StoredLog(origin: signer.name, vkey: signer.verifier.vkey, frontier: frontier, checkpoint: checkpoint.note.bytes)
        do {
            try store.importLog(stored, entries: entries)
            CLI.info("moved the directory log \(directory) (\(entries.count) entries) into \(store.storeName)")
        } catch let error as TransparencyLogError {
            // Another process moved it in first: that is the same log.
            guard case .logUnusable = error, try store.log(origin: signer.name) != nil else { throw error }
        }
    }
}
