/// One C2SP tlog-tiles resource: a Merkle tile (`tile/<L>/<N>[.p/<W>]`) or
/// an entry bundle (`tile/entries/<N>[.p/<W>]`).
public struct TileID: Hashable, Sendable, CustomStringConvertible {
    /// Hashes (or entries) in a full tile.
    public static let fullWidth = 256
    /// The tile height: each tile spans 8 levels of the tree.
    public static let height = 8

    /// The tile level (0...63); ignored for entry bundles.
    public let level: Int
    /// The tile's index within its level.
    public let index: UInt64
    /// Number of hashes (1...256); 256 is a full tile.
    public let width: Int
    /// True for an entry bundle instead of a hash tile.
    public let isEntryBundle: Bool

    /// A tile or bundle id.
    public init(level: Int, index: UInt64, width: Int, isEntryBundle: Bool = false) {
        precondition((0...63).contains(level) && (1...Self.fullWidth).contains(width))
        self.level = isEntryBundle ? 0 : level
        self.index = index
        self.width = width
        self.isEntryBundle = isEntryBundle
    }

    /// True when the tile holds 256 hashes.
    public var isFull: Bool { width == Self.fullWidth }

    /// The same tile at full width.
    public var full: TileID { TileID(level: level, index: index, width: Self.fullWidth, isEntryBundle: isEntryBundle) }

    /// The path relative to the log prefix, e.g. `tile/0/x001/x234/067.p/5`.
    public var path: String {
        let base = isEntryBundle ? "tile/entries/" : "tile/\(level)/"
        return base + Self.encodeIndex(index) + (isFull ? "" : ".p/\(width)")
    }

    public var description: String { path }

    /// `N` as zero-padded 3-digit groups, all but the last prefixed by `x`.
    static func encodeIndex(_ n: UInt64) -> String {
        var groups: [String] = []
        var rest = n
        repeat {
            let group = String(rest % 1000)
            groups.append(String(repeating: "0", count: 3 - group.count) + group)
            rest /= 1000
        } while rest > 0
        return groups.reversed().enumerated().map { i, g in i < groups.count - 1 ? "x" + g : g }.joined(separator: "/")
    }

    /// The tiles (level 0 upwards) that the tree of `size` leaves needs at
    /// its right edge, partial ones included, plus the entry bundles: for
    /// every level, all full tiles and the one partial tile.
    public static func tiles(forSize size: UInt64, level: Int) -> [TileID] {
        let count = size >> (UInt64(height) * UInt64(level))
        guard count > 0 else { return [] }
        var out: [TileID] = []
        let fullTiles = count / UInt64(fullWidth)
        for i in 0..<fullTiles { out.append(TileID(level: level, index: i, width: fullWidth)) }
        let partial = Int(count % UInt64(fullWidth))
        if partial > 0 { out.append(TileID(level: level, index: fullTiles, width: partial)) }
        return out
    }

    /// The number of levels holding at least one hash for `size` leaves.
    public static func levelCount(forSize size: UInt64) -> Int {
        var levels = 0
        var count = size
        while count > 0 { levels += 1; count >>= UInt64(height) }
        return levels
    }
}
