#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelSecIO

/// Writes a log kept in a ``ReleaseLogStore`` out as a C2SP tlog-tiles
/// directory (the same layout as ``DirectoryLog``), and reads a directory
/// log's entries back for moving it into a store.
public enum StorePublisher {
    /// What a publish did.
    public struct Result: Sendable, Equatable {
        /// The tree size the directory had before.
        public var previousSize: UInt64
        /// The tree size it has now (the store's).
        public var size: UInt64
        /// The published checkpoint.
        public var checkpoint: SignedCheckpoint
    }

    /// Appends `entries` through `store` (its append transaction), then
    /// publishes `directory`, all under DIR's lock, after checking that DIR
    /// holds a prefix of the store's log. A DIR appended to without the
    /// store (more entries, or another root at its size) is refused before
    /// anything is signed, so the log key never signs two trees of one size.
    public static func appendAndPublish(_ entries: [[UInt8]], store: any ReleaseLogStore, signer: NoteSigner,
                                        directory: String) throws -> (appended: StoredAppend, published: Result) {
        let origin = signer.name
        try DirectoryLogFiles.prepare(directory)
        let lock = try FileLock(path: (directory as NSString).appendingPathComponent(DirectoryLog.lockFile))
        defer { lock.unlock() }
        try requirePrefix(directory: directory, of: store, origin: origin, verifier: signer.verifier)
        let appended = try store.append(origin: origin, entries: entries, signer: signer, create: true)
        return (appended, try publish(store: store, origin: origin, directory: directory, holdingLock: true))
    }

    /// Throws unless DIR's checkpoint (if any) is the store's tree at DIR's size.
    static func requirePrefix(directory: String, of store: any ReleaseLogStore, origin: String, verifier: NoteVerifier) throws {
        let log = DirectoryLog(directory: directory, logKey: verifier)
        guard FileIO.exists(log.path(DirectoryLog.checkpointFile)) else { return }
        let local = try log.checkpoint().checkpoint
        let storeSize = try store.log(origin: origin)?.frontier.size ?? 0
        guard local.size <= storeSize else {
            throw TransparencyLogError.logUnusable(path: directory, reason: "holds \(local.size) entries, more than the \(storeSize) of \(origin) in \(store.storeName): it was appended to without the store; publish it from the store into a new directory")
        }
        var builder = TileBuilder()
        var next: UInt64 = 0
        while next < local.size {
            let count = Int(min(UInt64(ReleaseLogRules.pageSize), local.size - next))
            let page = try store.entries(origin: origin, from: next, count: count)
            guard page.count == count else {
                throw TransparencyLogError.truncated(path: "\(store.storeName) log \(origin)", reason: "entries from \(next) are missing")
            }
            for entry in page { try builder.append(entry) }
            _ = builder.drainFull()
            next += UInt64(count)
        }
        guard builder.rootHash == local.root else {
            throw TransparencyLogError.logUnusable(path: directory, reason: "holds another history than \(origin) in \(store.storeName) at size \(local.size) (it was appended to without the store)")
        }
    }

    /// Brings `directory` up to the store's latest checkpoint of `origin`,
    /// under the directory's lock (`.lock`, as appends to a directory log):
    /// the store's state is read after the lock is held; the directory's
    /// own checkpoint (size D, signed by the same key) and the tiles of D are
    /// checked, the entries from D on are read from the store and hashed
    /// into tiles, the resulting root must be the store checkpoint's, and
    /// the tiles are written and flushed before the checkpoint is renamed
    /// into place (a crash leaves the old checkpoint and a log that
    /// verifies). A directory already at the store's size is left as it is
    /// (with any cosignatures); one ahead of the store, or with another
    /// history, is refused. A missing or empty directory is created.
    @discardableResult
    public static func publish(store: any ReleaseLogStore, origin: String, directory: String, holdingLock: Bool = false) throws -> Result {
        // An unknown origin is refused before DIR is created.
        guard try store.log(origin: origin) != nil else {
            throw TransparencyLogError.logUnusable(path: store.storeName, reason: "holds no transparency log with origin \(origin)")
        }
        try DirectoryLogFiles.prepare(directory)
        // `holdingLock`: the caller holds DIR's lock already (a second flock in one process would wait for itself).
        let lock = holdingLock ? nil : try FileLock(path: (directory as NSString).appendingPathComponent(DirectoryLog.lockFile))
        defer { lock?.unlock() }
        // Read under the lock: a later state than any publisher before us wrote.
        guard let stored = try store.log(origin: origin) else {
            throw TransparencyLogError.logUnusable(path: store.storeName, reason: "holds no transparency log with origin \(origin)")
        }
        let target = try stored.signedCheckpoint(store: store.storeName)
        let log = DirectoryLog(directory: directory, logKey: try stored.verifier())
        let checkpointPath = log.path(DirectoryLog.checkpointFile)
        let current: SignedCheckpoint? = FileIO.exists(checkpointPath) ? try log.checkpoint() : nil
        let previous = current?.checkpoint.size ?? 0
        if let current, previous >= target.checkpoint.size {
            guard previous == target.checkpoint.size else {
                throw TransparencyLogError.logUnusable(path: directory, reason: "holds \(previous) entries, more than the \(target.checkpoint.size) of \(origin) in \(store.storeName)")
            }
            guard current.checkpoint.root == target.checkpoint.root else { throw TransparencyLogError.rootMismatch(size: previous) }
            return Result(previousSize: previous, size: previous, checkpoint: current)
        }
        let reader = log.reader
        var builder = current == nil ? TileBuilder() : try TileBuilder.load(size: previous, reader: reader, label: { reader.path(of: $0) })
        if let current, builder.rootHash != current.checkpoint.root { throw TransparencyLogError.rootMismatch(size: previous) }
        var writer = DurableWriter()
        var written: [TileID] = []
        var next = previous
        while next < target.checkpoint.size {
            let count = Int(min(UInt64(ReleaseLogRules.pageSize), target.checkpoint.size - next))
            let page = try store.entries(origin: origin, from: next, count: count)
            guard page.count == count else {
                throw TransparencyLogError.truncated(path: "\(store.storeName) log \(origin)", reason: "entries from \(next) are missing")
            }
            for entry in page { try builder.append(entry) }
            next += UInt64(count)
            // Full tiles are written as they complete, so memory stays bounded.
            let (full, _) = builder.drainFull()
            for (tile, bytes) in full { try writer.write(bytes, to: log.path(tile.path)); written.append(tile) }
        }
        guard builder.rootHash == target.checkpoint.root else {
            throw TransparencyLogError.rootMismatch(size: target.checkpoint.size)
        }
        let (_, partial) = builder.drain()
        for (tile, bytes) in partial { try writer.write(bytes, to: log.path(tile.path)) }
        try writer.sync()
        try writer.write(target.note.bytes, to: checkpointPath)
        try writer.sync()
        for tile in written { DirectoryLogFiles.removePartials(of: tile, in: directory) }
        return Result(previousSize: previous, size: target.checkpoint.size, checkpoint: target)
    }

    /// Every entry of the directory log `log` at its current checkpoint,
    /// with that checkpoint; each bundle is checked against the tiles by the
    /// rebuilt root (``ReleaseLogRules/checkImport(_:entries:store:)``).
    public static func readEntries(of log: DirectoryLog) throws -> (entries: [[UInt8]], checkpoint: SignedCheckpoint) {
        let checkpoint = try log.checkpoint()
        let size = checkpoint.checkpoint.size
        let reader = log.reader
        var entries: [[UInt8]] = []
        var index: UInt64 = 0
        while UInt64(entries.count) < size {
            let width = Int(min(UInt64(TileID.fullWidth), size - UInt64(entries.count)))
            let id = TileID(level: 0, index: index, width: width, isEntryBundle: true)
            entries += try EntryBundle.decode(try reader.read(id), expected: width, allowLonger: width < TileID.fullWidth, what: reader.path(of: id))
            index += 1
        }
        return (entries, checkpoint)
    }
}

/// File housekeeping shared by the directory writers.
enum DirectoryLogFiles {
    /// Creates `directory` if missing; refuses one that holds something
    /// other than a log (a checkpoint, tiles, the lock file).
    static func prepare(_ directory: String) throws {
        var st = stat()
        guard stat(directory, &st) == 0 else {
            try DurableWriter.makeDirectories(directory)
            return
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw TransparencyLogError.logUnusable(path: directory, reason: "exists and is not a directory") }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let known: Set<String> = [DirectoryLog.checkpointFile, DirectoryLog.lockFile, LeafIndex.fileName, "tile"]
        if let stray = contents.first(where: { !known.contains($0) }), !contents.contains(DirectoryLog.checkpointFile) {
            throw TransparencyLogError.logUnusable(path: directory, reason: "is not empty and not a transparency log (it holds \(stray))")
        }
    }

    /// Removes the partial tiles of `tile` once the full one exists.
    static func removePartials(of tile: TileID, in directory: String) {
        let partialDirectory = (directory as NSString).appendingPathComponent(tile.path) + ".p"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: partialDirectory) else { return }
        for name in names { unlink((partialDirectory as NSString).appendingPathComponent(name)) }
        rmdir(partialDirectory)
    }
}
