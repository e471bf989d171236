/// Merkle inclusion proofs (RFC 6962 section 2.1.1, verified as RFC 9162
/// section 2.1.3.2 describes).
public enum InclusionProof {
    /// The audit path for leaf `index` in the tree of `size` leaves, from the
    /// leaf's sibling up to the root's child.
    public static func generate(index: UInt64, size: UInt64, source: some SubtreeHashSource) throws -> [TreeHash] {
        guard index < size else { throw TransparencyLogError.indexOutOfRange(index: index, size: size) }
        var proof: [TreeHash] = []
        try path(index, 0, size, source, &proof)
        return proof
    }

    private static func path(_ m: UInt64, _ lo: UInt64, _ hi: UInt64, _ source: some SubtreeHashSource, _ out: inout [TreeHash]) throws {
        let n = hi - lo
        if n <= 1 { return }
        let k = Merkle.split(n)
        if m < k {
            try path(m, lo, lo + k, source, &out)
            out.append(try source.rangeHash(lo + k, hi))
        } else {
            try path(m - k, lo + k, hi, source, &out)
            out.append(try source.rangeHash(lo, lo + k))
        }
    }

    /// The root that `proof` leads to from `leaf` at `index` in a tree of
    /// `size`, or nil when the proof has the wrong shape.
    public static func root(leaf: TreeHash, index: UInt64, size: UInt64, proof: [TreeHash]) -> TreeHash? {
        guard index < size else { return nil }
        var fn = index, sn = size - 1, r = leaf
        for p in proof {
            if sn == 0 { return nil }
            if fn & 1 == 1 || fn == sn {
                r = Merkle.nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                r = Merkle.nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 ? r : nil
    }

    /// Throws ``TransparencyLogError/inclusionFailed(index:size:)`` unless
    /// `proof` shows `leaf` at `index` in the tree of `size` with root `root`.
    public static func verify(leaf: TreeHash, index: UInt64, size: UInt64, proof: [TreeHash], root expected: TreeHash) throws {
        guard index < size else { throw TransparencyLogError.indexOutOfRange(index: index, size: size) }
        guard let computed = root(leaf: leaf, index: index, size: size, proof: proof), computed == expected else {
            throw TransparencyLogError.inclusionFailed(index: index, size: size)
        }
    }
}
