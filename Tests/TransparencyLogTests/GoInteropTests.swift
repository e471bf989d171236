import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// An independent implementation checks ours and ours checks it: Go's
/// golang.org/x/mod/sumdb/tlog and sumdb/note (Debian's
/// golang-golang-x-mod-dev), through Tests/Fixtures/tlog/tlogcheck.go.
final class GoInteropTests: XCTestCase {
    nonisolated(unsafe) static var binary: String?
    var root: URL!

    /// Builds tlogcheck once, in GOPATH mode against Debian's sources.
    static func tlogcheck() throws -> String {
        if let binary { return binary }
        let directory = try TestSupport.makeTemporaryDirectory("tlogcheck")
        let output = directory.appendingPathComponent("tlogcheck").path
        let source = TestSupport.repositoryRoot.appendingPathComponent("Tests/Fixtures/tlog/tlogcheck.go").path
        let result = try TestSupport.run("go", ["build", "-o", output, source], environment: [
            "GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOCACHE": directory.appendingPathComponent("cache").path,
            "GOFLAGS": "", "CGO_ENABLED": "0",
        ])
        guard result.status == 0 else {
            throw XCTSkip("cannot build tlogcheck (install golang-go golang-golang-x-mod-dev): \(result.stderrText)")
        }
        binary = output
        return output
    }

    override func setUpWithError() throws {
        root = try TestSupport.makeTemporaryDirectory("tlog-go")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func testGoVerifiesOurCheckpointsTilesAndProofs() throws {
        let tool = try Self.tlogcheck()
        let signer = try newSigner("example.com/models")
        let log = try DirectoryLog.create(directory: root.appendingPathComponent("log").path, signer: signer)
        var size = 0
        // Sizes that end inside a tile, on a tile boundary, past a level-1 tile.
        for batch in [1, 254, 1, 300, 65_000, 300] {
            _ = try log.append(entries(size + batch).suffix(batch).map { $0 }, signer: signer)
            size += batch
            for (index, oldSize) in [(0, 1), (size - 1, max(1, size / 2)), (size / 3, size)] {
                let result = try TestSupport.run(tool, ["verify", signer.verifier.vkey, log.directory, String(index), String(oldSize)])
                XCTAssertEqual(result.status, 0, "size \(size): \(result.stderrText)")
                XCTAssertEqual(result.stdoutText, "ok \(size) \(try log.checkpoint().checkpoint.root.base64)\n")
            }
        }
        // And Go refuses a checkpoint signed by another key and an altered tile.
        let impostor = try newSigner("example.com/models")
        let good = try Data(contentsOf: URL(fileURLWithPath: log.path("checkpoint")))
        try Data(try SignedCheckpoint(checkpoint: try log.checkpoint().checkpoint, signer: impostor).note.bytes).write(to: URL(fileURLWithPath: log.path("checkpoint")))
        XCTAssertNotEqual(try TestSupport.run(tool, ["verify", signer.verifier.vkey, log.directory, "0", "1"]).status, 0)
        try good.write(to: URL(fileURLWithPath: log.path("checkpoint")))
        let tile = log.path("tile/1/000")
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: tile)))
        bytes[40] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: tile))
        XCTAssertNotEqual(try TestSupport.run(tool, ["verify", signer.verifier.vkey, log.directory, "100", "50"]).status, 0)
    }

    func testWeVerifyGoNotesTilesAndProofs() throws {
        let tool = try Self.tlogcheck()
        for (count, oldSize) in [(1, 1), (257, 256), (1000, 300), (66_000, 65_536)] {
            let directory = root.appendingPathComponent("go-\(count)").path
            let made = try TestSupport.run(tool, ["make", "go.example/log", String(count), String(oldSize), directory])
            XCTAssertEqual(made.status, 0, made.stderrText)
            let vkey = try String(contentsOfFile: directory + "/vkey", encoding: .utf8)
            let verifier = try NoteVerifier(vkey: vkey)
            let log = DirectoryLog(directory: directory, logKey: verifier)
            let checkpoint = try log.checkpoint()
            XCTAssertEqual(checkpoint.checkpoint.size, UInt64(count))
            // Go's tiles and entry bundles pass our whole-log verification.
            let reader = log.reader
            try LogVerifier(reader: reader, label: { reader.path(of: $0) }).verify(checkpoint.checkpoint)
            // Go's proofs pass our verifiers, and ours equal Go's.
            var oldRoot: TreeHash?
            for line in try String(contentsOfFile: directory + "/proofs", encoding: .utf8).split(separator: "\n") {
                let fields = line.split(separator: " ").map(String.init)
                let hashes = try fields.dropFirst(3).map { try XCTUnwrap(TreeHash(base64: $0)) }
                switch fields[0] {
                case "inclusion":
                    let index = UInt64(fields[1])!
                    let leaf = Merkle.leafHash(Array("go entry \(index)\n".utf8))
                    try InclusionProof.verify(leaf: leaf, index: index, size: UInt64(count), proof: hashes, root: checkpoint.checkpoint.root)
                    XCTAssertEqual(try InclusionProof.generate(index: index, size: UInt64(count), source: log.tree(size: UInt64(count))), hashes)
                case "oldroot":
                    oldRoot = try XCTUnwrap(TreeHash(base64: fields[2]))
                case "consistency":
                    try ConsistencyProof.verify(oldSize: UInt64(fields[1])!, oldRoot: try XCTUnwrap(oldRoot), newSize: UInt64(count),
                                                newRoot: checkpoint.checkpoint.root, proof: hashes)
                    XCTAssertEqual(try ConsistencyProof.generate(oldSize: UInt64(fields[1])!, newSize: UInt64(count), source: log.tree(size: UInt64(count))), hashes)
                default:
                    XCTFail("unexpected line \(line)")
                }
            }
        }
    }
}
