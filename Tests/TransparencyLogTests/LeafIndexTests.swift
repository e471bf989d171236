#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// The directory log's leaf index (`.leaf-index`): an append looks entries
/// up in it instead of reading every level-0 tile, a hit counts only with an
/// inclusion proof against the checkpoint, and a missing, damaged, foreign
/// or stale index is rebuilt or caught up, never trusted.
final class LeafIndexTests: XCTestCase {
    var root: URL!
    var signer: NoteSigner!

    override func setUpWithError() throws {
        root = try TestSupport.makeTemporaryDirectory("tlog-index")
        signer = try newSigner("example.com/models")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    /// The proof behind a hit hashes its in-tile siblings from the tile
    /// array the lookup keeps (``TileOverlay``): a kept array with any other
    /// hash forged gives a proof that misses the root, so the array the
    /// lookup trusts for later hits is exactly the one the root covers.
    func testTheProofThatVouchesForAKeptTileIsHashedFromThatTile() throws {
        let log = try makeLog(count: 300)
        let checkpoint = try log.checkpoint().checkpoint
        let tree = log.tree(size: checkpoint.size)
        let hashes = try tree.tileHashes(level: 0, index: 0)
        XCTAssertEqual(hashes.count, 256)
        func root(_ tile: [TreeHash], index: UInt64) throws -> TreeHash? {
            let proof = try InclusionProof.generate(index: index, size: checkpoint.size, source: TileOverlay(base: tree, tile: 0, hashes: tile))
            return InclusionProof.root(leaf: tile[Int(index)], index: index, size: checkpoint.size, proof: proof)
        }
        XCTAssertEqual(try root(hashes, index: 7), checkpoint.root)
        for forgedSlot in [0, 6, 8, 200, 255] {
            var forged = hashes
            forged[forgedSlot] = hashes[(forgedSlot + 1) % 256]
            XCTAssertNotEqual(try root(forged, index: 7), checkpoint.root, "a forged hash at slot \(forgedSlot) must break the proof")
        }
        // The last, partial tile (entries 256..<300) as well.
        let last = try tree.tileHashes(level: 0, index: 1)
        XCTAssertEqual(last.count, 44)
        let proof = try InclusionProof.generate(index: 290, size: checkpoint.size, source: TileOverlay(base: tree, tile: 1, hashes: last))
        XCTAssertEqual(InclusionProof.root(leaf: last[34], index: 290, size: checkpoint.size, proof: proof), checkpoint.root)
        var forged = last
        forged[40] = last[0]
        let forgedProof = try InclusionProof.generate(index: 290, size: checkpoint.size, source: TileOverlay(base: tree, tile: 1, hashes: forged))
        XCTAssertNotEqual(InclusionProof.root(leaf: last[34], index: 290, size: checkpoint.size, proof: forgedProof), checkpoint.root)
    }

    private func makeLog(_ name: String = "log", count: Int, prefix: String = "entry") throws -> DirectoryLog {
        let log = try DirectoryLog.create(directory: root.appendingPathComponent(name).path, signer: signer)
        if count > 0 { _ = try log.append(entries(count, prefix: prefix), signer: signer) }
        return log
    }

    private func verify(_ log: DirectoryLog) throws {
        let reader = log.reader
        try LogVerifier(reader: reader, label: { reader.path(of: $0) }).verify(try log.checkpoint().checkpoint)
    }

    private func move(_ from: String, _ to: String) throws {
        try FileManager.default.moveItem(atPath: from, toPath: to)
    }

    /// O(1) reads per entry: with the first level-0 tile gone, new entries
    /// and entries near the right edge still append (the old code read
    /// every level-0 tile and failed), while a duplicate of an entry in the
    /// missing tile cannot be proved and is refused, not appended again.
    func testAnAppendReadsNoLevelZeroTileFarFromTheEdge() throws {
        let log = try makeLog(count: 3000)
        let first = log.path("tile/0/000"), hidden = root.appendingPathComponent("hidden").path
        try move(first, hidden)
        let added = try log.append([Array("new entry\n".utf8)], signer: signer)
        XCTAssertEqual(added.indices, [3000])
        XCTAssertEqual(added.added, 1)
        let again = try log.append([entries(3000)[2999], Array("new entry\n".utf8)], signer: signer)
        XCTAssertEqual(again.indices, [2999, 3000])
        XCTAssertEqual(again.added, 0)
        assertLogError("tlog.truncated") { _ = try log.append([entries(3000)[7]], signer: signer) }
        try move(hidden, first)
        XCTAssertEqual(try log.append([entries(3000)[7]], signer: signer).indices, [7])
        XCTAssertEqual(try log.checkpoint().checkpoint.size, 3001)
        try verify(log)
    }

    /// Duplicates come back with their first index, across appends and
    /// inside one batch, through index growth (several rebuilds).
    func testDuplicatesKeepTheirIndexAsTheIndexGrows() throws {
        let log = try makeLog(count: 0)
        var all: [[UInt8]] = []
        for round in 0..<6 {
            let batch = entries(400 * (round + 1), prefix: "round \(round)")
            let result = try log.append(batch + batch.prefix(3), signer: signer)
            XCTAssertEqual(result.added, batch.count)
            XCTAssertEqual(Array(result.indices.suffix(3)), Array(result.indices.prefix(3)))
            all += batch
            let repeated = try log.append(all, signer: signer)
            XCTAssertEqual(repeated.added, 0)
            XCTAssertEqual(repeated.indices, (0..<UInt64(all.count)).map { $0 })
        }
        try verify(log)
    }

    /// A forged slot pointing a new entry at an existing index is not
    /// believed: the entry is appended at a new index.
    func testAForgedHitIsNotBelieved() throws {
        let log = try makeLog(count: 600)
        let size = try log.checkpoint().checkpoint.size
        let newcomer = Array("not logged yet\n".utf8)
        var index = try XCTUnwrap(LeafIndex.load(path: log.path(LeafIndex.fileName), tree: log.tree(size: size),
                                                 root: try log.checkpoint().checkpoint.root))
        for forged in [UInt64(5), 599, 10_000] { XCTAssertTrue(try index.insert(Merkle.leafHash(newcomer), index: forged)) }
        index.closeFile()
        let result = try log.append([newcomer], signer: signer)
        XCTAssertEqual(result.indices, [600])
        XCTAssertEqual(result.added, 1)
        try verify(log)
    }

    /// What someone who can write the index (but not sign) achieves by
    /// emptying it: a false miss, so an entry already logged is logged again
    /// (documented as wasteful, harmless). The log still verifies and both
    /// indices prove the same entry.
    func testAnEmptiedIndexCostsADuplicateNotTheLog() throws {
        let log = try makeLog(count: 300)
        let file = log.path(LeafIndex.fileName)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
        for i in LeafIndex.headerBytes..<bytes.count { bytes[i] = 0 }
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let result = try log.append([entries(300)[42]], signer: signer)
        XCTAssertEqual(result.indices, [300])
        try verify(log)
        let checkpoint = try log.checkpoint()
        for index in [UInt64(42), 300] {
            let hashes = try InclusionProof.generate(index: index, size: 301, source: log.tree(size: 301))
            try TlogProof(extra: nil, index: index, hashes: hashes, checkpoint: checkpoint.note)
                .verify(entry: entries(300)[42], logKey: signer.verifier, what: "p")
        }
    }

    /// Missing, damaged (header checksum, size) and foreign indices are
    /// rebuilt from the tiles: duplicates are still found.
    func testMissingDamagedAndForeignIndicesAreRebuilt() throws {
        let log = try makeLog(count: 700)
        let other = try makeLog("other", count: 700, prefix: "other")
        let file = log.path(LeafIndex.fileName)
        let damages: [(String, () throws -> Void)] = [
            ("missing", { try FileManager.default.removeItem(atPath: file) }),
            ("header", {
                var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
                bytes[20] ^= 1
                try Data(bytes).write(to: URL(fileURLWithPath: file))
            }),
            ("short", {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                try bytes.prefix(bytes.count - 16).write(to: URL(fileURLWithPath: file))
            }),
            ("foreign", {
                try FileManager.default.removeItem(atPath: file)
                try FileManager.default.copyItem(atPath: other.path(LeafIndex.fileName), toPath: file)
            }),
            ("a directory", {
                try FileManager.default.removeItem(atPath: file)
                try FileManager.default.createDirectory(atPath: file, withIntermediateDirectories: false)
            }),
        ]
        for (what, damage) in damages {
            try damage()
            let result = try log.append([entries(700)[123], entries(700)[699]], signer: signer)
            XCTAssertEqual(result.indices, [123, 699], what)
            XCTAssertEqual(result.added, 0, what)
        }
        // The directory in its way could not be replaced: the lookup ran in memory.
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) && isDirectory.boolValue)
        try FileManager.default.removeItem(atPath: file)
        XCTAssertEqual(try log.append([entries(700)[5]], signer: signer).indices, [5])
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))
        try verify(log)
    }

    /// An index older than the checkpoint (a crash after the checkpoint, or
    /// entries published from a store) is caught up from the tiles when the
    /// gap is short (the same table, its salt kept), rebuilt when it is long
    /// or the table fills.
    func testAStaleIndexIsCaughtUpOrRebuilt() throws {
        let log = try makeLog(count: 3000)
        let file = log.path(LeafIndex.fileName), saved = root.appendingPathComponent("saved-index").path
        func salt() throws -> [UInt8] {
            let checkpoint = try log.checkpoint().checkpoint
            let index = try XCTUnwrap(LeafIndex.load(path: file, tree: log.tree(size: checkpoint.size), root: checkpoint.root))
            defer { index.closeFile() }
            XCTAssertEqual(index.covered, checkpoint.size)
            return index.salt
        }
        let original = try salt()
        for (gap, caughtUp) in [(20, true), (2000, false)] {
            let size = Int(try log.checkpoint().checkpoint.size)
            try? FileManager.default.removeItem(atPath: saved)
            try FileManager.default.copyItem(atPath: file, toPath: saved)
            let later = entries(size + gap).suffix(gap).map { $0 }
            XCTAssertEqual(try log.append(later, signer: signer).added, gap)
            try FileManager.default.removeItem(atPath: file)
            try move(saved, file)
            // The index covers `size` of `size + gap`: the later entries are found all the same.
            let again = try log.append(later + [entries(3000)[1]], signer: signer)
            XCTAssertEqual(again.added, 0)
            XCTAssertEqual(again.indices, (size..<(size + gap)).map { UInt64($0) } + [1])
            XCTAssertEqual(try salt() == original, caughtUp, "gap \(gap)")
        }
        try verify(log)
    }

    /// The directory still reads as C2SP tlog-tiles: the index is one dot
    /// file beside `.lock`, and whole-log verification ignores it.
    func testTheIndexIsTheOnlyExtraFile() throws {
        let log = try makeLog(count: 10)
        let names = try FileManager.default.contentsOfDirectory(atPath: log.directory).sorted()
        XCTAssertEqual(names, [".leaf-index", ".lock", "checkpoint", "tile"])
        try verify(log)
    }
}
