/// The right edge of a tiled tree, kept in memory while entries are
/// appended: the partial tile of every level and the partial entry bundle.
/// Appending fills them; a tile that reaches 256 hashes is emitted as a
/// full tile and its subtree hash goes into the level above.
public struct TileBuilder {
    /// Entries in the tree.
    public private(set) var size: UInt64
    /// The hashes of the partial tile at each level (index = level).
    private var edge: [[TreeHash]]
    /// The entries of the partial entry bundle.
    private var bundle: [[UInt8]]
    /// Full tiles and bundles completed since the last `drain`.
    private var completed: [(TileID, [UInt8])] = []

    /// An empty tree.
    public init() {
        size = 0
        edge = []
        bundle = []
    }

    /// The tree of `size` whose right edge is `edge` (the partial tile's
    /// hashes per level) and whose partial entry bundle is `bundle`.
    init(size: UInt64, edge: [[TreeHash]], bundle: [[UInt8]]) {
        self.size = size
        self.edge = edge
        self.bundle = bundle
    }

    /// Loads the right edge of the tree of `size` from `reader`, checking
    /// each partial bundle entry against its level-0 hash.
    public static func load(size: UInt64, reader: TileReader, label: @escaping (TileID) -> String) throws -> TileBuilder {
        let tree = TiledTree(size: size, reader: reader, label: label)
        var edge: [[TreeHash]] = []
        for level in 0..<TileID.levelCount(forSize: size) {
            let count = size >> (UInt64(TileID.height) * UInt64(level))
            let width = Int(count % UInt64(TileID.fullWidth))
            edge.append(width == 0 ? [] : try tree.tileHashes(level: level, index: count / UInt64(TileID.fullWidth)))
        }
        var bundle: [[UInt8]] = []
        let width = Int(size % UInt64(TileID.fullWidth))
        if width > 0 {
            let id = TileID(level: 0, index: size / UInt64(TileID.fullWidth), width: width, isEntryBundle: true)
            bundle = try EntryBundle.decode(try reader.read(id), expected: width, allowLonger: true, what: label(id))
            for (i, entry) in bundle.enumerated() where Merkle.leafHash(entry) != edge[0][i] {
                throw TransparencyLogError.entryChanged(index: size - UInt64(width) + UInt64(i), path: label(id))
            }
        }
        return TileBuilder(size: size, edge: edge, bundle: bundle)
    }

    /// Appends one entry (at most 65,535 bytes).
    public mutating func append(_ entry: [UInt8]) throws {
        guard entry.count <= EntryBundle.maxEntryBytes else {
            throw TransparencyLogError.tooLarge(what: "a log entry", limit: EntryBundle.maxEntryBytes)
        }
        let tileIndex = size / UInt64(TileID.fullWidth)
        bundle.append(entry)
        if bundle.count == TileID.fullWidth {
            completed.append((TileID(level: 0, index: tileIndex, width: TileID.fullWidth, isEntryBundle: true), EntryBundle.encode(bundle)))
            bundle.removeAll(keepingCapacity: true)
        }
        var hash = Merkle.leafHash(entry)
        var level = 0
        var index = tileIndex
        while true {
            if edge.count == level { edge.append([]) }
            edge[level].append(hash)
            guard edge[level].count == TileID.fullWidth else { break }
            completed.append((TileID(level: level, index: index, width: TileID.fullWidth), edge[level].flatMap(\.bytes)))
            hash = Merkle.rootHash(ofLeafHashes: edge[level][...])
            edge[level].removeAll(keepingCapacity: true)
            level += 1
            index /= UInt64(TileID.fullWidth)
        }
        size += 1
    }

    /// The root hash of the current tree, from the right edge alone (every
    /// subtree of the size's binary decomposition lies in a partial tile).
    public var rootHash: TreeHash {
        var root: TreeHash?
        for level in edge.indices {
            // Within a partial tile, the hashes split into complete subtrees
            // by the bits of its width, largest first.
            let hashes = edge[level]
            var start = 0
            var parts: [TreeHash] = []
            var bit = TileID.fullWidth >> 1
            while bit > 0 {
                if hashes.count & bit != 0 {
                    parts.append(Merkle.rootHash(ofLeafHashes: hashes[start..<(start + bit)]))
                    start += bit
                }
                bit >>= 1
            }
            for part in parts.reversed() { root = root.map { Merkle.nodeHash(part, $0) } ?? part }
        }
        return root ?? TreeHash.empty
    }

    /// The full tiles and bundles completed since the last drain (no
    /// partial ones); clears the completed list.
    public mutating func drainFull() -> (full: [(TileID, [UInt8])], partial: [(TileID, [UInt8])]) {
        defer { completed.removeAll() }
        return (completed, [])
    }

    /// The full tiles and bundles completed since the last call, then the
    /// partial tiles and bundle of the current size; clears the completed list.
    public mutating func drain() -> (full: [(TileID, [UInt8])], partial: [(TileID, [UInt8])]) {
        var partial: [(TileID, [UInt8])] = []
        for level in edge.indices where !edge[level].isEmpty {
            let index = (size >> (UInt64(TileID.height) * UInt64(level))) / UInt64(TileID.fullWidth)
            partial.append((TileID(level: level, index: index, width: edge[level].count), edge[level].flatMap(\.bytes)))
        }
        if !bundle.isEmpty {
            partial.append((TileID(level: 0, index: size / UInt64(TileID.fullWidth), width: bundle.count, isEntryBundle: true), EntryBundle.encode(bundle)))
        }
        defer { completed.removeAll() }
        return (completed, partial)
    }
}
