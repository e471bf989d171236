import ModelSecCrypto
@testable import TransparencyLog
import XCTest

/// RFC 6962 hashing, inclusion and consistency proofs: generated from tiles
/// and from the leaves directly, verified, and refused when altered.
final class MerkleProofTests: XCTestCase {
    func testHashingMatchesRFC6962() {
        // SHA-256 of the empty string, and of the single byte 0x00 (the empty leaf).
        XCTAssertEqual(TreeHash.empty.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(Merkle.leafHash([UInt8]()).hex, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        let a = Merkle.leafHash([1]), b = Merkle.leafHash([2])
        XCTAssertEqual(Merkle.nodeHash(a, b), TreeHash(digest: SHA2.SHA256.hash(data: [1] + a.bytes + b.bytes)))
        XCTAssertEqual(Merkle.rootHash(ofLeafHashes: [a, b][...]), Merkle.nodeHash(a, b))
        // Three leaves: the split is 2 + 1.
        let c = Merkle.leafHash([3])
        XCTAssertEqual(Merkle.rootHash(ofLeafHashes: [a, b, c][...]), Merkle.nodeHash(Merkle.nodeHash(a, b), c))
    }

    func testEveryInclusionProofUpToSeventyLeavesVerifiesAndAlteredOnesFail() throws {
        let all = entries(70)
        for size in 1...70 {
            let tree = NaiveTree(entries: Array(all[0..<size]))
            let root = try tree.rootHash(size: UInt64(size))
            for index in 0..<size {
                let proof = try InclusionProof.generate(index: UInt64(index), size: UInt64(size), source: tree)
                try InclusionProof.verify(leaf: tree.leaves[index], index: UInt64(index), size: UInt64(size), proof: proof, root: root)
                assertLogError("tlog.inclusion-failed") {
                    try InclusionProof.verify(leaf: Merkle.leafHash([0xFF]), index: UInt64(index), size: UInt64(size), proof: proof, root: root)
                }
                if !proof.isEmpty {
                    var bad = proof
                    bad[bad.count / 2] = Merkle.leafHash([9])
                    assertLogError("tlog.inclusion-failed") {
                        try InclusionProof.verify(leaf: tree.leaves[index], index: UInt64(index), size: UInt64(size), proof: bad, root: root)
                    }
                    assertLogError("tlog.inclusion-failed") {
                        try InclusionProof.verify(leaf: tree.leaves[index], index: UInt64(index), size: UInt64(size), proof: proof + [root], root: root)
                    }
                }
            }
        }
    }

    func testEveryConsistencyProofUpToFortyLeavesVerifiesAndForksFail() throws {
        let all = entries(40)
        let forked = entries(40, prefix: "fork")
        for newSize in 1...40 {
            let tree = NaiveTree(entries: Array(all[0..<newSize]))
            let newRoot = try tree.rootHash(size: UInt64(newSize))
            for oldSize in 0...newSize {
                let oldRoot = try tree.rootHash(size: UInt64(oldSize))
                let proof = try ConsistencyProof.generate(oldSize: UInt64(oldSize), newSize: UInt64(newSize), source: tree)
                try ConsistencyProof.verify(oldSize: UInt64(oldSize), oldRoot: oldRoot, newSize: UInt64(newSize), newRoot: newRoot, proof: proof)
                if oldSize > 0 && oldSize < newSize {
                    // Another history of the same old size is not consistent with this tree.
                    let otherRoot = try NaiveTree(entries: Array(forked[0..<oldSize])).rootHash(size: UInt64(oldSize))
                    assertLogError("tlog.inconsistent") {
                        try ConsistencyProof.verify(oldSize: UInt64(oldSize), oldRoot: otherRoot, newSize: UInt64(newSize), newRoot: newRoot, proof: proof)
                    }
                    assertLogError("tlog.inconsistent") {
                        try ConsistencyProof.verify(oldSize: UInt64(oldSize), oldRoot: oldRoot, newSize: UInt64(newSize), newRoot: newRoot, proof: Array(proof.dropLast()))
                    }
                }
            }
        }
        assertLogError("tlog.rollback") {
            try ConsistencyProof.verify(oldSize: 5, oldRoot: TreeHash.empty, newSize: 4, newRoot: TreeHash.empty, proof: [])
        }
    }

    func testTilesGiveTheSameRootsAndProofsAsTheLeavesAcrossTileBoundaries() throws {
        let all = entries(70_000)
        let naive = NaiveTree(entries: all)
        var builder = TileBuilder()
        let tiles = MemoryTiles()
        let checkpoints: Set<Int> = [1, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 70_000]
        for (i, entry) in all.enumerated() {
            try builder.append(entry)
            guard checkpoints.contains(i + 1) else { continue }
            tiles.store(&builder)
            let size = UInt64(i + 1)
            let expected = try naive.rangeHash(0, size)
            XCTAssertEqual(builder.rootHash, expected, "size \(size)")
            let tiled = TiledTree(size: size, reader: tiles)
            XCTAssertEqual(try tiled.rootHash(size: size), expected)
            for index in [0, size / 2, size - 1] {
                XCTAssertEqual(try InclusionProof.generate(index: index, size: size, source: tiled),
                               try InclusionProof.generate(index: index, size: size, source: naive))
            }
            XCTAssertEqual(try ConsistencyProof.generate(oldSize: size / 3, newSize: size, source: tiled),
                           try ConsistencyProof.generate(oldSize: size / 3, newSize: size, source: naive))
            // Reloading the right edge from the tiles continues the same tree.
            let reloaded = try TileBuilder.load(size: size, reader: tiles, label: { $0.path })
            XCTAssertEqual(reloaded.rootHash, expected)
        }
        // A tree of 70,000: 273 full level-0 tiles, one of width 112; level 1 full + width 17; level 2 width 1 (the spec's example).
        XCTAssertEqual(TileID.tiles(forSize: 70_000, level: 0).last, TileID(level: 0, index: 273, width: 112))
        XCTAssertEqual(TileID.tiles(forSize: 70_000, level: 1), [TileID(level: 1, index: 0, width: 256), TileID(level: 1, index: 1, width: 17)])
        XCTAssertEqual(TileID.tiles(forSize: 70_000, level: 2), [TileID(level: 2, index: 0, width: 1)])
    }

    func testTilePathsUseThreeDigitGroups() {
        XCTAssertEqual(TileID(level: 0, index: 1_234_067, width: 256).path, "tile/0/x001/x234/067")
        XCTAssertEqual(TileID(level: 2, index: 5, width: 17).path, "tile/2/005.p/17")
        XCTAssertEqual(TileID(level: 0, index: 1000, width: 3, isEntryBundle: true).path, "tile/entries/x001/000.p/3")
        XCTAssertEqual(TileID(level: 0, index: 0, width: 256, isEntryBundle: true).path, "tile/entries/000")
    }
}
