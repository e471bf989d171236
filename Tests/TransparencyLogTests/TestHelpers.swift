import Foundation
import ModelSecCrypto
@testable import TransparencyLog
import TestSupport
import XCTest

/// Hashes of complete subtrees computed directly from the leaves (the
/// definition, no tiles): the reference the tiled code is compared with.
struct NaiveTree: SubtreeHashSource {
    let leaves: [TreeHash]

    init(entries: [[UInt8]]) { leaves = entries.map { Merkle.leafHash($0) } }

    func subtreeHash(level: Int, index: UInt64) throws -> TreeHash {
        let lo = Int(index) << level
        return Merkle.rootHash(ofLeafHashes: leaves[lo..<(lo + (1 << level))])
    }
}

/// Tiles kept in memory, as a TileBuilder emits them.
final class MemoryTiles: TileReader {
    var files: [String: [UInt8]] = [:]

    func store(_ builder: inout TileBuilder) {
        let (full, partial) = builder.drain()
        for (tile, bytes) in full + partial { files[tile.path] = bytes }
    }

    func read(_ tile: TileID) throws -> [UInt8] {
        if let bytes = files[tile.path] { return bytes }
        if !tile.isFull, let bytes = files[tile.full.path] { return bytes }
        throw TransparencyLogError.truncated(path: tile.path, reason: "missing")
    }
}

func entries(_ count: Int, prefix: String = "entry") -> [[UInt8]] {
    (0..<count).map { Array("\(prefix) \($0)\n".utf8) }
}

/// Asserts that `body` throws a TransparencyLogError with `code`.
func assertLogError(_ code: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected \(code), nothing was thrown", file: file, line: line)
    } catch let error as TransparencyLogError {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
    } catch {
        XCTFail("expected \(code), got \(error)", file: file, line: line)
    }
}

func newSigner(_ name: String, type: NoteSignatureType = .ed25519) throws -> NoteSigner {
    try NoteSigner(name: name, type: type, key: Ed25519.PrivateKey())
}

/// A test case that runs `modelsec log …` in a temporary directory of its
/// own: `root`, `path(_:)`, `ok(_:)` (runs and expects exit 0) and `json(_:)`.
class LogCLITestCase: XCTestCase {
    var root: URL!

    /// The temporary directory's name prefix.
    var temporaryPrefix: String { "tlog-cli" }

    override func setUpWithError() throws {
        root = try TestSupport.makeTemporaryDirectory(temporaryPrefix)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    @discardableResult
    func ok(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let result = try TestSupport.modelsec(arguments)
        XCTAssertEqual(result.status, 0, "modelsec \(arguments.joined(separator: " ")): \(result.stderrText)", file: file, line: line)
        return result
    }

    /// A new Ed25519 key `log.pem` and a log `log` of `origin` made with
    /// `keygen` and `log init`, and the log read through the library.
    func initLog(origin: String, file: StaticString = #filePath, line: UInt = #line) throws -> (key: String, directory: String, log: DirectoryLog) {
        let key = path("log.pem")
        try ok(["keygen", "--type", "ed25519", "--out", key], file: file, line: line)
        let directory = path("log")
        let created = try ok(["log", "init", "--origin", origin, "--key", key, directory], file: file, line: line)
        let vkey = created.stdoutText.trimmingCharacters(in: .newlines)
        return (key, directory, DirectoryLog(directory: directory, logKey: try NoteVerifier(vkey: vkey)))
    }

    func json(_ result: TestSupport.ProcessResult) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
    }
}
