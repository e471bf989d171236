#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import XCTest

/// Hostile directories against the CLI: every command must finish, and the
/// scanner must still report what it can read.
final class WalkerClassTests: XCTestCase {
    /// Runs modelsec, killing it after `seconds`; nil status means it hung.
    func run(_ arguments: [String], seconds: Double = 30) throws -> (status: Int32?, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = TestSupport.modelsecBinary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        let hung = process.isRunning
        if hung { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (hung ? nil : process.terminationStatus, stdout, stderr)
    }

    /// A FIFO beside a malicious pickle: the pickle is still reported.
    func testScanReportsEverythingItCanReadDespiteARefusedEntry() throws {
        let dir = try TestSupport.makeTemporaryDirectory("walker-scan")
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(model.path + "/a-pipe", 0o600), 0)
        let pickle: [UInt8] = [0x80, 0x02] + Array("cposix\nsystem\n".utf8) + [0x58, 4, 0, 0, 0] + Array("true".utf8) + [0x85, 0x52, 0x2E]
        try Data(pickle).write(to: model.appendingPathComponent("b.pkl"))
        let result = try run(["scan", model.path, "--json"])
        XCTAssertNotNil(result.status, "scan hung")
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let summary = try XCTUnwrap(report["summary"] as? [String: Any])
        XCTAssertEqual(summary["dangerous"] as? Int, 1, result.stdout)
        XCTAssertGreaterThanOrEqual(summary["errors"] as? Int ?? 0, 1, "the FIFO is reported too")
        XCTAssertNotEqual(result.status, 0)
    }

    /// `audit` reads release.json non-blocking: a FIFO in its place is an error, not a hang.
    func testAuditDoesNotHangOnAFIFO() throws {
        let dir = try TestSupport.makeTemporaryDirectory("walker-audit")
        let release = dir.appendingPathComponent("rel")
        try FileManager.default.createDirectory(at: release, withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(release.path + "/release.json", 0o600), 0)
        try Data("name: p\nversion: \"1\"\nrules:\n  - id: R\n    title: t\n    severity: deny\n    check: artifacts-encrypted\n".utf8)
            .write(to: dir.appendingPathComponent("p.yaml"))
        let result = try run(["audit", release.path, "--policy", dir.appendingPathComponent("p.yaml").path])
        XCTAssertNotNil(result.status, "audit hung on a FIFO")
        XCTAssertNotEqual(result.status, 0, result.stderr + result.stdout)
    }
}
