#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelSecIO

/// A transparency log stored as C2SP tlog-tiles files in a directory:
/// `checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`, plus
/// the lock file `.lock`. Any static web server can serve the directory.
public struct DirectoryLog {
    /// The checkpoint file name.
    public static let checkpointFile = "checkpoint"
    /// The lock file name.
    public static let lockFile = ".lock"

    /// The log directory.
    public let directory: String
    /// The log's verifier key (its name is the origin).
    public let logKey: NoteVerifier

    /// Opens the log in `directory`, whose checkpoints `logKey` signs.
    public init(directory: String, logKey: NoteVerifier) {
        self.directory = directory
        self.logKey = logKey
    }

    /// The path of a file in the log.
    public func path(_ relative: String) -> String { (directory as NSString).appendingPathComponent(relative) }

    /// The tile reader for this directory.
    public var reader: DirectoryTileReader { DirectoryTileReader(directory: directory) }

    /// Creates an empty log (a signed checkpoint of size 0) in `directory`,
    /// which must not exist or be empty. Returns the log.
    @discardableResult
    public static func create(directory: String, signer: NoteSigner) throws -> DirectoryLog {
        var st = stat()
        if stat(directory, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw TransparencyLogError.logUnusable(path: directory, reason: "exists and is not a directory") }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            guard contents.isEmpty else { throw TransparencyLogError.logUnusable(path: directory, reason: "is not empty") }
        } else {
            try DurableWriter.makeDirectories(directory)
        }
        let log = DirectoryLog(directory: directory, logKey: signer.verifier)
        let signed = try SignedCheckpoint(checkpoint: Checkpoint(origin: signer.name, size: 0, root: TreeHash.empty), signer: signer)
        var writer = DurableWriter()
        try writer.write(signed.note.bytes, to: log.path(checkpointFile))
        try writer.sync()
        return log
    }

    /// Reads and verifies the current checkpoint.
    public func checkpoint() throws -> SignedCheckpoint {
        let file = path(Self.checkpointFile)
        guard FileIO.exists(file) else { throw TransparencyLogError.logUnusable(path: directory, reason: "is not a transparency log (no checkpoint)") }
        return try SignedCheckpoint(bytes: try FileIO.readRegularFile(file, limit: SignedNote.maxBytes), logKey: logKey, what: file)
    }

    /// The tree of `size` read from this directory's tiles.
    public func tree(size: UInt64) -> TiledTree {
        let reader = self.reader
        return TiledTree(size: size, reader: reader, label: { reader.path(of: $0) })
    }

    /// What an append did.
    public struct AppendResult: Sendable {
        /// The index of each entry given, in order: a new index, or the index
        /// it already had (an entry is logged once).
        public let indices: [UInt64]
        /// How many entries were new.
        public let added: Int
        /// The new checkpoint (the current one when nothing was added).
        public let checkpoint: SignedCheckpoint
        /// The index of the first entry given.
        public var firstIndex: UInt64 { indices.first ?? checkpoint.checkpoint.size }
    }

    /// Appends `entries` in one batch under the log's lock: verifies the
    /// current checkpoint and that the stored right edge matches its root,
    /// writes and flushes the new tiles and bundles, and only then renames
    /// the new checkpoint into place. A crash at any point leaves the old
    /// checkpoint and every tile it needs intact. Cosignatures on the old
    /// checkpoint are not carried over (they cosign the old tree).
    ///
    /// An entry the log already holds (the same bytes, so the same leaf hash;
    /// a release's entry is made from its signed data alone) is not appended
    /// again: its existing index is returned, as the store's appends do. The
    /// check reads the log's level-0 tiles (32 bytes a leaf).
    public func append(_ entries: [[UInt8]], signer: NoteSigner) throws -> AppendResult {
        guard signer.verifier == logKey else { throw TransparencyLogError.malformedKey(reason: "the signing key is not this log's key") }
        let lock = try FileLock(path: path(Self.lockFile))
        defer { lock.unlock() }
        let current = try checkpoint()
        let reader = self.reader
        var builder = try TileBuilder.load(size: current.checkpoint.size, reader: reader, label: { reader.path(of: $0) })
        guard builder.rootHash == current.checkpoint.root else { throw TransparencyLogError.rootMismatch(size: current.checkpoint.size) }
        var known = try leafIndices(size: current.checkpoint.size, root: current.checkpoint.root)
        var indices: [UInt64] = []
        var added = 0
        for entry in entries {
            let leaf = Merkle.leafHash(entry)
            if let existing = known[leaf] { indices.append(existing); continue }
            known[leaf] = builder.size
            indices.append(builder.size)
            try builder.append(entry)
            added += 1
        }
        guard added > 0 else { return AppendResult(indices: indices, added: 0, checkpoint: current) }
        let (full, partial) = builder.drain()
        let next = try SignedCheckpoint(
            checkpoint: Checkpoint(origin: current.checkpoint.origin, size: builder.size, root: builder.rootHash), signer: signer)
        var writer = DurableWriter()
        for (tile, bytes) in full + partial { try writer.write(bytes, to: path(tile.path)) }
        try writer.sync()
        try writer.write(next.note.bytes, to: path(Self.checkpointFile))
        try writer.sync()
        // Partial tiles superseded by a full tile are no longer needed (readers fall back to the full tile).
        for (tile, _) in full { removePartials(of: tile) }
        return AppendResult(indices: indices, added: added, checkpoint: next)
    }

    /// Every leaf hash of the tree of `size`, with its index, once the
    /// leaves are checked against the checkpoint's `root` (a damaged level-0
    /// tile must not make a new entry look logged already).
    private func leafIndices(size: UInt64, root: TreeHash) throws -> [TreeHash: UInt64] {
        let tree = self.tree(size: size)
        var leaves: [TreeHash] = []
        leaves.reserveCapacity(Int(size))
        var tile: UInt64 = 0
        while tile * UInt64(TileID.fullWidth) < size {
            leaves += try tree.tileHashes(level: 0, index: tile)
            tile += 1
        }
        guard UInt64(leaves.count) == size, size == 0 || Merkle.rootHash(ofLeafHashes: leaves[...]) == root else {
            throw TransparencyLogError.rootMismatch(size: size)
        }
        var out: [TreeHash: UInt64] = [:]
        out.reserveCapacity(Int(size))
        for (index, hash) in leaves.enumerated() where out[hash] == nil { out[hash] = UInt64(index) }
        return out
    }

    /// Replaces the checkpoint with `cosigned` if the log still has the same
    /// checkpoint text (an append in between wins; the cosignature is then
    /// stale). Returns whether it was stored.
    public func storeCosigned(_ cosigned: SignedNote) throws -> Bool {
        let lock = try FileLock(path: path(Self.lockFile))
        defer { lock.unlock() }
        let current = try checkpoint()
        guard Array(current.note.text.utf8) == Array(cosigned.text.utf8) else { return false }
        var merged = current.note
        for signature in cosigned.signatures where !(signature.name == logKey.name && signature.keyID == logKey.keyID) {
            merged.add(signature)
        }
        var writer = DurableWriter()
        try writer.write(merged.bytes, to: path(Self.checkpointFile))
        try writer.sync()
        return true
    }

    private func removePartials(of tile: TileID) {
        let partialDirectory = path(tile.path) + ".p"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: partialDirectory) else { return }
        for name in names { unlink((partialDirectory as NSString).appendingPathComponent(name)) }
        rmdir(partialDirectory)
    }
}
