import Foundation

/// Helpers shared by the test targets: temporary directories, running the
/// `modelsec` binary and other tools, and locating shared test vectors.
public enum TestSupport {
    /// The repository root (found from this file's location).
    public static let repositoryRoot: URL = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    /// The published test vectors kept in the repository (`Tests/Vectors`:
    /// Wycheproof, with its licence and source), or `$MODELSEC_VECTORS`.
    public static var sharedVectors: URL {
        if let override = ProcessInfo.processInfo.environment["MODELSEC_VECTORS"] { return URL(fileURLWithPath: override) }
        return repositoryRoot.appendingPathComponent("Tests/Vectors")
    }

    /// The built `modelsec` executable, beside the test bundle. Found once:
    /// `Bundle.allBundles` allocates on every call (and Foundation never frees
    /// it, which LeakSanitizer would report under `make test-asan`).
    public static let modelsecBinary: URL = findModelsecBinary()

    private static func findModelsecBinary() -> URL {
        if let override = ProcessInfo.processInfo.environment["MODELSEC_BIN"] { return URL(fileURLWithPath: override) }
        var dir = Bundle.main.bundleURL
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            dir = bundle.bundleURL.deletingLastPathComponent()
        }
        let candidate = dir.appendingPathComponent("modelsec")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        return repositoryRoot.appendingPathComponent(".build/debug/modelsec")
    }

    /// A new empty temporary directory, removed by the caller (or left for the OS).
    public static func makeTemporaryDirectory(_ label: String = "modelsec-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The result of running a process.
    public struct ProcessResult {
        public let status: Int32
        public let stdout: Data
        public let stderr: Data
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
        /// A result.
        public init(status: Int32, stdout: Data, stderr: Data) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// A child process that ran past its time limit (killed with SIGKILL).
    public struct ProcessTimedOut: Error, CustomStringConvertible {
        /// The command line.
        public let command: [String]
        /// The limit, in seconds.
        public let seconds: TimeInterval
        /// What it printed before it was killed.
        public let stdout: Data, stderr: Data
        public var description: String {
            "\(command.joined(separator: " ")) ran longer than \(Int(seconds)) s and was killed; stderr: "
                + String(decoding: stderr.suffix(4000), as: UTF8.self)
        }
    }

    /// The default limit for one child process: 900 s, or `$MODELSEC_TEST_PROCESS_TIMEOUT`.
    public static let processTimeout: TimeInterval = {
        ProcessInfo.processInfo.environment["MODELSEC_TEST_PROCESS_TIMEOUT"].flatMap(TimeInterval.init) ?? 900
    }()

    /// A pipe drained on its own thread into a buffer that can be taken at
    /// any time. A Thread, not a Dispatch queue: dozens of concurrent runs
    /// (ConcurrentChargeTests) would otherwise wait for the global queue's
    /// limited workers, and a drain that had not started read nothing.
    private final class Drain: @unchecked Sendable {
        // @unchecked Sendable: `data` and `done` are only touched under `lock`.
        private let lock = NSLock()
        private var data = Data()
        private let finished = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            let thread = Thread {
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    self.lock.lock(); self.data.append(chunk); self.lock.unlock()
                }
                self.finished.signal()
            }
            thread.stackSize = 256 << 10
            thread.start()
        }

        /// What was read, after waiting up to `seconds` for the end of the stream.
        func take(waiting seconds: TimeInterval) -> Data {
            _ = finished.wait(timeout: .now() + seconds)
            lock.lock(); defer { lock.unlock() }
            return data
        }
    }

    /// Runs `executable` with `arguments`, feeding `stdin`, and waits for it.
    ///
    /// Never hangs a test run: a child still running after `timeout` seconds
    /// is killed and ``ProcessTimedOut`` thrown; once the child has exited,
    /// its output is read for at most 10 s more, so a descendant that keeps
    /// the pipes open (a browser's crash handler, a daemon) cannot block.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil,
                           environment: [String: String]? = nil, currentDirectory: URL? = nil,
                           timeout: TimeInterval = processTimeout) throws -> ProcessResult {
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        // Both pipes drained concurrently so a chatty child cannot block.
        let out = Drain(outPipe.fileHandleForReading), err = Drain(errPipe.fileHandleForReading)
        if let stdin { inPipe.fileHandleForWriting.write(stdin) }
        try? inPipe.fileHandleForWriting.close()
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            // Killed, then not waited on without a bound: if Foundation never
            // saw the exit (a descendant of another spawn holding its
            // exit-watch descriptor), waitUntilExit would never return.
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 10)
            throw ProcessTimedOut(command: [executable] + arguments, seconds: timeout,
                                  stdout: out.take(waiting: 1), stderr: err.take(waiting: 1))
        }
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, stdout: out.take(waiting: 10), stderr: err.take(waiting: 10))
    }

    /// Runs the `modelsec` binary.
    @discardableResult
    public static func modelsec(_ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil,
                                currentDirectory: URL? = nil, timeout: TimeInterval = processTimeout) throws -> ProcessResult {
        try run(modelsecBinary.path, arguments, stdin: stdin, environment: environment, currentDirectory: currentDirectory,
                timeout: timeout)
    }

    /// Decodes lowercase/uppercase hex (test vectors).
    public static func hex(_ text: String) -> [UInt8] {
        let clean = text.filter { !$0.isWhitespace }
        var out = [UInt8]()
        var index = clean.startIndex
        while index < clean.endIndex {
            let next = clean.index(index, offsetBy: 2)
            out.append(UInt8(clean[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// The Python of `.build/venvs/test`, which has every peer implementation
    /// the tests compare with (requirements/test.txt, pinned with hashes),
    /// created by `scripts/python-env.sh` on first use and reused after.
    public static func python() throws -> String {
        let script = repositoryRoot.appendingPathComponent("scripts/python-env.sh").path
        let r = try run(script, [])
        guard r.status == 0 else { throw VenvError(message: "scripts/python-env.sh failed: \(r.stderrText)") }
        return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public struct VenvError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}

extension TestSupport {
    /// Python's `http.server` serving the files of `directory` on 127.0.0.1
    /// at an ephemeral port (quiet, threaded): the process and the port (0
    /// when it did not report one). The caller terminates the process.
    public static func startStaticHTTPServer(directory: URL) throws -> (process: Process, port: Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try python())
        process.arguments = ["-c", """
            import functools, http.server, sys
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
            handler.func.log_message = lambda *args: None
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """, directory.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        return (process, Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
    }
}
