#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ModelSecIO
import TestSupport
import XCTest

/// The one model walker's rules, shared by signing, releasing and scanning.
final class ModelTreeTests: XCTestCase {
    func testEverySpellingOfTheRootGivesTheSamePaths() throws {
        let root = try TestSupport.makeTemporaryDirectory("tree").appendingPathComponent("model")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("a/b"), withIntermediateDirectories: true)
        try Data("1".utf8).write(to: root.appendingPathComponent("a/b/w.bin"))
        try Data("2".utf8).write(to: root.appendingPathComponent(".dot"))
        let expected = [".dot", "a/b/w.bin"]
        for spelling in [root.path, root.path + "/", root.path + "//", root.path + "/.", root.path + "/a/.."] {
            XCTAssertEqual(try ModelTree.walk(spelling).files.map(\.path.string), expected, spelling)
        }
    }

    /// Links fanning out to the same directories (6 levels of 10 links
    /// each: a million paths) are refused quickly instead of walked.
    func testSymlinkFanOutIsBoundedNotExponential() throws {
        let root = try TestSupport.makeTemporaryDirectory("tree-fanout").appendingPathComponent("model")
        for level in 0..<6 {
            let dir = root.appendingPathComponent("d\(level)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            if level < 5 {
                for link in 0..<10 { XCTAssertEqual(symlink("../d\(level + 1)", dir.path + "/l\(link)"), 0) }
            } else {
                try Data("leaf".utf8).write(to: dir.appendingPathComponent("leaf.bin"))
            }
        }
        // CPU time of this thread, which walks: a busy machine's waits do not count.
        let (seconds, _) = try TestSupport.cpuSeconds {
            XCTAssertThrowsError(try ModelTree.walk(root.path, options: .init(allowSymlinks: true))) {
                guard case .tooManyRepeatedDirectories? = ($0 as? ModelTreeError)?.problem else { return XCTFail("\($0)") }
            }
        }
        XCTAssertLessThan(seconds, 10)
        // A few links to the same directory (the common case) are still followed.
        let small = try TestSupport.makeTemporaryDirectory("tree-links").appendingPathComponent("model")
        try FileManager.default.createDirectory(at: small.appendingPathComponent("weights"), withIntermediateDirectories: true)
        try Data("w".utf8).write(to: small.appendingPathComponent("weights/w.bin"))
        XCTAssertEqual(symlink("weights", small.path + "/current"), 0)
        XCTAssertEqual(try ModelTree.walk(small.path, options: .init(allowSymlinks: true)).files.map(\.path.string), ["current/w.bin", "weights/w.bin"])
    }

    /// A scanner walks on after a refused entry (and reports it); a signer stops.
    func testContinueAfterProblemsRecordsEveryRefusedEntryAndKeepsTheRest() throws {
        let root = try TestSupport.makeTemporaryDirectory("tree-problems").appendingPathComponent("model")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(root.path + "/a-pipe", 0o600), 0)
        XCTAssertEqual(symlink("/nonexistent", root.path + "/sub/broken"), 0)
        try Data("z".utf8).write(to: root.appendingPathComponent("z.bin"))
        XCTAssertThrowsError(try ModelTree.walk(root.path))
        let tree = try ModelTree.walk(root.path, options: .init(allowSymlinks: true, continueAfterProblems: true))
        XCTAssertEqual(tree.files.map(\.path.string), ["z.bin"])
        XCTAssertEqual(Set(tree.problems.map(\.problem)), [.specialFile, .brokenSymbolicLink])
    }

    func testDepthLimitIsTheSameForEveryCaller() throws {
        var path = try TestSupport.makeTemporaryDirectory("tree-deep").appendingPathComponent("model").path
        let root = path
        for _ in 0...ModelTree.Options.defaultMaxDepth { path += "/d" }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        XCTAssertThrowsError(try ModelTree.walk(root)) {
            XCTAssertEqual(($0 as? ModelTreeError)?.problem, .tooDeep(limit: ModelTree.Options.defaultMaxDepth))
        }
    }
}
