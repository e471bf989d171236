#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// Crash safety: `modelsec log append` killed with SIGKILL at random points
/// never leaves a log that fails verification, and the next append works.
/// Every round appends entries the log does not have yet (the same entries
/// again would be found logged and the append would write nothing), `log
/// verify` checks the log after every kill, and the kills must land on both
/// sides of the checkpoint's publication: some before it (the old tree must
/// still verify, the new tiles being unreferenced) and some after it (the
/// new tree must verify before the rest of the append, the leaf index and
/// partial-tile clean-up, has run). To make both reliable on a loaded
/// machine, whose speed changes while the test runs: the kill delays vary
/// around the time the checkpoint takes to appear; every third round, the
/// first included, kills the moment the new checkpoint appears (its file is
/// renamed into place: a new inode) and measures that time again for the
/// rounds after it; and after six rounds a side with no kill yet is aimed
/// at: short delays for "before", the watcher in every round for "after".
/// Most "before" kills land during start-up: the new tiles appear only
/// milliseconds before the checkpoint. Kills in that window are made
/// deterministic, one per rename, by
/// CheckpointDurabilityTests.testSIGKILLAtEveryRenameOfAnAppendLeavesAVerifiableLog.
final class LogCrashTests: LogCLITestCase {
    override var temporaryPrefix: String { "tlog-crash" }

    func testSIGKILLDuringAppendsLeavesAVerifiableLog() throws {
        let started = Date()
        let (key, directory, log) = try initLog(origin: "crash.example/log")
        let vkey = log.logKey.vkey
        let checkpointFile = log.path(DirectoryLog.checkpointFile)
        // 700 new entries per append: several full tiles, bundles and partials per run.
        func makeBundle(_ round: Int) throws -> String {
            let bundle = root.appendingPathComponent("batch-\(round).bin").path
            try Data(EntryBundle.encode(entries(700, prefix: "crash \(round)"))).write(to: URL(fileURLWithPath: bundle))
            return bundle
        }
        func inode(_ path: String) -> UInt64 {
            var st = stat()
            return stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
        }
        // Calibrate: one uninterrupted append gives a first estimate of when the
        // checkpoint appears (the whole append: later than that); watcher rounds refine it.
        let calibration = Date()
        let first = try TestSupport.modelsec(["log", "append", directory, "--key", key, "--entry-bundle", try makeBundle(0)])
        XCTAssertEqual(first.status, 0, first.stderrText)
        var publishesAfter = max(0.05, Date().timeIntervalSince(calibration))
        var measured: [Double] = []
        var generator = SystemRandomNumberGenerator()
        var killed = 0, published = 0, unpublished = 0, rounds = 0
        var expected: UInt64 = 700
        for round in 1...36 {
            // Enough of both kinds, or out of time: stop early.
            if (published >= 3 && unpublished >= 3 && round > 12) || Date().timeIntervalSince(started) > 40 { break }
            rounds += 1
            let bundle = try makeBundle(round)
            let process = Process()
            process.executableURL = TestSupport.modelsecBinary
            process.arguments = ["log", "append", directory, "--key", key, "--entry-bundle", bundle]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let before = try log.checkpoint().checkpoint.size
            XCTAssertEqual(before, expected, "round \(round)")
            let oldInode = inode(checkpointFile)
            // Still no kill on one side after 6 rounds: aim every round at that side.
            // (Watcher rounds still come every third round: they keep the estimate current.)
            let needBefore = round > 6 && unpublished == 0, needAfter = round > 6 && published == 0
            let watch = needAfter || round % 3 == 1
            let spawned = Date()
            try process.run()
            if watch {
                // Watch for the new checkpoint and kill as soon as it is there; the time it
                // took is the estimate for the next rounds (the machine's load changes).
                let deadline = spawned.addingTimeInterval(4 * publishesAfter + 1)
                while Date() < deadline, process.isRunning, inode(checkpointFile) == oldInode { usleep(100) }
                if inode(checkpointFile) != oldInode || Date() >= deadline {
                    publishesAfter = max(0.05, Date().timeIntervalSince(spawned))
                    measured.append(publishesAfter)
                }
            } else {
                // From start-up to well past the checkpoint, or (aimed) well before it.
                let range = needBefore ? 0.1...0.5 : 0.05...1.5
                usleep(UInt32(Double.random(in: range, using: &generator) * publishesAfter * 1_000_000))
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let after = try log.checkpoint().checkpoint.size
            XCTAssertTrue(after == before || after == before + 700, "round \(round): size \(after) after \(before)")
            expected = after
            if process.terminationReason == .uncaughtSignal {
                killed += 1
                if after == before { unpublished += 1 } else { published += 1 }
            }
            // The log as any verifier sees it.
            let verified = try TestSupport.modelsec(["log", "verify", directory, "--log-key", vkey])
            XCTAssertEqual(verified.status, 0, "round \(round): \(verified.stderrText)")
        }
        print("LogCrashTests: \(killed) of \(rounds) appends killed (\(unpublished) before their checkpoint, \(published) after it), "
              + "checkpoint seen after \(measured.map { String(format: "%.3f", $0) }) s")
        XCTAssertGreaterThan(unpublished, 0, "no append was killed before its checkpoint was published; the test proved nothing there")
        XCTAssertGreaterThan(published, 0, "no append was killed after its checkpoint was published; the test proved nothing there")
        // The log takes new entries after all this, and the result verifies.
        let final = try TestSupport.modelsec(["log", "append", directory, "--key", key, "--entry-bundle", try makeBundle(99), "--json"])
        XCTAssertEqual(final.status, 0, final.stderrText)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: final.stdout) as? [String: Any])
        XCTAssertEqual(document["added"] as? Int, 700)
        XCTAssertEqual((document["treeSize"] as? Int).map(UInt64.init), expected + 700)
        let verified = try TestSupport.modelsec(["log", "verify", directory, "--log-key", vkey])
        XCTAssertEqual(verified.status, 0, verified.stderrText)
    }
}

/// The leaf index under SIGKILL: whatever point an append of new entries is
/// killed at, appending the same entries again adds none twice (all of them
/// when the killed append had not published its checkpoint, none when it
/// had), and at the end every entry ever given keeps its index.
final class LeafIndexCrashTests: LogCLITestCase {
    override var temporaryPrefix: String { "tlog-index-crash" }

    func testSIGKILLNeverMakesALoggedEntryLookNew() throws {
        let (key, directory, log) = try initLog(origin: "crash.example/index")
        let verifier = log.logKey
        func append(_ bundle: String) throws -> (added: Int, size: UInt64) {
            let r = try TestSupport.modelsec(["log", "append", directory, "--key", key, "--entry-bundle", bundle, "--json"])
            XCTAssertEqual(r.status, 0, r.stderrText)
            let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
            return (try XCTUnwrap(document["added"] as? Int), UInt64(try XCTUnwrap(document["treeSize"] as? Int)))
        }
        var bundles: [String] = []
        // Odd rounds append 700 entries (the table is read into memory and
        // the file replaced whole), even ones 3 (slots written in place).
        func size(_ round: Int) -> Int { round % 2 == 1 ? 700 : 3 }
        func makeBundle(_ round: Int) throws -> String {
            let bundle = root.appendingPathComponent("batch-\(round).bin").path
            try Data(EntryBundle.encode(entries(size(round), prefix: "index crash \(round)"))).write(to: URL(fileURLWithPath: bundle))
            bundles.append(bundle)
            return bundle
        }
        var spans: [Double] = []
        for round in [-1, -2] {
            let started = Date()
            XCTAssertEqual(try append(try makeBundle(round)).added, size(round))
            spans.append(max(0.05, Date().timeIntervalSince(started)))
        }
        var generator = SystemRandomNumberGenerator()
        var killed = 0, afterCheckpoint = 0
        for round in 1...30 {
            let span = spans[round % 2 == 1 ? 0 : 1]
            let bundle = try makeBundle(round)
            let before = try log.checkpoint().checkpoint.size
            let process = Process()
            process.executableURL = TestSupport.modelsecBinary
            process.arguments = ["log", "append", directory, "--key", key, "--entry-bundle", bundle]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(Double.random(in: 0.3...1.2, using: &generator) * span * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { killed += 1 }
            let published = try log.checkpoint().checkpoint.size
            if published != before { afterCheckpoint += 1 }
            // Again, to completion: only what the killed append did not publish is added.
            let again = try append(bundle)
            XCTAssertEqual(again.added, published == before ? size(round) : 0, "round \(round)")
            XCTAssertEqual(again.size, before + UInt64(size(round)), "round \(round)")
        }
        print("LeafIndexCrashTests: \(killed) of 30 appends killed (\(afterCheckpoint) after their checkpoint)")
        XCTAssertGreaterThan(killed, 0, "no append was interrupted; the test proved nothing")
        for bundle in bundles { XCTAssertEqual(try append(bundle).added, 0, bundle) }
        let verified = try TestSupport.modelsec(["log", "verify", directory, "--log-key", verifier.vkey])
        XCTAssertEqual(verified.status, 0, verified.stderrText)
    }
}

/// The same with the store sequencing: `log append --store` killed at any
/// point (before the store's commit, between the commit and publishing,
/// or while the tiles are written) leaves DIR a log that verifies at one of
/// the store's sizes, and `log publish` then brings it to the store's.
final class StoreLogCrashTests: XCTestCase {
    func testSIGKILLDuringStoreAppendsLeavesAVerifiableLog() throws {
        let root = try TestSupport.makeTemporaryDirectory("tlog-store-crash")
        defer { try? FileManager.default.removeItem(at: root) }
        let key = root.appendingPathComponent("log.pem").path
        let store = "sqlite:" + root.appendingPathComponent("store.db").path
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", key]).status, 0)
        XCTAssertEqual(try TestSupport.modelsec(["store", "migrate", "--store", store]).status, 0)
        let directory = root.appendingPathComponent("log").path
        let created = try TestSupport.modelsec(["log", "init", "--origin", "crash.example/store", "--key", key, directory])
        XCTAssertEqual(created.status, 0, created.stderrText)
        let verifier = try NoteVerifier(vkey: created.stdoutText.trimmingCharacters(in: .newlines))
        let log = DirectoryLog(directory: directory, logKey: verifier)
        var generator = SystemRandomNumberGenerator()
        var killed = 0
        var span = 0.05
        for round in 0..<20 {
            // Different entries each round (the same ones would only return their indices).
            let bundle = root.appendingPathComponent("batch-\(round).bin").path
            try Data(EntryBundle.encode(entries(700, prefix: "crash \(round)"))).write(to: URL(fileURLWithPath: bundle))
            let arguments = ["log", "append", directory, "--key", key, "--entry-bundle", bundle, "--store", store]
            if round == 0 {
                // Calibrate: one uninterrupted append gives the span to kill within.
                let started = Date()
                let first = try TestSupport.modelsec(arguments)
                XCTAssertEqual(first.status, 0, first.stderrText)
                span = max(0.05, Date().timeIntervalSince(started))
                continue
            }
            let process = Process()
            process.executableURL = TestSupport.modelsecBinary
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(Double.random(in: 0.3...1.1, using: &generator) * span * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { killed += 1 }
            let after = try log.checkpoint()
            XCTAssertEqual(after.checkpoint.size % 700, 0, "round \(round)")
            let reader = log.reader
            try LogVerifier(reader: reader, label: { reader.path(of: $0) }).verify(after.checkpoint)
        }
        XCTAssertGreaterThan(killed, 0, "no append was interrupted; the test proved nothing")
        let published = try TestSupport.modelsec(["log", "publish", directory, "--store", store, "--origin", "crash.example/store", "--json"])
        XCTAssertEqual(published.status, 0, published.stderrText)
        let status = try TestSupport.modelsec(["store", "status", "--store", store, "--json"])
        let logs = try XCTUnwrap((try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])?["logs"] as? [[String: Any]])
        XCTAssertEqual(UInt64(try XCTUnwrap(logs.first?["size"] as? Int)), try log.checkpoint().checkpoint.size)
        let verified = try TestSupport.modelsec(["log", "verify", directory, "--log-key", verifier.vkey])
        XCTAssertEqual(verified.status, 0, verified.stderrText)
    }
}
