import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// `log prove --release` finds the entry through the leaf index (walk12 F5)
/// instead of reading and verifying the whole log, and the index is never
/// believed: the proof is byte for byte the one the whole-log read gives,
/// entries appended after the index was written are found from their
/// level-0 tiles, a missing, tampered or wrong index falls back to the
/// whole-log read (and says so), and a forged hit (index and level-0 tile
/// both altered) is rejected by the inclusion check, never proven. That the
/// index path reads O(log n) tiles is shown deterministically: it works
/// with every entry bundle deleted, which the whole-log read needs.
final class LogProveIndexTests: LogCLITestCase {
    var vkey: String!
    override var temporaryPrefix: String { "tlog-prove-index" }

    func appendBundle(_ log: String, count: Int, prefix: String) throws {
        let bundle = path("\(prefix).bin")
        try Data(EntryBundle.encode(entries(count, prefix: prefix))).write(to: URL(fileURLWithPath: bundle))
        try ok(["log", "append", log, "--key", path("log.pem"), "--entry-bundle", bundle])
    }

    func appendRelease(_ log: String, _ release: String) throws -> UInt64 {
        let appended = try json(try ok(["log", "append", log, "--key", path("log.pem"), "--release", release, "--json"]))
        return UInt64(try XCTUnwrap(appended["firstIndex"] as? Int))
    }

    /// A copy of the log directory `log` as `name`, without its leaf index when `withIndex` is false.
    func copy(_ log: String, _ name: String, withIndex: Bool = true) throws -> String {
        let target = path(name)
        try FileManager.default.copyItem(atPath: log, toPath: target)
        if !withIndex { try FileManager.default.removeItem(atPath: target + "/" + LeafIndex.fileName) }
        return target
    }

    /// `log prove LOG --release REL --output OUT`: the result, and the proof's bytes when it wrote one.
    func prove(_ log: String, _ release: String, _ output: String) throws -> (result: TestSupport.ProcessResult, proof: Data?) {
        let result = try TestSupport.modelsec(["log", "prove", log, "--log-key", vkey, "--release", release, "--output", path(output), "--json"])
        return (result, FileManager.default.contents(atPath: path(output)))
    }

    /// Rewrites every filled slot of the leaf index at `file` with `change(index)` (the slots are not checksummed).
    func rewriteSlots(_ file: String, _ change: (UInt64) -> UInt64?) throws {
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
        var offset = LeafIndex.headerBytes
        while offset + LeafIndex.slotBytes <= bytes.count {
            let value = bytes[(offset + 8)..<(offset + 16)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if value != 0, let new = change(value - 1) {
                for i in 0..<8 { bytes[offset + 8 + i] = UInt8(truncatingIfNeeded: (new + 1) >> UInt64(56 - 8 * i)) }
            }
            offset += LeafIndex.slotBytes
        }
        try Data(bytes).write(to: URL(fileURLWithPath: file))
    }

    func removeBundles(_ log: String) throws {
        try FileManager.default.removeItem(atPath: log + "/tile/entries")
    }

    func testProveFindsTheEntryThroughTheIndexAndNeverTrustsIt() throws {
        try FileManager.default.createDirectory(atPath: path("model"), withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: URL(fileURLWithPath: path("model/weights.bin")))
        for (name, type) in [("log.pem", "ed25519"), ("signer.pem", "ed25519"), ("deploy.pem", "x25519")] {
            try ok(["keygen", "--type", type, "--out", path(name)])
        }
        var releases: [String] = []
        for version in ["1.0.0", "1.0.1", "1.0.2"] {
            let output = path("rel-\(version)")
            try ok(["release", "create", path("model"), "--name", "bert", "--version", version, "--signing-key", path("signer.pem"),
                    "--recipient", path("deploy.pem.pub"), "--no-scan", "--output", output])
            releases.append(output)
        }
        let log = path("log")
        vkey = try XCTUnwrap(try json(try ok(["log", "init", "--origin", "example.com/prove", "--key", path("log.pem"), log, "--json"]))["vkey"] as? String)
        // rel-1.0.0 in the third level-0 tile, rel-1.0.1 two tiles on.
        try appendBundle(log, count: 600, prefix: "before")
        let first = try appendRelease(log, releases[0])
        try appendBundle(log, count: 500, prefix: "between")
        let staleIndex = try Data(contentsOf: URL(fileURLWithPath: log + "/" + LeafIndex.fileName))
        let second = try appendRelease(log, releases[1])
        try appendBundle(log, count: 40, prefix: "after")
        XCTAssertEqual([first, second], [600, 1101])

        // The reference: the whole-log read (no index), which says it reads the whole log.
        let full = try prove(try copy(log, "log-full", withIndex: false), releases[0], "full.proof")
        XCTAssertEqual(full.result.status, 0, full.result.stderrText)
        XCTAssertTrue(full.result.stderrText.contains("reading and verifying the whole log"), full.result.stderrText)
        XCTAssertEqual(try json(full.result)["index"] as? Int, 600)
        let fullProof = try XCTUnwrap(full.proof)

        // Through the index: the same proof, no whole-log read, and no entry bundle needed.
        let indexed = try prove(log, releases[0], "indexed.proof")
        XCTAssertEqual(indexed.result.status, 0, indexed.result.stderrText)
        XCTAssertFalse(indexed.result.stderrText.contains("whole log"), indexed.result.stderrText)
        XCTAssertEqual(indexed.proof, fullProof)
        try ok(["log", "check-proof", path("indexed.proof"), "--log-key", vkey, "--release", releases[0]])
        let noBundles = try copy(log, "log-no-bundles")
        try removeBundles(noBundles)
        let sparse = try prove(noBundles, releases[0], "sparse.proof")
        XCTAssertEqual(sparse.result.status, 0, sparse.result.stderrText)
        XCTAssertEqual(sparse.proof, fullProof)
        // ...which the whole-log read does need.
        let noBundlesNoIndex = try copy(noBundles, "log-no-bundles-no-index", withIndex: false)
        let unreadable = try prove(noBundlesNoIndex, releases[0], "unreadable.proof")
        XCTAssertEqual(unreadable.result.status, 1, unreadable.result.stderrText)
        XCTAssertNil(unreadable.proof)

        // A stale index (written before rel-1.0.1 was appended): the entries after it come from their level-0 tiles.
        let stale = try copy(noBundles, "log-stale")
        try staleIndex.write(to: URL(fileURLWithPath: stale + "/" + LeafIndex.fileName))
        let staleProof = try prove(stale, releases[1], "stale.proof")
        XCTAssertEqual(staleProof.result.status, 0, staleProof.result.stderrText)
        XCTAssertFalse(staleProof.result.stderrText.contains("whole log"), staleProof.result.stderrText)
        XCTAssertEqual(try json(staleProof.result)["index"] as? Int, 1101)
        let fullSecond = try prove(path("log-full"), releases[1], "full-second.proof")
        XCTAssertEqual(fullSecond.result.status, 0, fullSecond.result.stderrText)
        XCTAssertEqual(staleProof.proof, try XCTUnwrap(fullSecond.proof))

        // A tampered index whose every slot names another index: no hit is
        // proven, so it falls back to the whole-log read and the proof is the same.
        let tampered = try copy(log, "log-tampered")
        try rewriteSlots(tampered + "/" + LeafIndex.fileName) { ($0 + 1) % 1141 }
        let fallback = try prove(tampered, releases[0], "fallback.proof")
        XCTAssertEqual(fallback.result.status, 0, fallback.result.stderrText)
        XCTAssertTrue(fallback.result.stderrText.contains("reading and verifying the whole log"), fallback.result.stderrText)
        XCTAssertEqual(fallback.proof, fullProof)

        // A forged hit: the index names index 5 for rel-1.0.0 and the level-0
        // tile holds its leaf hash there. The inclusion check rejects it (the
        // tile no longer leads to the checkpoint's root), the whole-log read
        // then finds the altered tile, and no proof is written.
        let forged = try copy(log, "log-forged")
        try rewriteSlots(forged + "/" + LeafIndex.fileName) { $0 == 600 ? 5 : nil }
        let tile2 = try Array(Data(contentsOf: URL(fileURLWithPath: forged + "/tile/0/002")))
        var tile0 = try Array(Data(contentsOf: URL(fileURLWithPath: forged + "/tile/0/000")))
        tile0.replaceSubrange((5 * 32)..<(6 * 32), with: tile2[((600 - 512) * 32)..<((601 - 512) * 32)])
        try Data(tile0).write(to: URL(fileURLWithPath: forged + "/tile/0/000"))
        let rejected = try prove(forged, releases[0], "forged.proof")
        XCTAssertEqual(rejected.result.status, 1, rejected.result.stderrText)
        XCTAssertNil(rejected.proof)
        XCTAssertEqual((try json(rejected.result)["error"] as? [String: Any])?["code"] as? String, "tlog.tile-mismatch", rejected.result.stderrText)

        // The library says the same: the forged hit is not found, the honest one is.
        let verifier = try NoteVerifier(vkey: vkey)
        let leaf = TreeHash(bytes: Array(tile2[((600 - 512) * 32)..<((601 - 512) * 32)]))!
        let honestLog = DirectoryLog(directory: log, logKey: verifier)
        let forgedLog = DirectoryLog(directory: forged, logKey: verifier)
        let entry = try XCTUnwrap(try releaseEntry(in: honestLog, at: 600))
        XCTAssertEqual(Merkle.leafHash(entry), leaf)
        XCTAssertEqual(honestLog.findIndexed(entry, in: try honestLog.checkpoint().checkpoint), .found(600))
        guard case .unknown = forgedLog.findIndexed(entry, in: try forgedLog.checkpoint().checkpoint) else {
            return XCTFail("a forged hit was taken")
        }

        // An entry that is not logged: the index has no hit, and the whole-log read says so.
        let missing = try prove(log, releases[2], "missing.proof")
        XCTAssertEqual(missing.result.status, 1, missing.result.stderrText)
        XCTAssertTrue(missing.result.stderrText.contains("bert@1.0.2 is not in the log"), missing.result.stderrText)
    }

    /// The entry bytes at `index`, from its bundle.
    func releaseEntry(in log: DirectoryLog, at index: UInt64) throws -> [UInt8]? {
        let size = try log.checkpoint().checkpoint.size
        let tile = TileID(level: 0, index: index / 256, width: index / 256 < size / 256 ? 256 : Int(size % 256), isEntryBundle: true)
        return try EntryBundle.decode(try log.reader.read(tile), expected: tile.width, allowLonger: !tile.isFull, what: tile.path)[Int(index % 256)]
    }
}
