import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// The directory log: appends, whole-log verification, proofs, witnesses,
/// and each kind of tampering refused with its own error.
final class DirectoryLogTests: XCTestCase {
    var root: URL!
    var signer: NoteSigner!

    override func setUpWithError() throws {
        root = try TestSupport.makeTemporaryDirectory("tlog")
        signer = try newSigner("example.com/models")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func makeLog(_ name: String = "log", batches: [Int], prefix: String = "entry") throws -> DirectoryLog {
        let log = try DirectoryLog.create(directory: root.appendingPathComponent(name).path, signer: signer)
        var next = 0
        for count in batches {
            _ = try log.append(entries(next + count, prefix: prefix).suffix(count).map { $0 }, signer: signer)
            next += count
        }
        return log
    }

    func verify(_ log: DirectoryLog) throws {
        let reader = log.reader
        try LogVerifier(reader: reader, label: { reader.path(of: $0) }).verify(try log.checkpoint().checkpoint)
    }

    /// The lock file is opened with O_NOFOLLOW (review12 B8): a link planted
    /// at `.lock` is refused, and the file it points at is neither created
    /// nor locked.
    func testALinkAtTheLockFileIsRefused() throws {
        let log = try makeLog(batches: [1])
        let lock = root.appendingPathComponent("log").appendingPathComponent(DirectoryLog.lockFile).path
        let target = root.appendingPathComponent("elsewhere").path
        try? FileManager.default.removeItem(atPath: lock)
        XCTAssertEqual(symlink(target, lock), 0)
        XCTAssertThrowsError(try log.append([Array("late\n".utf8)], signer: signer))
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "the lock followed the link")
        XCTAssertEqual(try log.checkpoint().checkpoint.size, 1)
    }

    /// walk12 F9: a tile or bundle with bytes appended is "altered" (exit 1,
    /// tlog.file-altered), on a full tile as on a partial one and on a
    /// bundle; before, a partial tile or bundle was called "truncated" and a
    /// full tile "larger than the limit" (exit 2, as if the input were merely
    /// unusable).
    func testBytesAppendedToATileOrBundleAreReportedAsAltered() throws {
        let log = try makeLog(batches: [300])
        for file in ["tile/0/000", "tile/0/001.p/44", "tile/entries/000", "tile/entries/001.p/44"] {
            let path = log.path(file)
            let good = try Data(contentsOf: URL(fileURLWithPath: path))
            try (good + Data(repeating: 0, count: 32)).write(to: URL(fileURLWithPath: path))
            do {
                try verify(log)
                XCTFail("\(file) with bytes appended passed")
            } catch let error as TransparencyLogError {
                XCTAssertEqual(error.code, "tlog.file-altered", "\(file): \(error)")
            }
            try good.write(to: URL(fileURLWithPath: path))
        }
        try verify(log)
    }

    func testAppendsInBatchesVerifyAndProveInclusion() throws {
        let log = try makeLog(batches: [1, 2, 300, 1, 254, 700])
        let checkpoint = try log.checkpoint()
        XCTAssertEqual(checkpoint.checkpoint.size, 1258)
        XCTAssertEqual(checkpoint.checkpoint.root, try NaiveTree(entries: entries(1258)).rootHash(size: 1258))
        try verify(log)
        // Superseded partial tiles are gone; the current ones are there.
        XCTAssertFalse(FileManager.default.fileExists(atPath: log.path("tile/0/000.p")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: log.path("tile/0/004.p/234")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: log.path("tile/entries/004.p/234")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: log.path("tile/1/000.p/4")))
        let entry = entries(1258)[777]
        let hashes = try InclusionProof.generate(index: 777, size: 1258, source: log.tree(size: 1258))
        let proof = TlogProof(extra: nil, index: 777, hashes: hashes, checkpoint: checkpoint.note)
        let parsed = try TlogProof(bytes: proof.bytes, what: "p")
        XCTAssertEqual(parsed, proof)
        try parsed.verify(entry: entry, logKey: signer.verifier, what: "p")
        XCTAssertLessThan(proof.bytes.count, 1024)
    }

    func testChangedEntryIsRefused() throws {
        let log = try makeLog(batches: [600])
        let path = log.path("tile/entries/001")
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 3] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        assertLogError("tlog.entry-changed") { try verify(log) }
    }

    func testReorderedTileIsRefused() throws {
        let log = try makeLog(batches: [600])
        let a = log.path("tile/0/000"), b = log.path("tile/0/001")
        let bytesA = try Data(contentsOf: URL(fileURLWithPath: a)), bytesB = try Data(contentsOf: URL(fileURLWithPath: b))
        try bytesB.write(to: URL(fileURLWithPath: a))
        try bytesA.write(to: URL(fileURLWithPath: b))
        assertLogError("tlog.tile-mismatch") { try verify(log) }
    }

    func testTileWithHashesSwappedInsideIsRefused() throws {
        let log = try makeLog(batches: [300])
        let path = log.path("tile/0/000")
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let first = Array(bytes[0..<32])
        bytes.replaceSubrange(0..<32, with: bytes[32..<64])
        bytes.replaceSubrange(32..<64, with: first)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        assertLogError("tlog.tile-mismatch") { try verify(log) }
    }

    func testTruncatedLogIsRefused() throws {
        let log = try makeLog(batches: [600])
        // The last entry bundle cut short.
        let path = log.path("tile/entries/002.p/88")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 5).write(to: URL(fileURLWithPath: path))
        assertLogError("tlog.truncated") { try verify(log) }
        // A full tile removed.
        let other = try makeLog("log2", batches: [600])
        try FileManager.default.removeItem(atPath: other.path("tile/0/001"))
        assertLogError("tlog.truncated") { try verify(other) }
    }

    func testOversizedTileIsRefusedBeforeReading() throws {
        let log = try makeLog(batches: [300])
        try Data(count: 8192 + 32).write(to: URL(fileURLWithPath: log.path("tile/0/000")))
        // Refused from its size alone (stat), as a file the log did not write.
        assertLogError("tlog.file-altered") { try verify(log) }
    }

    func testCheckpointSignedByAnotherKeyIsRefused() throws {
        let log = try makeLog(batches: [10])
        let impostor = try newSigner("example.com/models")
        let forged = try SignedCheckpoint(checkpoint: Checkpoint(origin: "example.com/models", size: 10, root: try log.checkpoint().checkpoint.root), signer: impostor)
        try Data(forged.note.bytes).write(to: URL(fileURLWithPath: log.path("checkpoint")))
        assertLogError("tlog.signature-missing") { _ = try log.checkpoint() }
        // Appending refuses too: the checkpoint is not the log's.
        assertLogError("tlog.signature-missing") { _ = try log.append([[1]], signer: signer) }
    }

    func testRewrittenHistoryFailsConsistencyWithAnOldCheckpoint() throws {
        let log = try makeLog(batches: [100])
        let old = try log.checkpoint().checkpoint
        // The operator rebuilds the log with entry 5 replaced, then appends.
        try FileManager.default.removeItem(atPath: log.directory)
        var replaced = entries(100)
        replaced[5] = Array("something else\n".utf8)
        let rebuilt = try DirectoryLog.create(directory: log.directory, signer: signer)
        _ = try rebuilt.append(replaced + entries(150).suffix(50), signer: signer)
        try verify(rebuilt)    // internally consistent,
        let reader = rebuilt.reader
        assertLogError("tlog.inconsistent") {   // but not an extension of what was seen.
            try LogVerifier(reader: reader).verifyConsistency(from: old, to: try rebuilt.checkpoint().checkpoint)
        }
    }

    func testProofForAnotherReleaseIsRefused() throws {
        let key = String(repeating: "cd", count: 32)
        let a = try ReleaseLogEntry(name: "bert", version: "1.0.0", signerKeyID: key, statement: [1], time: "2026-11-29T01:48:37Z")
        let b = try ReleaseLogEntry(name: "bert", version: "1.0.1", signerKeyID: key, statement: [2], time: "2026-11-29T01:48:38Z")
        let log = try DirectoryLog.create(directory: root.appendingPathComponent("log").path, signer: signer)
        _ = try log.append([a.canonicalBytes, b.canonicalBytes], signer: signer)
        let checkpoint = try log.checkpoint()
        let hashes = try InclusionProof.generate(index: 0, size: 2, source: log.tree(size: 2))
        let proof = TlogProof(extra: TlogProof.label(for: a.canonicalBytes), index: 0, hashes: hashes, checkpoint: checkpoint.note)
        XCTAssertNoThrow(try proof.verify(entry: a.canonicalBytes, logKey: signer.verifier, what: "p"))
        assertLogError("tlog.proof-other-entry") { try proof.verify(entry: b.canonicalBytes, logKey: signer.verifier, what: "p") }
        // Without the entry in the proof, the inclusion check itself fails.
        let bare = TlogProof(extra: nil, index: 0, hashes: hashes, checkpoint: checkpoint.note)
        assertLogError("tlog.inclusion-failed") { try bare.verify(entry: b.canonicalBytes, logKey: signer.verifier, what: "p") }
        // A proof whose checkpoint another key signed.
        let impostor = try newSigner("example.com/models")
        let forged = try SignedCheckpoint(checkpoint: checkpoint.checkpoint, signer: impostor)
        assertLogError("tlog.signature-missing") {
            try TlogProof(extra: nil, index: 0, hashes: hashes, checkpoint: forged.note).verify(entry: a.canonicalBytes, logKey: signer.verifier, what: "p")
        }
        // Witnesses required but absent.
        let witness = try newSigner("w.example", type: .cosignatureV1)
        assertLogError("tlog.cosignatures-missing") {
            try proof.verify(entry: a.canonicalBytes, logKey: signer.verifier, witnesses: [witness.verifier], requiredWitnesses: 1, what: "p")
        }
    }

    func testWitnessCosignsGrowthAndRefusesAForkedLogAndARollback() throws {
        let log = try makeLog(batches: [20])
        let witnessKey = try newSigner("witness.example/w1", type: .cosignatureV1)
        let witness = try Witness(stateDirectory: root.appendingPathComponent("witness").path, signer: witnessKey)
        func cosign(_ log: DirectoryLog, now: UInt64 = 1000) throws -> SignedNote {
            let current = try log.checkpoint()
            let tree = log.tree(size: current.checkpoint.size)
            return try witness.cosign(checkpointBytes: current.note.bytes, logKey: signer.verifier, now: now) { old in
                try ConsistencyProof.generate(oldSize: old, newSize: current.checkpoint.size, source: tree)
            }
        }
        let first = try cosign(log)
        XCTAssertTrue(try log.storeCosigned(first))
        XCTAssertEqual(try log.checkpoint().cosignerCount([witnessKey.verifier]), 1)
        _ = try log.append(entries(30).suffix(10).map { $0 }, signer: signer)
        _ = try cosign(log, now: 2000)
        // The same origin and key, another history: a fork.
        let fork = try makeLog("fork", batches: [40], prefix: "forked")
        assertLogError("tlog.inconsistent") { _ = try cosign(fork) }
        // Same size, different root: a fork too.
        let sameSize = try makeLog("same", batches: [30], prefix: "other")
        assertLogError("tlog.inconsistent") { _ = try cosign(sameSize) }
        // Smaller than what was cosigned: rollback.
        let small = try makeLog("small", batches: [5])
        assertLogError("tlog.rollback") { _ = try cosign(small) }
        XCTAssertEqual(try witness.lastCosigned(logKey: signer.verifier)?.checkpoint.size, 30)
    }

    func testInitRefusesANonEmptyDirectory() throws {
        let log = try makeLog(batches: [1])
        assertLogError("tlog.log-unusable") { _ = try DirectoryLog.create(directory: log.directory, signer: signer) }
    }
}
