/// Merkle consistency proofs (RFC 6962 section 2.1.2, verified as RFC 9162
/// section 2.1.4.2 describes).
public enum ConsistencyProof {
    /// The proof that the tree of `oldSize` leaves is a prefix of the tree of
    /// `newSize` leaves. Empty when the sizes are equal or `oldSize` is 0.
    public static func generate(oldSize: UInt64, newSize: UInt64, source: some SubtreeHashSource) throws -> [TreeHash] {
        guard oldSize <= newSize else { throw TransparencyLogError.rollback(oldSize: oldSize, newSize: newSize) }
        if oldSize == 0 || oldSize == newSize { return [] }
        var proof: [TreeHash] = []
        try subproof(oldSize, 0, newSize, true, source, &proof)
        return proof
    }

    private static func subproof(_ m: UInt64, _ lo: UInt64, _ hi: UInt64, _ complete: Bool, _ source: some SubtreeHashSource,
                                 _ out: inout [TreeHash]) throws {
        let n = hi - lo
        if m == n {
            if !complete { out.append(try source.rangeHash(lo, hi)) }
            return
        }
        let k = Merkle.split(n)
        if m <= k {
            try subproof(m, lo, lo + k, complete, source, &out)
            out.append(try source.rangeHash(lo + k, hi))
        } else {
            try subproof(m - k, lo + k, hi, false, source, &out)
            out.append(try source.rangeHash(lo, lo + k))
        }
    }

    /// Throws ``TransparencyLogError/inconsistent(oldSize:newSize:)`` unless
    /// `proof` shows the tree (`oldSize`, `oldRoot`) is a prefix of the tree
    /// (`newSize`, `newRoot`); ``TransparencyLogError/rollback(oldSize:newSize:)``
    /// when the new tree is smaller.
    public static func verify(oldSize: UInt64, oldRoot: TreeHash, newSize: UInt64, newRoot: TreeHash, proof: [TreeHash]) throws {
        guard oldSize <= newSize else { throw TransparencyLogError.rollback(oldSize: oldSize, newSize: newSize) }
        let failure = TransparencyLogError.inconsistent(oldSize: oldSize, newSize: newSize)
        if oldSize == newSize {
            guard proof.isEmpty, oldRoot == newRoot else { throw failure }
            return
        }
        if oldSize == 0 {
            guard proof.isEmpty, oldRoot == TreeHash.empty else { throw failure }
            return
        }
        guard !proof.isEmpty else { throw failure }
        // A power-of-two old tree is a complete subtree: its root starts the path.
        let path = oldSize & (oldSize - 1) == 0 ? [oldRoot] + proof : proof
        var fn = oldSize - 1, sn = newSize - 1
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { throw failure }
            if fn & 1 == 1 || fn == sn {
                fr = Merkle.nodeHash(c, fr)
                sr = Merkle.nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                sr = Merkle.nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0, fr == oldRoot, sr == newRoot else { throw failure }
    }
}
