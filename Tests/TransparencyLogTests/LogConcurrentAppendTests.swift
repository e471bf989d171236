import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// The directory log's lock (`DIR/.lock`) serialises appends from separate
/// processes: 8 `modelsec log append` runs started at once, each with its
/// own entry, all land in the log exactly once, each at the index it
/// reported, with an inclusion proof to the final checkpoint, and `log
/// verify` passes. Without the lock, appends that read the same checkpoint
/// overwrite each other's tiles and checkpoint and entries are lost.
final class LogConcurrentAppendTests: LogCLITestCase {
    override var temporaryPrefix: String { "tlog-parallel" }

    func testEightParallelAppendsAreSerialised() throws {
        let (key, directory, log) = try initLog(origin: "parallel.example/log")
        let vkey = log.logKey.vkey
        var expectedSize: UInt64 = 0
        // Three rounds of 8, to give the appends every chance to overlap.
        for round in 0..<3 {
            let contents = (0..<8).map { Array("round \(round) process \($0) entry\n".utf8) }
            let files = try contents.enumerated().map { i, bytes in
                let path = root.appendingPathComponent("entry-\(round)-\(i).bin").path
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                return path
            }
            let results = Locked([Int: TestSupport.ProcessResult]())
            let group = DispatchGroup()
            for (i, file) in files.enumerated() {
                group.enter()
                DispatchQueue.global().async {
                    defer { group.leave() }
                    let result = try? TestSupport.modelsec(["log", "append", directory, "--key", key, "--entry-file", file, "--json"])
                    results.withLock { $0[i] = result }
                }
            }
            group.wait()
            let current = try log.checkpoint().checkpoint
            expectedSize += 8
            XCTAssertEqual(current.size, expectedSize, "round \(round): entries were lost or logged twice")
            let tree = log.tree(size: current.size)
            var indices = Set<UInt64>()
            for i in 0..<8 {
                let result = try XCTUnwrap(results.withLock { $0[i] }, "round \(round) process \(i) did not run")
                XCTAssertEqual(result.status, 0, "round \(round) process \(i): \(result.stderrText)")
                let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
                XCTAssertEqual(document["added"] as? Int, 1, "round \(round) process \(i)")
                let index = UInt64(try XCTUnwrap(document["firstIndex"] as? Int))
                XCTAssertTrue(indices.insert(index).inserted, "round \(round): index \(index) reported twice")
                XCTAssertTrue((expectedSize - 8..<expectedSize).contains(index), "round \(round) process \(i): index \(index)")
                // The entry at the reported index is this process's, and it is proven in the final tree.
                let bundleTile = TileID(level: 0, index: index / 256, width: index / 256 < current.size / 256 ? 256 : Int(current.size % 256),
                                        isEntryBundle: true)
                let bundle = try EntryBundle.decode(try log.reader.read(bundleTile), expected: bundleTile.width, allowLonger: !bundleTile.isFull,
                                                    what: bundleTile.path)
                XCTAssertEqual(bundle[Int(index % 256)], contents[i], "round \(round) process \(i): another entry at index \(index)")
                let proof = try InclusionProof.generate(index: index, size: current.size, source: tree)
                try InclusionProof.verify(leaf: Merkle.leafHash(contents[i]), index: index, size: current.size, proof: proof, root: current.root)
                // The tree size it reported is one this log had.
                let size = UInt64(try XCTUnwrap(document["treeSize"] as? Int))
                XCTAssertTrue(size > index && size <= current.size, "round \(round) process \(i): tree size \(size)")
                // Its checkpoint's root is the final tree's root at that size (a prefix of one history).
                let reportedRoot = try XCTUnwrap(document["rootHash"] as? String)
                XCTAssertEqual(try tree.rootHash(size: size).base64, reportedRoot, "round \(round) process \(i)")
            }
            let verified = try TestSupport.modelsec(["log", "verify", directory, "--log-key", vkey])
            XCTAssertEqual(verified.status, 0, "round \(round): \(verified.stderrText)")
        }
    }
}
