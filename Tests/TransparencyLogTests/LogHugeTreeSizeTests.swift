import Foundation
import ModelSecCrypto
import TestSupport
@testable import TransparencyLog
import XCTest

/// A checkpoint's tree size is the log's claim, signed but not backed by
/// anything until the tiles are read (review12 B2): `log verify`, `log
/// monitor` and `log append` on a log-signed checkpoint far larger than the
/// log stop at the first missing tile or bundle (`tlog.truncated`, naming
/// it) within seconds and with bounded memory (each run under a 1 GiB
/// address-space limit), and a size no tlog can address (2^63 or more) is
/// refused as a malformed checkpoint, never a trap.
final class LogHugeTreeSizeTests: XCTestCase {
    var root: URL!
    var directory: String!
    var signer: NoteSigner!
    var vkey: String!

    override func setUpWithError() throws {
        root = try TestSupport.makeTemporaryDirectory("tlog-huge")
        directory = root.appendingPathComponent("log").path
        // The log key as `log append --key` takes it, and as a signer for forging checkpoints.
        let pem = root.appendingPathComponent("log.pem").path
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", pem]).status, 0)
        signer = try pemSigner(pem, name: "huge.example/log")
        vkey = signer.verifier.vkey
        let created = try TestSupport.modelsec(["log", "init", "--origin", "huge.example/log", "--key", pem, directory])
        XCTAssertEqual(created.stdoutText.trimmingCharacters(in: .newlines), vkey, created.stderrText)
        let log = DirectoryLog(directory: directory, logKey: signer.verifier)
        // A tiny honest log: 3 entries (and its leaf index).
        XCTAssertEqual(try log.append(entries(3, prefix: "tiny"), signer: signer).checkpoint.checkpoint.size, 3)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    /// Replaces the checkpoint with one of `size` and `rootHash`, signed by the log's key.
    func publish(size: UInt64, rootHash: TreeHash) throws {
        let signed = try SignedCheckpoint(checkpoint: Checkpoint(origin: signer.name, size: size, root: rootHash), signer: signer)
        try Data(signed.note.bytes).write(to: URL(fileURLWithPath: directory + "/checkpoint"))
    }

    /// Writes the tile file `relative` holding `hashes`.
    func writeTile(_ relative: String, _ hashes: [TreeHash]) throws {
        let url = URL(fileURLWithPath: directory + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(hashes.flatMap(\.bytes)).write(to: url)
    }

    /// `modelsec ARGS --json` under `ulimit -v` of 1 GiB: status, error code and path, and seconds taken.
    func run(_ arguments: [String]) throws -> (status: Int32, code: String?, path: String?, stderr: String, seconds: Double) {
        let started = Date()
        let result = try TestSupport.run("/bin/sh", ["-c", "ulimit -v 1048576 && exec \"$0\" \"$@\"", TestSupport.modelsecBinary.path]
                                         + arguments + ["--json"], timeout: 300)
        let seconds = Date().timeIntervalSince(started)
        let document = try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let error = document?["error"] as? [String: Any]
        return (result.status, error?["code"] as? String, error?["path"] as? String, result.stderrText, seconds)
    }

    /// A random hash (a root nothing leads to).
    func randomHash() -> TreeHash {
        var generator = SystemRandomNumberGenerator()
        return TreeHash(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })!
    }

    func testHugeSignedSizeStopsAtTheFirstMissingTile() throws {
        let size: UInt64 = 1 << 40
        let claimed = randomHash()
        try publish(size: size, rootHash: claimed)
        // The right edge of 2^40 is one hash at level 5, the root itself: with
        // it present, an append passes its edge check and goes on to read the leaves.
        try writeTile("tile/5/000.p/1", [claimed])
        for arguments in try commandsReadingTheLog() {
            let result = try run(arguments)
            XCTAssertEqual(result.status, 1, "\(arguments[1]): \(result.stderr)")
            XCTAssertEqual(result.code, "tlog.truncated", "\(arguments[1]): \(result.stderr)")
            // It names the first tile or bundle the claimed size needs and the log lacks: tile 0 at full width.
            let path = try XCTUnwrap(result.path, "\(arguments[1]): \(result.stderr)")
            XCTAssertTrue(path.hasSuffix("tile/entries/000") || path.hasSuffix("tile/0/000"), "\(arguments[1]): \(path)")
            XCTAssertLessThan(result.seconds, 30, "\(arguments[1]) took \(result.seconds) s")
        }
    }

    /// The three commands that read a log up to its checkpoint's size.
    private func commandsReadingTheLog() throws -> [[String]] {
        [
            ["log", "verify", directory, "--log-key", vkey],
            ["log", "monitor", directory, "--log-key", vkey, "--key-id", String(repeating: "ab", count: 32)],
            ["log", "append", directory, "--key", try writeSignerPEM(), "--entry-file", try writeEntry()],
        ]
    }

    func testSizesNoTlogCanAddressAreRefused() throws {
        for size in [UInt64(1) << 63, UInt64.max] {
            // An edge that matches the claimed root, so that nothing but the size is wrong.
            let edge = (0..<128).map { _ in randomHash() }
            try writeTile("tile/7/000.p/128", edge)
            try publish(size: size, rootHash: Merkle.rootHash(ofLeafHashes: edge[...]))
            for arguments in try commandsReadingTheLog() {
                let result = try run(arguments)
                XCTAssertEqual(result.status, 2, "\(arguments[1]) at \(size): \(result.stderr)")
                XCTAssertEqual(result.code, "tlog.checkpoint-malformed", "\(arguments[1]) at \(size): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains("2^63-1"), result.stderr)
            }
            // The library refuses it too.
            assertLogError("tlog.checkpoint-malformed") {
                try LogVerifier(reader: DirectoryTileReader(directory: directory))
                    .verify(Checkpoint(origin: signer.name, size: size, root: randomHash()))
            }
        }
    }

    func writeSignerPEM() throws -> String { root.appendingPathComponent("log.pem").path }

    func writeEntry() throws -> String {
        let path = root.appendingPathComponent("entry.bin").path
        try Data("one more entry\n".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// A note signer from an unencrypted Ed25519 PKCS#8 PEM (as `modelsec keygen` writes it): its last 32 DER bytes are the seed.
func pemSigner(_ path: String, name: String, type: NoteSignatureType = .ed25519) throws -> NoteSigner {
    let body = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    let der = try XCTUnwrap(Data(base64Encoded: body))
    XCTAssertEqual(der.count, 48, "not an unencrypted Ed25519 PKCS#8 key")
    return try NoteSigner(name: name, type: type, key: Ed25519.PrivateKey(seedBytes: Array(der.suffix(32))))
}
