import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// `DirectoryLog.storeCosigned` tells the log's own signature line from the
/// others by the key name's UTF-8 bytes (review12 B3), as Go's sumdb/note
/// does: a line under a canonically equivalent spelling of the origin (NFD
/// for NFC) is another key's line, kept like any cosignature, and it never
/// replaces or stands for the log's line.
final class StoreCosignedKeyNameTests: XCTestCase {
    func testAnEquivalentSpellingOfTheOriginIsAnotherKeyName() throws {
        let root = try TestSupport.makeTemporaryDirectory("tlog-names")
        defer { try? FileManager.default.removeItem(at: root) }
        let origin = "caf\u{E9}.example/log"            // NFC
        let equivalent = "cafe\u{301}.example/log"      // NFD: == in Swift, other bytes
        XCTAssertEqual(origin, equivalent)
        XCTAssertNotEqual(Array(origin.utf8), Array(equivalent.utf8))
        let signer = try newSigner(origin)
        let log = try DirectoryLog.create(directory: root.appendingPathComponent("log").path, signer: signer)
        _ = try log.append(entries(2), signer: signer)
        let witness = try Witness(stateDirectory: root.appendingPathComponent("state").path,
                                  signer: try newSigner("witness.example/w1", type: .cosignatureV1))
        let current = try log.checkpoint()
        let cosigned = try witness.cosign(checkpointBytes: current.note.bytes, logKey: log.logKey, now: 1_700_000_000) { old in
            try ConsistencyProof.generate(oldSize: old, newSize: current.checkpoint.size, source: log.tree(size: current.checkpoint.size))
        }
        // A line under the NFD spelling with the log key's id (junk signature).
        let junk = SignedNote.Signature(name: equivalent, keyID: log.logKey.keyID, signature: [UInt8](repeating: 7, count: 64))
        let withJunk = try SignedNote(text: cosigned.text, signatures: cosigned.signatures + [junk])
        XCTAssertTrue(try log.storeCosigned(withJunk))

        let stored = try SignedNote(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: log.path(DirectoryLog.checkpointFile)))), what: "stored")
        let names = stored.signatures.map { Array($0.name.utf8) }
        // The log's own line, exactly as it signed it, once.
        let own = stored.signatures.filter { Array($0.name.utf8) == Array(origin.utf8) }
        XCTAssertEqual(own, current.note.signatures, "the log's own line was lost or replaced")
        // The witness's cosignature, and the NFD line as a line of another key.
        XCTAssertTrue(names.contains(Array("witness.example/w1".utf8)))
        XCTAssertTrue(names.contains(Array(equivalent.utf8)), "a line of another key name (by its bytes) was taken for the log's own")
        XCTAssertEqual(stored.signatures.count, 3)
    }
}
