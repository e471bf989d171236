import Foundation
import TestSupport
import XCTest

/// The checkpoint is published only after the tiles it covers are durable
/// (issue #20): SIGKILL tests cannot show that (the page cache survives a
/// killed process), so this one watches the system calls of a real
/// `modelsec log append` under strace and checks their order:
/// - every file renamed into `tile/` was flushed (fsync of its temporary
///   name) before its rename;
/// - the directory that received it was flushed after the rename and before
///   `checkpoint` was renamed into place;
/// - the new checkpoint was flushed before its rename, and the log's
///   directory after it, before the command returned.
final class CheckpointDurabilityTests: XCTestCase {
    private struct Call {
        let name: String      // fsync, fdatasync, rename, renameat, renameat2
        let paths: [String]   // fsync: the descriptor's path; rename: source, target
    }

    /// The fsync and rename calls of `arguments`, run under strace (-y names
    /// each descriptor's path).
    private func traced(_ arguments: [String], in directory: URL) throws -> [Call] {
        guard let strace = ["/usr/bin/strace", "/bin/strace"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            XCTFail("strace is needed for this test (scripts/install-deps.sh installs it)")
            return []
        }
        let trace = directory.appendingPathComponent("trace.txt").path
        let r = try TestSupport.run(strace, ["-f", "-y", "-qq", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2", "-o", trace,
                                             TestSupport.modelsecBinary.path] + arguments)
        XCTAssertEqual(r.status, 0, r.stderrText)
        let text = try String(contentsOfFile: trace, encoding: .utf8)
        var calls: [Call] = []
        for line in text.split(separator: "\n") {
            // "PID name(args) = result"; only calls that succeeded count.
            guard line.hasSuffix("= 0"), let open = line.firstIndex(of: "(") else { continue }
            let name = String(line[..<open].split(separator: " ").last ?? "")
            let args = String(line[line.index(after: open)...])
            switch name {
            case "fsync", "fdatasync":
                guard let lt = args.firstIndex(of: "<"), let gt = args.firstIndex(of: ">") else { continue }
                calls.append(Call(name: name, paths: [String(args[args.index(after: lt)..<gt])]))
            case "rename", "renameat", "renameat2":
                let quoted = args.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
                guard quoted.count == 2 else { XCTFail("unparsed: \(line)"); continue }
                calls.append(Call(name: "rename", paths: quoted))
            default: continue
            }
        }
        return calls
    }

    func testTilesAreDurableBeforeTheCheckpointThatCoversThem() throws {
        let root = try TestSupport.makeTemporaryDirectory("tlog-durability")
        let log = root.appendingPathComponent("log").path, key = root.appendingPathComponent("log.pem").path
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", key]).status, 0)
        XCTAssertEqual(try TestSupport.modelsec(["log", "init", "--origin", "example.com/durable", "--key", key, log]).status, 0)
        // Two batches: the second fills level-0 tile 0 and entry bundle 0, leaves partial ones,
        // and makes a level-1 tile.
        for (batch, count) in [(0, 40), (1, 300)] {
            var bundle: [UInt8] = []
            for i in 0..<count {
                let entry = Array("batch \(batch) entry \(i)\n".utf8)
                bundle += [UInt8(entry.count >> 8), UInt8(entry.count & 0xFF)] + entry
            }
            let file = root.appendingPathComponent("bundle-\(batch)").path
            try Data(bundle).write(to: URL(fileURLWithPath: file))
            let calls = try traced(["log", "append", log, "--key", key, "--entry-bundle", file], in: root)
            try check(calls, log: log, batch: batch)
        }
    }

    private func check(_ calls: [Call], log: String, batch: Int) throws {
        func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path }
        func parent(_ path: String) -> String { String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        let checkpoint = log + "/checkpoint"
        let published = try XCTUnwrap(calls.lastIndex { $0.name == "rename" && absolute($0.paths[1]) == checkpoint },
                                      "batch \(batch): no rename of the checkpoint")
        let tileRenames = calls.enumerated().filter { $0.element.name == "rename" && absolute($0.element.paths[1]).hasPrefix(log + "/tile/") }
        XCTAssertGreaterThanOrEqual(tileRenames.count, batch == 0 ? 2 : 4, "batch \(batch): too few tiles written")
        for (index, rename) in tileRenames {
            let source = absolute(rename.paths[0]), target = absolute(rename.paths[1])
            XCTAssertLessThan(index, published, "batch \(batch): \(target) was renamed after the checkpoint was published")
            XCTAssertTrue(calls[..<index].contains { $0.name != "rename" && $0.paths[0] == source },
                          "batch \(batch): \(target) was renamed before its contents were flushed")
            XCTAssertTrue(calls[(index + 1)..<published].contains { $0.name != "rename" && $0.paths[0] == parent(target) },
                          "batch \(batch): \(parent(target)) was not flushed between \(target)'s rename and the checkpoint's")
        }
        let checkpointSource = absolute(calls[published].paths[0])
        XCTAssertTrue(calls[..<published].contains { $0.name != "rename" && $0.paths[0] == checkpointSource },
                      "batch \(batch): the checkpoint was renamed before it was flushed")
        XCTAssertTrue(calls[(published + 1)...].contains { $0.name != "rename" && $0.paths[0] == log },
                      "batch \(batch): the log's directory was not flushed after the checkpoint's rename")
    }

    /// SIGKILL at each rename of an append, in turn (every tile, entry
    /// bundle, the checkpoint and the leaf index), made deterministic by
    /// strace's fault injection: LogCrashTests' random delays rarely land in
    /// the few milliseconds between the first new tile and the checkpoint,
    /// which is most of what crash safety is about. After each kill the log
    /// verifies, its size is the old one until the checkpoint's rename and
    /// the new one after it, and an append of the same entries completes it.
    func testSIGKILLAtEveryRenameOfAnAppendLeavesAVerifiableLog() throws {
        guard let strace = ["/usr/bin/strace", "/bin/strace"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return XCTFail("strace is needed for this test (scripts/install-deps.sh installs it)")
        }
        let root = try TestSupport.makeTemporaryDirectory("tlog-kill-at-rename")
        defer { try? FileManager.default.removeItem(at: root) }
        func path(_ name: String) -> String { root.appendingPathComponent(name).path }
        let key = path("log.pem"), base = path("base")
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", key]).status, 0)
        let created = try TestSupport.modelsec(["log", "init", "--origin", "example.com/killed", "--key", key, base])
        XCTAssertEqual(created.status, 0, created.stderrText)
        let vkey = created.stdoutText.trimmingCharacters(in: .newlines)
        func bundle(_ name: String, _ count: Int) throws -> String {
            var bytes: [UInt8] = []
            for i in 0..<count {
                let entry = Array("\(name) entry \(i)\n".utf8)
                bytes += [UInt8(entry.count >> 8), UInt8(entry.count & 0xFF)] + entry
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
            return path(name)
        }
        func size(_ log: String) throws -> Int {
            let verified = try TestSupport.modelsec(["log", "verify", log, "--log-key", vkey, "--json"])
            XCTAssertEqual(verified.status, 0, "\(log): \(verified.stderrText)")
            let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: verified.stdout) as? [String: Any], verified.stdoutText)
            return try XCTUnwrap(document["treeSize"] as? Int, verified.stdoutText)
        }
        // 40 entries first, then 300 more: full and partial tiles at level 0, a level-1 tile, entry bundles.
        XCTAssertEqual(try TestSupport.modelsec(["log", "append", base, "--key", key, "--entry-bundle", try bundle("first", 40)]).status, 0)
        let next = try bundle("next", 300)
        XCTAssertEqual(try size(base), 40)
        var beforeCheckpoint = 0, tilesThenKilled = 0, afterCheckpoint = 0
        var killAt = 1
        while true {
            XCTAssertLessThan(killAt, 100, "an append of 300 entries made more than 99 renames")
            guard killAt < 100 else { break }
            let log = path("killed-at-\(killAt)"), trace = path("trace-\(killAt)")
            try FileManager.default.copyItem(atPath: base, toPath: log)
            let run = try TestSupport.run(strace, ["-f", "-qq", "-o", trace, "-e", "trace=rename,renameat,renameat2",
                                                   "-e", "inject=rename,renameat,renameat2:signal=KILL:when=\(killAt)",
                                                   TestSupport.modelsecBinary.path, "log", "append", log, "--key", key, "--entry-bundle", next])
            if run.status == 0 { break }   // fewer renames than killAt: every one has been a kill point
            let renamed = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { $0.contains("rename") && $0.hasSuffix("= 0") }
            XCTAssertEqual(renamed.count, killAt - 1, "killed at rename \(killAt): \(renamed)")
            let after = try size(log)
            if after == 40 {
                beforeCheckpoint += 1
                if renamed.contains(where: { $0.contains("/tile/") }) { tilesThenKilled += 1 }
            } else {
                XCTAssertEqual(after, 340, "killed at rename \(killAt)")
                afterCheckpoint += 1
            }
            // The same append completes the log, whatever the kill left.
            let again = try TestSupport.modelsec(["log", "append", log, "--key", key, "--entry-bundle", next])
            XCTAssertEqual(again.status, 0, "after a kill at rename \(killAt): \(again.stderrText)")
            XCTAssertEqual(try size(log), 340, "after a kill at rename \(killAt)")
            killAt += 1
        }
        print("killed at each of \(killAt - 1) renames: \(beforeCheckpoint) before the checkpoint (\(tilesThenKilled) with new tiles in place), \(afterCheckpoint) after it")
        XCTAssertGreaterThanOrEqual(tilesThenKilled, 3, "kills between the new tiles and the checkpoint")
        XCTAssertGreaterThan(afterCheckpoint, 0, "a kill after the checkpoint's rename (the leaf index's update)")
    }
}
