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

    /// Our tlog-proof files, with a witness's cosignature in their
    /// checkpoint, read by code we did not write: Go's sumdb/note and
    /// sumdb/tlog check the inclusion (tlogcheck proof), and Python
    /// `cryptography` checks the cosignature/v1 signature and key id as
    /// C2SP tlog-cosignature defines them (Go's note has no cosignature
    /// type). A proof for another entry fails in Go.
    func testGoAndPythonVerifyOurProofFilesAndCosignatures() throws {
        let tool = try Self.tlogcheck()
        let signer = try newSigner("example.com/models")
        let log = try DirectoryLog.create(directory: root.appendingPathComponent("log").path, signer: signer)
        _ = try log.append(entries(700), signer: signer)
        let witness = try newSigner("witness.example/w1", type: .cosignatureV1)
        var cosigned = try log.checkpoint()
        cosigned.note.add(witness.sign(text: cosigned.note.text, timestamp: 1_700_000_000))
        XCTAssertTrue(try log.storeCosigned(cosigned.note))
        let python = try TestSupport.python()
        for index in [0, 255, 256, 699] {
            let proofFile = root.appendingPathComponent("p\(index).tlog-proof").path
            let made = try TestSupport.modelsec(["log", "prove", log.directory, "--log-key", signer.verifier.vkey,
                                                 "--index", String(index), "--output", proofFile])
            XCTAssertEqual(made.status, 0, made.stderrText)
            let entryFile = root.appendingPathComponent("e\(index)").path
            try Data(entries(index + 1)[index]).write(to: URL(fileURLWithPath: entryFile))
            let checked = try TestSupport.run(tool, ["proof", signer.verifier.vkey, proofFile, entryFile])
            XCTAssertEqual(checked.status, 0, "\(index): \(checked.stderrText)")
            XCTAssertEqual(checked.stdoutText, "ok \(index) 700\n")
            let other = root.appendingPathComponent("other").path
            try Data(entries(index + 2)[index + 1 == 700 ? 0 : index + 1]).write(to: URL(fileURLWithPath: other))
            XCTAssertNotEqual(try TestSupport.run(tool, ["proof", signer.verifier.vkey, proofFile, other]).status, 0, "\(index)")
            let cosignature = try TestSupport.run(python, ["-c", Self.checkCosignature, proofFile, witness.verifier.vkey])
            XCTAssertEqual(cosignature.status, 0, "\(index): \(cosignature.stderrText)")
            XCTAssertEqual(cosignature.stdoutText, "cosigned 1700000000\n")
        }
    }

    /// Python: the cosignature line of the witness vkey (argv[2]) in the
    /// proof file's checkpoint (argv[1]) verifies per C2SP tlog-cosignature.
    static let checkCosignature = #"""
    import base64, hashlib, struct, sys
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    data = open(sys.argv[1], "rb").read()
    note = data[data.index(b"\n\n") + 2:]
    text, sigs = note.split(b"\n\n", 1)
    text += b"\n"
    name, key_id, blob = sys.argv[2].strip().split("+", 2)
    raw = base64.b64decode(blob)
    assert raw[0] == 0x04, "not a cosignature/v1 key"
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] == bytes.fromhex(key_id), "key id"
    for line in sigs.decode().splitlines():
        dash, signer, b64 = line.split(" ")
        sig = base64.b64decode(b64)
        if signer == name and sig[:4] == bytes.fromhex(key_id):
            (t,) = struct.unpack(">Q", sig[4:12])
            message = b"cosignature/v1\ntime %d\n" % t + text
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[12:], message)
            print("cosigned", t)
            break
    else:
        sys.exit("no cosignature by " + name)
    """#

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
