#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// Crash safety: `modelsec log append` killed with SIGKILL at random points
/// never leaves a log that fails verification, and the next append works.
final class LogCrashTests: XCTestCase {
    func testSIGKILLDuringAppendsLeavesAVerifiableLog() throws {
        let root = try TestSupport.makeTemporaryDirectory("tlog-crash")
        defer { try? FileManager.default.removeItem(at: root) }
        let key = root.appendingPathComponent("log.pem").path
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", key]).status, 0)
        let directory = root.appendingPathComponent("log").path
        let created = try TestSupport.modelsec(["log", "init", "--origin", "crash.example/log", "--key", key, directory])
        XCTAssertEqual(created.status, 0, created.stderrText)
        let verifier = try NoteVerifier(vkey: created.stdoutText.trimmingCharacters(in: .newlines))
        let log = DirectoryLog(directory: directory, logKey: verifier)
        // 700 entries per append: several full tiles, bundles and partials per run.
        let bundle = root.appendingPathComponent("batch.bin").path
        try Data(EntryBundle.encode(entries(700, prefix: "crash"))).write(to: URL(fileURLWithPath: bundle))
        // Calibrate: one uninterrupted append gives the span to kill within.
        let started = Date()
        let first = try TestSupport.modelsec(["log", "append", directory, "--key", key, "--entry-bundle", bundle])
        XCTAssertEqual(first.status, 0, first.stderrText)
        let span = max(0.05, Date().timeIntervalSince(started))
        var generator = SystemRandomNumberGenerator()
        var killed = 0, published = 0, unpublished = 0
        for round in 0..<30 {
            let process = Process()
            process.executableURL = TestSupport.modelsecBinary
            process.arguments = ["log", "append", directory, "--key", key, "--entry-bundle", bundle]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let before = try log.checkpoint().checkpoint.size
            try process.run()
            // Anywhere from start-up to the end of the write phase.
            usleep(UInt32(Double.random(in: 0.3...1.1, using: &generator) * span * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let after = try log.checkpoint()
            if process.terminationReason == .uncaughtSignal {
                killed += 1
                if after.checkpoint.size == before { unpublished += 1 } else { published += 1 }
            }
            XCTAssertTrue(after.checkpoint.size == before || after.checkpoint.size == before + 700, "round \(round)")
            let reader = log.reader
            try LogVerifier(reader: reader, label: { reader.path(of: $0) }).verify(after.checkpoint)
        }
        print("LogCrashTests: \(killed) of 30 appends killed (\(unpublished) before their checkpoint, \(published) after it)")
        XCTAssertGreaterThan(killed, 0, "no append was interrupted; the test proved nothing")
        let final = try TestSupport.modelsec(["log", "append", directory, "--key", key, "--entry-bundle", bundle])
        XCTAssertEqual(final.status, 0, final.stderrText)
        let verified = try TestSupport.modelsec(["log", "verify", directory, "--log-key", verifier.vkey])
        XCTAssertEqual(verified.status, 0, verified.stderrText)
    }
}

/// The leaf index under SIGKILL: whatever point an append of new entries is
/// killed at, appending the same entries again adds none twice (all of them
/// when the killed append had not published its checkpoint, none when it
/// had), and at the end every entry ever given keeps its index.
final class LeafIndexCrashTests: XCTestCase {
    func testSIGKILLNeverMakesALoggedEntryLookNew() throws {
        let root = try TestSupport.makeTemporaryDirectory("tlog-index-crash")
        defer { try? FileManager.default.removeItem(at: root) }
        let key = root.appendingPathComponent("log.pem").path
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", key]).status, 0)
        let directory = root.appendingPathComponent("log").path
        let created = try TestSupport.modelsec(["log", "init", "--origin", "crash.example/index", "--key", key, directory])
        XCTAssertEqual(created.status, 0, created.stderrText)
        let verifier = try NoteVerifier(vkey: created.stdoutText.trimmingCharacters(in: .newlines))
        let log = DirectoryLog(directory: directory, logKey: verifier)
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
