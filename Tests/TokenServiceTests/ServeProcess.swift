import Foundation
import TestSupport

/// A `modelsec serve` process for a test: started on the config's address,
/// its stderr in a log file, its port (and http or https) read from the
/// "listening on" line. The one launcher of the server in the tests.
final class ServeProcess {
    let process = Process()
    /// The server's stderr, which holds its JSON request log.
    let logPath: String
    private(set) var scheme = ""
    private(set) var port = 0

    /// Starts the server and waits (30 s at most) until it listens.
    init(config: String, logDirectory: URL, arguments: [String] = [], environment: [String: String] = [:]) throws {
        logPath = logDirectory.appendingPathComponent("serve-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = TestSupport.modelsecBinary
        process.arguments = ["serve", "--config", config] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, process.isRunning {
            if let range = log.range(of: "listening on ") {
                let rest = log[range.upperBound...]
                let line = rest[..<(rest.firstIndex(of: "\n") ?? rest.endIndex)]
                if let schemeEnd = line.range(of: "://"), let colon = line.range(of: ":", options: .backwards) {
                    scheme = String(line[..<schemeEnd.lowerBound])
                    port = Int(line[colon.upperBound...].prefix { $0.isNumber }) ?? 0
                    if port > 0 { return }
                }
            }
            usleep(50_000)
        }
        if process.isRunning { process.terminate() }
        throw NSError(domain: "ServeProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "the server did not start: \(log)"])
    }

    /// The same, with the log beside the config in `directory`.
    convenience init(config: String, directory: URL) throws {
        try self.init(config: config, logDirectory: directory)
    }

    /// What the server wrote to stderr so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    /// `scheme://127.0.0.1:port`.
    var base: String { "\(scheme)://127.0.0.1:\(port)" }
    var pid: Int32 { process.processIdentifier }

    /// SIGTERM, then the exit status; a server still running 30 s later is
    /// killed (SIGKILL, status 137), so a stuck shutdown fails the test
    /// instead of hanging the run.
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        return waitForExit(seconds: 30)
    }

    /// The exit status once the process has ended (SIGKILL, 137, past `seconds`).
    func waitForExit(seconds: Double) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return 137
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
