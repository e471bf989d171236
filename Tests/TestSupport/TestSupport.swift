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

    /// Runs `executable` with `arguments`, feeding `stdin`, and waits for it.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil,
                           environment: [String: String]? = nil, currentDirectory: URL? = nil) throws -> ProcessResult {
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
        try process.run()
        // Drain both pipes concurrently so a chatty child cannot block.
        var out = Data(), err = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { out = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { err = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if let stdin { inPipe.fileHandleForWriting.write(stdin) }
        try? inPipe.fileHandleForWriting.close()
        process.waitUntilExit()
        group.wait()
        return ProcessResult(status: process.terminationStatus, stdout: out, stderr: err)
    }

    /// Runs the `modelsec` binary.
    @discardableResult
    public static func modelsec(_ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil,
                                currentDirectory: URL? = nil) throws -> ProcessResult {
        try run(modelsecBinary.path, arguments, stdin: stdin, environment: environment, currentDirectory: currentDirectory)
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
