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
