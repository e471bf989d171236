/// The Merkle tree of a given size read from tiles: answers complete
/// subtree hashes by reading the tile at level `h / 8` and hashing the
/// `2^(h % 8)` hashes below the requested node. Keeps the tiles it read.
public final class TiledTree: SubtreeHashSource {
    /// The tree size the tiles are read for.
    public let size: UInt64
    private let reader: TileReader
    private let label: (TileID) -> String
    private var cache: [TileID: [TreeHash]] = [:]

    /// The tree of `size` leaves whose tiles `reader` returns; `label` names
    /// a tile in errors (its file path).
    public init(size: UInt64, reader: TileReader, label: @escaping (TileID) -> String = { $0.path }) {
        self.size = size
        self.reader = reader
        self.label = label
    }

    /// The tile at `level` with `index`, at the width this tree size has.
    public func tileHashes(level: Int, index: UInt64) throws -> [TreeHash] {
        let count = size >> (UInt64(TileID.height) * UInt64(level))
        let fullTiles = count / UInt64(TileID.fullWidth)
        guard index <= fullTiles else {
            throw TransparencyLogError.indexOutOfRange(index: index, size: size)
        }
        let width = index < fullTiles ? TileID.fullWidth : Int(count % UInt64(TileID.fullWidth))
        guard width > 0 else { throw TransparencyLogError.indexOutOfRange(index: index, size: size) }
        let tile = TileID(level: level, index: index, width: width)
        if let cached = cache[tile] { return cached }
        let hashes = try TileBytes.hashes(try reader.read(tile), tile: tile, path: label(tile))
        if cache.count > 64 { cache.removeAll(keepingCapacity: true) }
        cache[tile] = hashes
        return hashes
    }

    public func subtreeHash(level: Int, index: UInt64) throws -> TreeHash {
        guard (index + 1) << UInt64(level) <= size else {
            throw TransparencyLogError.indexOutOfRange(index: index, size: size)
        }
        let tileLevel = level / TileID.height
        let inner = level % TileID.height
        let first = index << UInt64(inner)             // position at the tile's level
        let tileIndex = first / UInt64(TileID.fullWidth)
        let hashes = try tileHashes(level: tileLevel, index: tileIndex)
        let start = Int(first % UInt64(TileID.fullWidth))
        return Merkle.rootHash(ofLeafHashes: hashes[start..<(start + (1 << inner))])
    }
}
