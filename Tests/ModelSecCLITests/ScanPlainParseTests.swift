import Foundation
import TestSupport
import XCTest

/// `modelsec scan` reads the plainest command lines (paths, `--json`,
/// `--verbose`) without ArgumentParser; everything else goes through it.
/// Both must mean the same: `--progress never` forces the ArgumentParser
/// parse of the same command.
final class ScanPlainParseTests: XCTestCase {
    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = TestSupport.modelsecBinary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func testPlainAndArgumentParserParsesAgree() throws {
        let dir = try TestSupport.makeTemporaryDirectory("scan-plain")
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("N.".utf8).write(to: model.appendingPathComponent("clean.pkl"))
        try Data("cposix\nsystem\n(S'true'\ntR.".utf8).write(to: model.appendingPathComponent("bad.pkl"))
        try Data("N.".utf8).write(to: dir.appendingPathComponent("single.pkl"))
        for words in [[model.path], [model.path, "--verbose"], ["--json", model.path], [dir.appendingPathComponent("single.pkl").path, "--json"],
                      [model.path, dir.appendingPathComponent("missing.pkl").path]] {
            let plain = try run(["scan"] + words)
            let parsed = try run(["scan", "--progress", "never"] + words)
            XCTAssertEqual(plain.status, parsed.status, "\(words)")
            XCTAssertEqual(plain.stdout, parsed.stdout, "\(words)")
            XCTAssertEqual(plain.stderr, parsed.stderr, "\(words)")
            XCTAssertFalse(plain.stdout.isEmpty, "\(words)")
        }
        // What the plain reading does not take is left to ArgumentParser.
        XCTAssertEqual(try run(["scan"]).status, 2)
        XCTAssertEqual(try run(["scan", model.path, "--jsn"]).status, 2)
        XCTAssertTrue(try run(["scan", "--help"]).stdout.contains("USAGE"))
        let badEnvironment = try run(["scan", model.path], environment: ["MODELSEC_PROGRESS": "bogus"])
        XCTAssertEqual(badEnvironment.status, 2)
        XCTAssertTrue(badEnvironment.stderr.contains("MODELSEC_PROGRESS"), badEnvironment.stderr)
    }
}
