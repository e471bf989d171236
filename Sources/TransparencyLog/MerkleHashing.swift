import Foundation
import ModelSecCrypto

/// RFC 6962 section 2.1 / RFC 9162 section 2.1.1 hashing: leaves are
/// `SHA-256(0x00 || entry)`, interior nodes `SHA-256(0x01 || left || right)`.
public enum Merkle {
    /// The leaf hash of one log entry.
    public static func leafHash<D: ContiguousBytes>(_ entry: D) -> TreeHash {
        var h = SHA2.SHA256.hasher()
        h.update([UInt8(0)])
        h.update(entry)
        return TreeHash(digest: h.finalize())
    }

    /// The hash of an interior node from its two children.
    public static func nodeHash(_ left: TreeHash, _ right: TreeHash) -> TreeHash {
        var h = SHA2.SHA256.hasher()
        h.update([UInt8(1)])
        h.update(left.bytes)
        h.update(right.bytes)
        return TreeHash(digest: h.finalize())
    }

    /// The largest power of two strictly smaller than `n` (n >= 2): the
    /// split point RFC 6962 calls k.
    static func split(_ n: UInt64) -> UInt64 {
        precondition(n >= 2)
        return UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    /// MTH of a list of hashes taken as the leaves of a tree (RFC 6962's
    /// recursion), used for the subtree inside one tile and in tests.
    public static func rootHash(ofLeafHashes hashes: ArraySlice<TreeHash>) -> TreeHash {
        switch hashes.count {
        case 0: return TreeHash.empty
        case 1: return hashes[hashes.startIndex]
        default:
            let k = Int(split(UInt64(hashes.count)))
            let mid = hashes.startIndex + k
            return nodeHash(rootHash(ofLeafHashes: hashes[hashes.startIndex..<mid]), rootHash(ofLeafHashes: hashes[mid...]))
        }
    }
}

/// Where the hashes of complete subtrees come from: tiles on disk, tiles in
/// memory. `level` is the subtree height (2^level leaves) and `index` its
/// position at that height, so it covers leaves
/// `[index << level, (index + 1) << level)`.
public protocol SubtreeHashSource {
    /// The hash of a complete subtree inside the source's tree.
    func subtreeHash(level: Int, index: UInt64) throws -> TreeHash
}

extension SubtreeHashSource {
    /// MTH(D[lo:hi]) for a range whose left end is aligned as RFC 6962's
    /// recursion leaves it (every range this library asks for is).
    public func rangeHash(_ lo: UInt64, _ hi: UInt64) throws -> TreeHash {
        let n = hi - lo
        if n == 0 { return TreeHash.empty }
        if n & (n - 1) == 0, lo % n == 0 {
            let level = n.trailingZeroBitCount
            return try subtreeHash(level: level, index: lo >> level)
        }
        let k = Merkle.split(n)
        return Merkle.nodeHash(try rangeHash(lo, lo + k), try rangeHash(lo + k, hi))
    }

    /// The root hash of the tree of the first `size` leaves.
    public func rootHash(size: UInt64) throws -> TreeHash { try rangeHash(0, size) }
}
