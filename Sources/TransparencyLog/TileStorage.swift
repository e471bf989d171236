#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelSecIO

/// Reads the raw bytes of tiles and entry bundles.
public protocol TileReader {
    /// The bytes stored for `tile`; throws ``TransparencyLogError/truncated(path:reason:)``
    /// when it is absent.
    func read(_ tile: TileID) throws -> [UInt8]
}

/// Tiles as files below a log directory, laid out as C2SP tlog-tiles
/// serves them. A partial tile that is gone is read from its full tile
/// (its first W hashes are the same), as the spec allows a log to delete
/// partial tiles once the full one exists.
public struct DirectoryTileReader: TileReader {
    /// The log directory (holding `checkpoint` and `tile/`).
    public let directory: String
    /// Largest entry bundle accepted (256 entries of at most 65,535 bytes plus prefixes).
    public static let maxBundleBytes = TileID.fullWidth * (2 + 65_535)

    /// A reader of the log in `directory`.
    public init(directory: String) { self.directory = directory }

    /// The path of `tile` in the directory.
    public func path(of tile: TileID) -> String { (directory as NSString).appendingPathComponent(tile.path) }

    public func read(_ tile: TileID) throws -> [UInt8] {
        let limit = tile.isEntryBundle ? Self.maxBundleBytes : TileID.fullWidth * TreeHash.byteCount
        if let bytes = try readIfPresent(path(of: tile), limit: limit) { return bytes }
        if !tile.isFull, let full = try readIfPresent(path(of: tile.full), limit: limit) { return full }
        throw TransparencyLogError.truncated(path: path(of: tile), reason: "missing")
    }

    private func readIfPresent(_ path: String, limit: Int) throws -> [UInt8]? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw FileError(path: path, reason: FileIO.errnoDescription(errno))
        }
        // Refused before reading: a tile or bundle is never larger than this.
        guard st.st_size <= limit else { throw TransparencyLogError.altered(path: path, reason: "\(st.st_size) bytes, more than a tile or bundle holds (\(limit) bytes)") }
        return try FileIO.readRegularFile(path, limit: limit)
    }
}

/// Splits tile bytes into hashes, checking the size against the width.
enum TileBytes {
    /// The first `tile.width` hashes of `bytes` (a full tile may stand in
    /// for a partial one); throws when there are too few or a stray tail.
    static func hashes(_ bytes: [UInt8], tile: TileID, path: String) throws -> [TreeHash] {
        let wanted = tile.width * TreeHash.byteCount
        guard bytes.count % TreeHash.byteCount == 0 else {
            if bytes.count > wanted {
                throw TransparencyLogError.altered(path: path, reason: "\(bytes.count) bytes, expected \(wanted) (\(tile.width) hashes)")
            }
            throw TransparencyLogError.truncated(path: path, reason: "\(bytes.count) bytes is not a whole number of hashes")
        }
        let available = bytes.count / TreeHash.byteCount
        guard available == tile.width || (available == TileID.fullWidth && !tile.isFull) else {
            if available > tile.width {
                throw TransparencyLogError.altered(path: path, reason: "\(bytes.count) bytes, expected \(wanted) (\(tile.width) hashes)")
            }
            throw TransparencyLogError.truncated(path: path, reason: "holds \(available) hashes, expected \(tile.width)")
        }
        return (0..<tile.width).map { i in TreeHash(bytes: Array(bytes[(i * 32)..<(i * 32 + 32)]))! }
    }
}
