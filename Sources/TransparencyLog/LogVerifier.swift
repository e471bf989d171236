import ModelSecIO

/// Checks a whole tiled log against its checkpoint: every entry bundle is
/// read, every leaf hash compared with its level-0 tile, every full and
/// partial tile recomputed from the entries and compared byte for byte, and
/// the root recomputed from the entries compared with the checkpoint's.
public struct LogVerifier {
    /// The tiles and bundles.
    public let reader: TileReader
    /// Names a tile in errors (its file path).
    public let label: (TileID) -> String

    /// A verifier over `reader`.
    public init(reader: TileReader, label: @escaping (TileID) -> String = { $0.path }) {
        self.reader = reader
        self.label = label
    }

    /// Verifies the log up to `checkpoint` (already signature-checked).
    /// `visit` sees every entry with its index, in order (for monitors).
    /// The size is the log's claim, signed but not trusted to be backed by
    /// tiles: nothing is allocated from it. The bundles are walked one at a
    /// time, so a checkpoint larger than the log stops at the first missing
    /// bundle or tile (``TransparencyLogError/truncated(path:reason:)``
    /// naming it) with memory bounded by the tiles actually read, and a size
    /// no tlog can address is refused first (see ``Checkpoint/checkAddressable(what:)``).
    /// `progress` advances by each bundle's entries.
    public func verify(_ checkpoint: Checkpoint, progress: ProgressReporter? = nil,
                       visit: (UInt64, [UInt8]) throws -> Void = { _, _ in }) throws {
        try checkpoint.checkAddressable(what: "checkpoint")
        defer { progress?.finish() }
        let size = checkpoint.size
        let diskTree = TiledTree(size: size, reader: reader, label: label)
        var builder = TileBuilder()
        let fullBundles = size / UInt64(TileID.fullWidth), lastWidth = Int(size % UInt64(TileID.fullWidth))
        var bundleIndex: UInt64 = 0
        while bundleIndex < fullBundles || (bundleIndex == fullBundles && lastWidth > 0) {
            let tile = TileID(level: 0, index: bundleIndex, width: bundleIndex < fullBundles ? TileID.fullWidth : lastWidth)
            bundleIndex += 1
            let bundleID = TileID(level: 0, index: tile.index, width: tile.width, isEntryBundle: true)
            let entries = try EntryBundle.decode(try reader.read(bundleID), expected: tile.width, allowLonger: !tile.isFull, what: label(bundleID))
            let diskHashes = try diskTree.tileHashes(level: 0, index: tile.index)
            for (i, entry) in entries.enumerated() {
                let index = tile.index * UInt64(TileID.fullWidth) + UInt64(i)
                if Merkle.leafHash(entry) != diskHashes[i] {
                    if try tileMatchesParent(level: 0, index: tile.index, hashes: diskHashes, tree: diskTree, checkpoint: checkpoint) {
                        throw TransparencyLogError.entryChanged(index: index, path: label(bundleID))
                    }
                    throw TransparencyLogError.tileMismatch(level: 0, index: tile.index, path: label(tile))
                }
                try visit(index, entry)
                try builder.append(entry)
            }
            progress?.advance(items: entries.count)
            let (full, _) = builder.drain()
            for (id, bytes) in full where !id.isEntryBundle {
                let disk = try diskTree.tileHashes(level: id.level, index: id.index)
                if disk.flatMap(\.bytes) != bytes { throw TransparencyLogError.tileMismatch(level: id.level, index: id.index, path: label(id)) }
            }
        }
        let (_, partial) = builder.drain()
        for (id, bytes) in partial where !id.isEntryBundle {
            let disk = try diskTree.tileHashes(level: id.level, index: id.index)
            if disk.flatMap(\.bytes) != bytes { throw TransparencyLogError.tileMismatch(level: id.level, index: id.index, path: label(id)) }
        }
        guard builder.size == size, builder.rootHash == checkpoint.root else { throw TransparencyLogError.rootMismatch(size: size) }
    }

    /// True when the tile's hashes are the ones its parent records (the
    /// tile above, or for the right edge the checkpoint's root): then an
    /// entry that does not match it was changed, not the tile.
    private func tileMatchesParent(level: Int, index: UInt64, hashes: [TreeHash], tree: TiledTree, checkpoint: Checkpoint) throws -> Bool {
        if hashes.count == TileID.fullWidth {
            let parentIndex = index / UInt64(TileID.fullWidth)
            guard let parent = try? tree.tileHashes(level: level + 1, index: parentIndex) else { return false }
            let position = Int(index % UInt64(TileID.fullWidth))
            return position < parent.count && parent[position] == Merkle.rootHash(ofLeafHashes: hashes[...])
        }
        return (try? tree.rootHash(size: checkpoint.size)) == checkpoint.root
    }

    /// Checks that `newer` extends `older` (same origin, consistency proof
    /// computed from the tiles of `newer`'s tree). Both are already
    /// signature-checked.
    public func verifyConsistency(from older: Checkpoint, to newer: Checkpoint) throws {
        try older.checkAddressable(what: "the older checkpoint")
        try newer.checkAddressable(what: "checkpoint")
        guard Array(older.origin.utf8) == Array(newer.origin.utf8) else {
            throw TransparencyLogError.originMismatch(expected: older.origin, actual: newer.origin)
        }
        guard older.size <= newer.size else { throw TransparencyLogError.rollback(oldSize: older.size, newSize: newer.size) }
        let tree = TiledTree(size: newer.size, reader: reader, label: label)
        let proof = try ConsistencyProof.generate(oldSize: older.size, newSize: newer.size, source: tree)
        try ConsistencyProof.verify(oldSize: older.size, oldRoot: older.root, newSize: newer.size, newRoot: newer.root, proof: proof)
    }
}

extension Checkpoint {
    /// The largest tree size a tlog can address: 2^63 - 1. Go's sumdb/tlog
    /// (the reference implementation) holds sizes and indices as int64 and
    /// refuses a checkpoint with a larger size as malformed.
    public static let maximumSize = UInt64(Int64.max)

    /// Throws ``TransparencyLogError/malformedCheckpoint(what:reason:)``
    /// when the size is above ``maximumSize``: such a checkpoint, even one
    /// the log signed, describes no tree that can exist. `what` names it.
    public func checkAddressable(what: String) throws { try Self.checkAddressable(size: size, what: what) }

    /// The same check for a bare tree `size`.
    static func checkAddressable(size: UInt64, what: String) throws {
        guard size <= maximumSize else {
            throw TransparencyLogError.malformedCheckpoint(
                what: what, reason: "the tree size \(size) is larger than 2^63-1 (\(maximumSize)), the most a tlog can address")
        }
    }
}
