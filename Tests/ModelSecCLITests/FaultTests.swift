import Foundation
import TestSupport
import XCTest

/// What a user finds after the worst moment: the process killed with SIGKILL
/// in the middle of writing, or the disk (here: the file-size limit) filling
/// up. The destination must be absent or the previous complete file, never a
/// partial one; a leftover temporary file must be recognisable by its name.
final class FaultTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("faults") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A large input that costs nothing to make: a sparse file of zeros.
    func makeLargeInput(_ name: String, bytes: Int64) throws -> String {
        let p = path(name)
        XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: p))
        try handle.truncate(atOffset: UInt64(bytes))
        try handle.close()
        return p
    }

    /// Starts modelsec, waits until it has begun writing (a temporary file
    /// appears) or `delay` passes, then kills it with SIGKILL.
    func killMidway(_ arguments: [String], delay: TimeInterval = 5) throws -> Int32 {
        let process = Process()
        process.executableURL = TestSupport.modelsecBinary
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(delay)
        while Date() < deadline, process.isRunning {
            if try temporaryFiles().count > 0 { break }
            usleep(5_000)
        }
        usleep(50_000)  // let it write a little more
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertTrue(wasRunning, "the command finished before it could be killed; make the input larger")
        return process.terminationStatus
    }

    func temporaryFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".modelsec-tmp-") }
    }

    /// SIGINT and SIGTERM are caught: the temporary file of an interrupted
    /// write is removed and the exit status is 128 + the signal.
    func testInterruptedCommandRemovesItsTemporaryFiles() throws {
        let input = try makeLargeInput("big.bin", bytes: 3 << 30)
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "aes256", "--out", path("k.key")]).status, 0)
        for (signalNumber, expected) in [(SIGTERM, Int32(143)), (SIGINT, Int32(130))] {
            let process = Process()
            process.executableURL = TestSupport.modelsecBinary
            process.arguments = ["encrypt", input, "--output", path("big.enc"), "--key-file", path("k.key")]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, process.isRunning, try temporaryFiles().isEmpty { usleep(5_000) }
            XCTAssertTrue(process.isRunning, "encrypt finished before it could be interrupted")
            XCTAssertFalse(try temporaryFiles().isEmpty, "encrypt has a temporary file while it runs")
            kill(process.processIdentifier, signalNumber)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, expected, "exit status after signal \(signalNumber)")
            XCTAssertEqual(try temporaryFiles(), [], "no temporary file is left after signal \(signalNumber)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("big.enc")))
        }
    }

    func testSIGKILLDuringEncryptAndDecryptLeavesNoPartialOutput() throws {
        let input = try makeLargeInput("big.bin", bytes: 3 << 30)
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "aes256", "--out", path("k.key")]).status, 0)

        _ = try killMidway(["encrypt", input, "--output", path("big.enc"), "--key-file", path("k.key")])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("big.enc")), "a killed encrypt must not leave big.enc")
        for name in try temporaryFiles() {
            XCTAssertTrue(name.hasPrefix(".big.enc.modelsec-tmp-"), "leftover is clearly named: \(name)")
            try FileManager.default.removeItem(atPath: path(name))
        }

        // A previous complete output survives a killed overwrite untouched.
        let small = path("small.bin")
        try Data(repeating: 7, count: 100_000).write(to: URL(fileURLWithPath: small))
        XCTAssertEqual(try TestSupport.modelsec(["encrypt", small, "--output", path("big.enc"), "--key-file", path("k.key")]).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: path("big.enc")))
        _ = try killMidway(["encrypt", input, "--output", path("big.enc"), "--key-file", path("k.key"), "--force"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("big.enc"))), before, "the previous complete file is intact")
        for name in try temporaryFiles() { try FileManager.default.removeItem(atPath: path(name)) }

        // Decrypt: encrypt a large file completely, then kill the decrypt midway.
        let mid = try makeLargeInput("mid.bin", bytes: 1 << 30)
        let r = try TestSupport.modelsec(["encrypt", mid, "--output", path("mid.enc"), "--key-file", path("k.key")])
        XCTAssertEqual(r.status, 0, r.stderrText)
        _ = try killMidway(["decrypt", path("mid.enc"), "--output", path("mid.out"), "--key-file", path("k.key")])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("mid.out")), "a killed decrypt must not leave plaintext at the destination")
        for name in try temporaryFiles() {
            XCTAssertTrue(name.hasPrefix(".mid.out.modelsec-tmp-"), "leftover is clearly named: \(name)")
        }
    }

    func testSIGKILLDuringSignLeavesNoSignature() throws {
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for i in 0..<4 { _ = try makeLargeInput("model/part\(i).bin", bytes: 1 << 30) }
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--out", path("k.pem")]).status, 0)
        let process = Process()
        process.executableURL = TestSupport.modelsecBinary
        process.arguments = ["sign", model.path, "--key", path("k.pem"), "--output", path("model.sig")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(300_000)
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertTrue(wasRunning, "sign finished before it could be killed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("model.sig")))

        // A previous complete signature survives a killed re-sign untouched and still verifies.
        try Data("a small model".utf8).write(to: dir.appendingPathComponent("small.bin"))
        var r = try TestSupport.modelsec(["sign", path("small.bin"), "--key", path("k.pem"), "--output", path("model.sig")])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let before = try Data(contentsOf: URL(fileURLWithPath: path("model.sig")))
        _ = try killMidway(["sign", model.path, "--key", path("k.pem"), "--output", path("model.sig"), "--force"], delay: 0.3)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("model.sig"))), before, "the previous signature is intact")
        XCTAssertEqual(try temporaryFiles(), [], "sign writes nothing before the model is hashed")
        r = try TestSupport.modelsec(["verify", path("small.bin"), "--signature", path("model.sig"), "--public-key", path("k.pem.pub")])
        XCTAssertEqual(r.status, 0, r.stderrText)
    }

    func testSIGKILLDuringReleaseCreateLeavesNoRelease() throws {
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for i in 0..<2 { _ = try makeLargeInput("model/part\(i).bin", bytes: 1 << 30) }
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--out", path("k.pem")]).status, 0)
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "aes256", "--out", path("s.key")]).status, 0)
        let arguments = ["release", "create", model.path, "--name", "big", "--version", "1.0.0", "--signing-key", path("k.pem"),
                         "--key-file", path("s.key"), "--no-scan"]
        _ = try killMidway(arguments + ["--output", path("big-1.0.0")])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("big-1.0.0")), "a killed release create must not leave the release directory")
        for name in try temporaryFiles() {
            XCTAssertTrue(name.hasPrefix(".big-1.0.0.modelsec-tmp-"), "leftover is clearly named: \(name)")
            try FileManager.default.removeItem(atPath: path(name))
        }

        // Killed while replacing the contents of an existing empty output folder: still no partial release in it.
        try FileManager.default.createDirectory(atPath: path("empty-out"), withIntermediateDirectories: true)
        _ = try killMidway(arguments + ["--output", path("empty-out")])
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: path("empty-out"))) ?? [], [],
                       "the existing output folder holds no partial release")
    }

    /// The file-size limit stands in for a full disk: the write fails with
    /// EFBIG (SIGXFSZ ignored, as a shell's `trap '' XFSZ` leaves it for exec).
    func testWriteFailureIsAClearErrorWithNoPartialOutput() throws {
        let input = path("in.bin")
        try Data(repeating: 1, count: 4 << 20).write(to: URL(fileURLWithPath: input))
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "aes256", "--out", path("k.key")]).status, 0)
        let script = "trap '' XFSZ; ulimit -f 1024; exec \"$0\" \"$@\""
        let r = try TestSupport.run("/bin/bash", ["-c", script, TestSupport.modelsecBinary.path,
                                                  "encrypt", input, "--output", path("out.enc"), "--key-file", path("k.key")])
        XCTAssertEqual(r.status, 2, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("out.enc"), "the message names the file: \(r.stderrText)")
        XCTAssertTrue(r.stderrText.lowercased().contains("too large") || r.stderrText.contains("space"), r.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.enc")))
        XCTAssertEqual(try temporaryFiles(), [], "the temporary file is removed after a failed write")
    }
}
