/// C2SP tlog-tiles entry bundles: entries each prefixed by its length as a
/// big-endian uint16.
public enum EntryBundle {
    /// The largest entry a bundle can hold.
    public static let maxEntryBytes = Int(UInt16.max)

    /// Concatenates length-prefixed entries.
    public static func encode(_ entries: some Collection<[UInt8]>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(0) { $0 + 2 + $1.count })
        for entry in entries {
            precondition(entry.count <= maxEntryBytes)
            out.append(UInt8(entry.count >> 8))
            out.append(UInt8(entry.count & 0xFF))
            out.append(contentsOf: entry)
        }
        return out
    }

    /// Splits a bundle into at most `limit` entries (extra entries after
    /// `limit` are ignored only when `allowLonger`: a full bundle read in
    /// place of a partial one). Throws on a short or stray tail.
    public static func decode(_ bytes: [UInt8], expected count: Int, allowLonger: Bool = false, what: String) throws -> [[UInt8]] {
        var entries: [[UInt8]] = []
        entries.reserveCapacity(count)
        var offset = 0
        while offset < bytes.count {
            if entries.count == count {
                // A full bundle may stand in for a partial one (the partial is
                // removed once the full one exists): then the rest must be
                // exactly the full bundle's other entries, never a stray tail.
                if allowLonger, Self.count(bytes[offset...]) == TileID.fullWidth - count { break }
                throw TransparencyLogError.altered(path: what, reason: "holds more than \(count) entries")
            }
            guard offset + 2 <= bytes.count else { throw TransparencyLogError.truncated(path: what, reason: "ends inside a length prefix") }
            let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            offset += 2
            guard offset + length <= bytes.count else { throw TransparencyLogError.truncated(path: what, reason: "ends inside entry \(entries.count)") }
            entries.append(Array(bytes[offset..<(offset + length)]))
            offset += length
        }
        guard entries.count == count else {
            throw TransparencyLogError.truncated(path: what, reason: "holds \(entries.count) entries, expected \(count)")
        }
        return entries
    }

    /// How many whole length-prefixed entries `bytes` holds (nil when it
    /// ends inside one).
    private static func count(_ bytes: ArraySlice<UInt8>) -> Int? {
        var offset = bytes.startIndex, count = 0
        while offset < bytes.endIndex {
            guard offset + 2 <= bytes.endIndex else { return nil }
            offset += 2 + (Int(bytes[offset]) << 8 | Int(bytes[offset + 1]))
            guard offset <= bytes.endIndex else { return nil }
            count += 1
        }
        return count
    }
}
