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
        let signed = try SignedCheckpoint(bytes: try FileIO.readRegularFile(file, limit: SignedNote.maxBytes), logKey: logKey, what: file)
        // The size is the log's claim: one no tlog can address is refused
        // before anything is sized from it.
        try signed.checkpoint.checkAddressable(what: file)
        return signed
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
    /// check asks the directory's leaf index (``LeafIndex``, `.leaf-index`:
    /// one read per entry, and a hit counts only once an inclusion proof from
    /// the tiles leads to the checkpoint's root); a missing, damaged or stale
    /// index is rebuilt from the level-0 tiles, checked against the root, and
    /// it is brought up to the new checkpoint after it is in place.
    /// `waitingForLock` is called once, before waiting, when another
    /// append holds the log's lock.
    public func append(_ entries: [[UInt8]], signer: NoteSigner, waitingForLock: (() -> Void)? = nil) throws -> AppendResult {
        guard signer.verifier == logKey else { throw TransparencyLogError.malformedKey(reason: "the signing key is not this log's key") }
        let lock = try FileLock(path: path(Self.lockFile), waiting: waitingForLock)
        defer { lock.unlock() }
        let current = try checkpoint()
        let size = current.checkpoint.size, root = current.checkpoint.root
        let reader = self.reader
        var builder = try TileBuilder.load(size: size, reader: reader, label: { reader.path(of: $0) })
        guard builder.rootHash == root else { throw TransparencyLogError.rootMismatch(size: size) }
        let tree = self.tree(size: size)
        var known = try LeafLookup(log: self, tree: tree, root: root, room: entries.count)
        defer { known.close() }
        var batch: [TreeHash: UInt64] = [:]
        var new: [(TreeHash, UInt64)] = []
        var indices: [UInt64] = []
        for entry in entries {
            let leaf = Merkle.leafHash(entry)
            if let existing = batch[leaf] { indices.append(existing); continue }
            if let existing = try known.index(of: leaf) {
                batch[leaf] = existing
                indices.append(existing)
                continue
            }
            batch[leaf] = builder.size
            new.append((leaf, builder.size))
            indices.append(builder.size)
            try builder.append(entry)
        }
        guard !new.isEmpty else { return AppendResult(indices: indices, added: 0, checkpoint: current) }
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
        // The append is done; the index is a cache (a failure here leaves it
        // stale or removed, and the next append catches up or rebuilds it).
        known.record(new, size: builder.size, root: builder.rootHash)
        return AppendResult(indices: indices, added: new.count, checkpoint: next)
    }

    /// Every leaf hash of the tree of `size`, once the leaves are checked
    /// against the checkpoint's `root` (a damaged level-0 tile must not make
    /// a new entry look logged already). The size is the checkpoint's claim:
    /// nothing is reserved from it, and the tiles are read one at a time, so
    /// a size larger than the log stops at the first missing tile
    /// (``TransparencyLogError/truncated(path:reason:)``) with memory bounded
    /// by the tiles that exist.
    func verifiedLeaves(size: UInt64, root: TreeHash, tree: TiledTree) throws -> [TreeHash] {
        try Checkpoint.checkAddressable(size: size, what: path(Self.checkpointFile))
        var leaves: [TreeHash] = []
        var tile: UInt64 = 0
        while tile * UInt64(TileID.fullWidth) < size {
            leaves += try tree.tileHashes(level: 0, index: tile)
            tile += 1
        }
        guard UInt64(leaves.count) == size, size == 0 || Merkle.rootHash(ofLeafHashes: leaves[...]) == root else {
            throw TransparencyLogError.rootMismatch(size: size)
        }
        return leaves
    }

    /// What ``findIndexed(_:in:)`` learnt about an entry.
    public enum IndexedSearch: Sendable, Equatable {
        /// The entry is at this index: the leaf index (or a level-0 tile
        /// appended since it was written) named it, the level-0 tile holds
        /// the entry's leaf hash there, and the inclusion proof from the
        /// tiles leads to the checkpoint's root.
        case found(UInt64)
        /// The leaf index could not show where the entry is; `reason` says
        /// why (no usable index, it covers too little of the tree, or it has
        /// no proven hit). The caller reads the whole log instead: a miss is
        /// never taken as "not logged".
        case unknown(reason: String)
    }

    /// Leaves past the end of the leaf index that ``findIndexed(_:in:)``
    /// reads from the level-0 tiles (256 tiles) before giving up on the index.
    public static let indexedSearchGapLimit: UInt64 = 65_536

    /// Looks `entry` up in the tree of `checkpoint` (already verified with
    /// the log's key) through the directory's leaf index (``LeafIndex``,
    /// `.leaf-index`, opened read-only) in O(log n) tile reads instead of
    /// reading the whole log. Nothing in the index is believed: each
    /// candidate index counts only when its level-0 tile holds the entry's
    /// leaf hash and the inclusion proof generated from the tiles (binding
    /// that very tile, ``TileOverlay``) leads to the checkpoint's root; the
    /// smallest proven candidate is returned, as reading the log from the
    /// start finds. Entries appended after the index was last brought up to
    /// date (at most ``indexedSearchGapLimit``) are read from their level-0
    /// tiles. Any other outcome, including a tile that cannot be read, is
    /// ``IndexedSearch/unknown(reason:)``.
    public func findIndexed(_ entry: [UInt8], in checkpoint: Checkpoint) -> IndexedSearch {
        let size = checkpoint.size, root = checkpoint.root
        guard size > 0 else { return .unknown(reason: "the log is empty") }
        let leaf = Merkle.leafHash(entry)
        let tree = self.tree(size: size)
        guard let index = LeafIndex.load(path: path(LeafIndex.fileName), tree: tree, root: root, readOnly: true) else {
            return .unknown(reason: "\(path(LeafIndex.fileName)) is missing, damaged or of another tree")
        }
        defer { index.closeFile() }
        let width = UInt64(TileID.fullWidth)
        var candidates: [UInt64]
        do {
            candidates = try index.candidates(leaf).filter { $0 < index.covered }
            if index.covered < size {
                guard size - index.covered <= Self.indexedSearchGapLimit else {
                    return .unknown(reason: "\(path(LeafIndex.fileName)) covers \(index.covered) of the \(size) entries")
                }
                var position = index.covered
                while position < size {
                    let hashes = try tree.tileHashes(level: 0, index: position / width)
                    let first = position - position % width
                    for slot in Int(position - first)..<hashes.count where hashes[slot] == leaf { candidates.append(first + UInt64(slot)) }
                    position = first + UInt64(hashes.count)
                }
            }
        } catch {
            return .unknown(reason: "\(path(LeafIndex.fileName)) could not be used: \(error)")
        }
        for candidate in Set(candidates).sorted() {
            let tile = candidate / width, slot = Int(candidate % width)
            guard let hashes = try? tree.tileHashes(level: 0, index: tile), slot < hashes.count, hashes[slot] == leaf,
                  let proof = try? InclusionProof.generate(index: candidate, size: size, source: TileOverlay(base: tree, tile: tile, hashes: hashes)),
                  InclusionProof.root(leaf: leaf, index: candidate, size: size, proof: proof) == root else { continue }
            return .found(candidate)
        }
        return .unknown(reason: "\(path(LeafIndex.fileName)) has no proven entry for it")
    }

    /// Replaces the checkpoint with `cosigned` if the log still has the same
    /// checkpoint text (an append in between wins; the cosignature is then
    /// stale). Returns whether it was stored.
    public func storeCosigned(_ cosigned: SignedNote) throws -> Bool {
        let lock = try FileLock(path: path(Self.lockFile))
        defer { lock.unlock() }
        let current = try checkpoint()
        guard Array(current.note.text.utf8) == Array(cosigned.text.utf8) else { return false }
        // Key names are compared as UTF-8 bytes, as Go's sumdb/note does: a
        // canonically equivalent spelling (NFD for NFC, U+212A for "K") is
        // another key name, never the log's own line nor a line it replaces.
        func sameKey(_ a: SignedNote.Signature, _ name: String, _ keyID: UInt32) -> Bool {
            Array(a.name.utf8) == Array(name.utf8) && a.keyID == keyID
        }
        var signatures = current.note.signatures
        for signature in cosigned.signatures where !sameKey(signature, logKey.name, logKey.keyID) {
            signatures.removeAll { sameKey($0, signature.name, signature.keyID) }
            signatures.append(signature)
        }
        let merged = try SignedNote(text: current.note.text, signatures: signatures)
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

/// How an append finds entries already logged: the directory's
/// ``LeafIndex`` (opened, caught up with entries appended since it was
/// written, rebuilt when missing, damaged, foreign or full), or, when the
/// index file cannot be written, a table of the verified leaves in memory.
struct LeafLookup {
    private var table: LeafIndex?
    private var memory: [TreeHash: UInt64] = [:]
    /// Level-0 tiles whose hashes an inclusion proof has checked (at most 4,096, 32 MiB).
    private var verifiedTiles: [UInt64: [TreeHash]] = [:]
    private let tree: TiledTree
    private let root: TreeHash

    /// The lookup for the tree of `tree.size` with `root`, with room for `room` new entries.
    init(log: DirectoryLog, tree: TiledTree, root: TreeHash, room: Int) throws {
        self.tree = tree
        self.root = root
        let file = log.path(LeafIndex.fileName)
        if var index = LeafIndex.load(path: file, tree: tree, root: root) {
            // Catching up costs a window per missing leaf: a long gap is cheaper rebuilt.
            let gap = tree.size - index.covered
            if gap <= UInt64(index.tableBytes / LeafIndex.windowBytes),
               (try? Self.catchUp(&index, tree: tree, root: root)) == true, index.count + UInt64(room) <= index.capacity {
                // A large batch reads the table once rather than a window per entry.
                // (Bounded: the header, which anyone who can write DIR can
                // forge, sets the table's size; 2^26 slots serve 33M entries.)
                if room * LeafIndex.windowBytes >= index.tableBytes, index.tableBytes <= LeafIndex.maximumMemoryBytes { try? index.loadAll() }
                self.table = index
                return
            }
            index.closeFile()
        }
        let leaves = try log.verifiedLeaves(size: tree.size, root: root, tree: tree)
        do {
            table = try LeafIndex.build(path: file, leaves: leaves, root: root, room: max(room, leaves.count))
        } catch {
            unlink(file)
            for (i, leaf) in leaves.enumerated() where memory[leaf] == nil { memory[leaf] = UInt64(i) }
        }
    }

    /// Adds the leaves between the index's size and the tree's (appended
    /// by a crashed append after its checkpoint, or by `log publish`).
    /// False when the table is full.
    private static func catchUp(_ index: inout LeafIndex, tree: TiledTree, root: TreeHash) throws -> Bool {
        guard index.covered < tree.size else { return true }
        var position = index.covered
        while position < tree.size {
            let hashes = try tree.tileHashes(level: 0, index: position / UInt64(TileID.fullWidth))
            let leaf = hashes[Int(position % UInt64(TileID.fullWidth))]
            guard index.count < index.capacity, try index.insert(leaf, index: position) else { return false }
            position += 1
        }
        try index.commit(size: tree.size, root: root)
        return true
    }

    /// The index of `leaf` in the tree, when it is there: a candidate from
    /// the index counts once the level-0 tile holds `leaf` there and its
    /// inclusion proof leads to the root. The proof's siblings inside that
    /// tile are hashed from the very array read here (``TileOverlay``), so a
    /// proof that verifies vouches for every hash in the array, whatever a
    /// cache or a later read of the file would give: the array is kept, and
    /// another hit in it needs no proof.
    mutating func index(of leaf: TreeHash) throws -> UInt64? {
        guard let index = table else { return memory[leaf] }
        for candidate in try index.candidates(leaf) where candidate < tree.size {
            let tile = candidate / UInt64(TileID.fullWidth), slot = Int(candidate % UInt64(TileID.fullWidth))
            if let hashes = verifiedTiles[tile] {
                if hashes[slot] == leaf { return candidate }
                continue
            }
            let hashes = try tree.tileHashes(level: 0, index: tile)
            guard hashes[slot] == leaf else { continue }
            let proof = try InclusionProof.generate(index: candidate, size: tree.size,
                                                    source: TileOverlay(base: tree, tile: tile, hashes: hashes))
            guard InclusionProof.root(leaf: leaf, index: candidate, size: tree.size, proof: proof) == root else {
                throw TransparencyLogError.rootMismatch(size: tree.size)
            }
            if verifiedTiles.count >= 4096 { verifiedTiles.removeAll(keepingCapacity: true) }
            verifiedTiles[tile] = hashes
            return candidate
        }
        return nil
    }

    /// Records `new` (leaf hash and index) once the checkpoint of `size`
    /// with `root` is in place. On any failure the index file is removed
    /// (the next append rebuilds it).
    mutating func record(_ new: [(TreeHash, UInt64)], size: UInt64, root: TreeHash) {
        guard var index = table else { return }
        do {
            for (leaf, position) in new {
                guard try index.insert(leaf, index: position) else { throw TransparencyLogError.tooLarge(what: index.path, limit: 0) }
            }
            try index.commit(size: size, root: root)
            table = index
        } catch {
            unlink(index.path)
        }
    }

    /// Closes the index file.
    func close() { table?.closeFile() }
}

/// A tree whose level-0 tile `tile` is `hashes` (a copy already read), every
/// other subtree as `base` has it: an inclusion proof generated from it
/// hashes its in-tile siblings from that copy, so its verifying binds the
/// copy itself to the root.
struct TileOverlay: SubtreeHashSource {
    let base: TiledTree
    let tile: UInt64
    let hashes: [TreeHash]

    func subtreeHash(level: Int, index: UInt64) throws -> TreeHash {
        let width = UInt64(TileID.fullWidth)
        if level < TileID.fullWidth.trailingZeroBitCount {
            let first = index << UInt64(level), end = (index + 1) << UInt64(level)
            if first / width == tile, end <= tile * width + UInt64(hashes.count) {
                let lo = Int(first - tile * width), hi = Int(end - tile * width)
                return level == 0 ? hashes[lo] : Merkle.rootHash(ofLeafHashes: hashes[lo..<hi])
            }
        }
        return try base.subtreeHash(level: level, index: index)
    }
}
