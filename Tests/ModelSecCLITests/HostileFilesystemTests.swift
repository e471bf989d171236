import Foundation
import TestSupport
import XCTest

/// The file system at its least cooperative: inputs that cannot be read, a
/// directory where a file was expected, an output directory that refuses
/// writes, a signature file that is a symbolic link, a model that changes
/// while it is being signed, and secret keys that others can read. Each case
/// must end in a clear message naming the path, the documented exit code,
/// and nothing left where a user would trust it.
///
/// Permission cases run the CLI as an unprivileged user: the tests usually
/// run as root (CI), and root ignores file modes, so the binary is run
/// through `setpriv` as `nobody` on a copy that `nobody` can execute.
final class HostileFilesystemTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory("hostile-fs")
        chmod(dir.path, 0o755)
    }

    override func tearDownWithError() throws {
        // Give back write access everywhere so the folder can be removed.
        _ = try? TestSupport.run("/bin/chmod", ["-R", "u+rwx", dir.path])
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    @discardableResult
    func modelsec(_ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil) throws -> TestSupport.ProcessResult {
        try TestSupport.modelsec(arguments, stdin: stdin, environment: environment)
    }

    /// A model (nested folder, two files), an Ed25519 key pair, an aes256 key,
    /// the model's signature and an encrypted file.
    func makeFixtures() throws {
        try write("model/config.json", "{\"layers\": 2}\n")
        try write("model/weights/w.bin", String(repeating: "w", count: 4096))
        XCTAssertEqual(try modelsec(["keygen", "--out", path("k.pem")]).status, 0)
        XCTAssertEqual(try modelsec(["keygen", "--type", "aes256", "--out", path("s.key")]).status, 0)
        XCTAssertEqual(try modelsec(["sign", path("model"), "--key", path("k.pem"), "--output", path("model.sig")]).status, 0)
        XCTAssertEqual(try modelsec(["encrypt", path("model/config.json"), "--key-file", path("s.key"), "--output", path("c.enc")]).status, 0)
    }

    func assertRefused(_ result: TestSupport.ProcessResult, status: Int32 = 2, naming name: String, saying words: [String],
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, status, "exit code; stderr: \(result.stderrText)", file: file, line: line)
        XCTAssertTrue(result.stderrText.contains(name), "the message names \(name): \(result.stderrText)", file: file, line: line)
        for word in words {
            XCTAssertTrue(result.stderrText.lowercased().contains(word), "the message says \"\(word)\": \(result.stderrText)", file: file, line: line)
        }
        XCTAssertFalse(result.stderrText.contains("Fatal error") || result.stderrText.contains("Stack dump"), result.stderrText, file: file, line: line)
    }

    // MARK: - A directory where a file was expected

    func testDirectoryWhereAFileWasExpectedIsAClearUsageError() throws {
        try makeFixtures()
        try FileManager.default.createDirectory(atPath: path("adir"), withIntermediateDirectories: true)
        let adir = path("adir")
        let cases: [[String]] = [
            ["encrypt", adir, "--key-file", path("s.key"), "--output", path("out1")],
            ["encrypt", path("model/config.json"), "--key-file", adir, "--output", path("out2")],
            ["decrypt", adir, "--key-file", path("s.key"), "--output", path("out3")],
            ["decrypt", path("c.enc"), "--key-file", path("s.key"), "--output", adir],
            ["inspect-encrypted", adir],
            ["sign", path("model"), "--key", adir, "--output", path("out4")],
            ["sign", path("model"), "--key", path("k.pem"), "--output", adir],
            ["verify", path("model"), "--signature", adir, "--public-key", path("k.pem.pub")],
            ["verify", path("model"), "--signature", path("model.sig"), "--public-key", adir],
            ["key", "inspect", adir],
            ["token", "jwks", "--public-key", adir],
        ]
        for arguments in cases {
            let r = try modelsec(arguments)
            assertRefused(r, naming: "adir", saying: ["directory"])
            XCTAssertFalse(r.stderrText.contains("warning"), "no key-permission warning about a directory: \(arguments) \(r.stderrText)")
        }
        for name in ["out1", "out2", "out3", "out4"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path(name)), "\(name) must not be created")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: adir), [], "nothing is written into the directory")

        // A verifier's JWKS given as a directory.
        let r = try modelsec(["token", "verify", "-", "--jwks", adir, "--issuer", "i", "--audience", "a"], stdin: Data("x.y.z".utf8))
        assertRefused(r, naming: "adir", saying: ["directory"])
    }

    // MARK: - Unreadable inputs and permission denied on the output

    /// Where the unprivileged copy of the CLI lives; removed after the class's tests.
    static let unprivilegedFolder = FileManager.default.temporaryDirectory.appendingPathComponent("modelsec-unprivileged-\(getpid())")

    override class func tearDown() {
        try? FileManager.default.removeItem(at: unprivilegedFolder)
        super.tearDown()
    }

    /// A copy of the CLI that an unprivileged user can run (nil when not root:
    /// then the binary is run as it is).
    static let unprivilegedBinary: String? = {
        guard geteuid() == 0 else { return nil }
        let folder = unprivilegedFolder
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        chmod(folder.path, 0o755)
        let copy = folder.appendingPathComponent("modelsec").path
        if !FileManager.default.fileExists(atPath: copy) {
            try? FileManager.default.copyItem(atPath: TestSupport.modelsecBinary.path, toPath: copy)
        }
        chmod(copy, 0o755)
        return copy
    }()

    /// Runs modelsec as user `nobody` when the tests run as root, else as the
    /// current user; either way file modes are enforced.
    func modelsecUnprivileged(_ arguments: [String]) throws -> TestSupport.ProcessResult {
        guard let binary = Self.unprivilegedBinary else { return try modelsec(arguments) }
        return try TestSupport.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", binary] + arguments)
    }

    /// Makes the test folder the unprivileged user's, as its own files would be.
    func handOverFixtures() throws {
        if geteuid() == 0 {
            let r = try TestSupport.run("/bin/chown", ["-R", "65534:65534", dir.path])
            XCTAssertEqual(r.status, 0, r.stderrText)
        }
    }

    func testUnreadableInputsAreNamedWithExitTwo() throws {
        try makeFixtures()
        try write("plain.bin", "some plaintext")
        try handOverFixtures()
        // Sanity: the unprivileged user can do the normal thing.
        XCTAssertEqual(try modelsecUnprivileged(["verify", path("model"), "--signature", path("model.sig"), "--public-key", path("k.pem.pub")]).status, 0)

        chmod(path("model/weights/w.bin"), 0o000)
        var r = try modelsecUnprivileged(["sign", path("model"), "--key", path("k.pem"), "--output", path("new.sig")])
        assertRefused(r, naming: "w.bin", saying: ["permission denied"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("new.sig")))
        r = try modelsecUnprivileged(["verify", path("model"), "--signature", path("model.sig"), "--public-key", path("k.pem.pub")])
        assertRefused(r, naming: "w.bin", saying: ["permission denied"])

        chmod(path("model/weights"), 0o000)
        r = try modelsecUnprivileged(["sign", path("model"), "--key", path("k.pem"), "--output", path("new.sig")])
        assertRefused(r, naming: "weights", saying: ["permission denied"])
        chmod(path("model/weights"), 0o755)

        chmod(path("plain.bin"), 0o000)
        r = try modelsecUnprivileged(["encrypt", path("plain.bin"), "--key-file", path("s.key"), "--output", path("plain.enc")])
        assertRefused(r, naming: "plain.bin", saying: ["permission denied"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("plain.enc")))

        chmod(path("c.enc"), 0o000)
        r = try modelsecUnprivileged(["decrypt", path("c.enc"), "--key-file", path("s.key"), "--output", path("c.out")])
        assertRefused(r, naming: "c.enc", saying: ["permission denied"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("c.out")))
        chmod(path("c.enc"), 0o644)

        for (file, arguments) in [
            ("s.key", ["decrypt", path("c.enc"), "--key-file", path("s.key"), "--output", path("c.out")]),
            ("k.pem", ["sign", path("model/config.json"), "--key", path("k.pem"), "--output", path("one.sig")]),
            ("model.sig", ["verify", path("model/config.json"), "--signature", path("model.sig"), "--public-key", path("k.pem.pub")]),
            ("k.pem.pub", ["token", "jwks", "--public-key", path("k.pem.pub")]),
        ] {
            let before = FileIOMode.of(path(file))
            chmod(path(file), 0o000)
            r = try modelsecUnprivileged(arguments)
            assertRefused(r, naming: file, saying: ["permission denied"])
            chmod(path(file), before)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("c.out")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("one.sig")))
    }

    func testPermissionDeniedOnTheOutputFailsBeforeTheWorkAndLeavesNothing() throws {
        try makeFixtures()
        try FileManager.default.createDirectory(atPath: path("readonly"), withIntermediateDirectories: true)
        try handOverFixtures()
        chmod(path("readonly"), 0o555)
        let cases: [(String, [String])] = [
            ("m.sig", ["sign", path("model"), "--key", path("k.pem"), "--output", path("readonly/m.sig")]),
            ("c2.enc", ["encrypt", path("model/config.json"), "--key-file", path("s.key"), "--output", path("readonly/c2.enc")]),
            ("c.out", ["decrypt", path("c.enc"), "--key-file", path("s.key"), "--output", path("readonly/c.out")]),
            ("k2.pem", ["keygen", "--out", path("readonly/k2.pem")]),
            ("rel", ["release", "create", path("model"), "--name", "m", "--version", "1.0.0", "--signing-key", path("k.pem"),
                     "--key-file", path("s.key"), "--output", path("readonly/rel")]),
        ]
        for (name, arguments) in cases {
            let r = try modelsecUnprivileged(arguments)
            assertRefused(r, naming: "readonly/\(name)", saying: ["permission denied"])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("readonly")), [], "nothing, not even a temporary file")
    }

    // MARK: - Signature files that are symbolic links

    func testASignatureWrittenOverASymlinkReplacesTheLinkNotItsTarget() throws {
        try makeFixtures()
        try write("precious.txt", "not a signature\n")
        try FileManager.default.createSymbolicLink(atPath: path("link.sig"), withDestinationPath: "precious.txt")
        // One overwrite rule for every command: an existing output needs --force.
        let refused = try modelsec(["sign", path("model"), "--key", path("k.pem"), "--output", path("link.sig")])
        XCTAssertEqual(refused.status, 2, refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("\(path("link.sig")) already exists; give --force to overwrite it"), refused.stderrText)
        let r = try modelsec(["sign", path("model"), "--key", path("k.pem"), "--output", path("link.sig"), "--force"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertEqual(try String(contentsOfFile: path("precious.txt"), encoding: .utf8), "not a signature\n", "the link's target is untouched")
        let attributes = try FileManager.default.attributesOfItem(atPath: path("link.sig"))
        XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeRegular, "the link itself is replaced by the signature")
        XCTAssertEqual(try modelsec(["verify", path("model"), "--signature", path("link.sig"), "--public-key", path("k.pem.pub")]).status, 0)
    }

    func testASignatureReadThroughASymlinkIsFollowedAndADanglingOneNamed() throws {
        // Kubernetes mounts ConfigMaps and Secrets as links into a `..data` folder.
        try makeFixtures()
        try FileManager.default.createDirectory(atPath: path("mount/..2026_11_29"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path("model.sig"), toPath: path("mount/..2026_11_29/model.sig"))
        try FileManager.default.createSymbolicLink(atPath: path("mount/..data"), withDestinationPath: "..2026_11_29")
        try FileManager.default.createSymbolicLink(atPath: path("mount/model.sig"), withDestinationPath: "..data/model.sig")
        var r = try modelsec(["verify", path("model"), "--signature", path("mount/model.sig"), "--public-key", path("k.pem.pub")])
        XCTAssertEqual(r.status, 0, r.stderrText)

        try FileManager.default.createSymbolicLink(atPath: path("dangling.sig"), withDestinationPath: "gone.sig")
        r = try modelsec(["verify", path("model"), "--signature", path("dangling.sig"), "--public-key", path("k.pem.pub")])
        assertRefused(r, naming: "dangling.sig", saying: ["no such file"])

        // A link to a tampered signature is judged on what it points to.
        var text = try String(contentsOfFile: path("model.sig"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"sig\":\"", with: "\"sig\":\"AAAA")
        try write("bad.sig", text)
        try FileManager.default.createSymbolicLink(atPath: path("bad-link.sig"), withDestinationPath: "bad.sig")
        r = try modelsec(["verify", path("model"), "--signature", path("bad-link.sig"), "--public-key", path("k.pem.pub")])
        XCTAssertNotEqual(r.status, 0, "a tampered signature behind a link is not accepted")
    }

    // MARK: - A model that changes while it is being signed

    /// A sparse file large enough that hashing it takes a few seconds.
    func makeLargeSparseFile(_ name: String, bytes: Int64) throws {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: UInt64(bytes))
        try handle.close()
    }

    /// Runs `sign` while `change` is applied every 20 ms until it exits.
    func signWhileChanging(_ change: (Int) throws -> Void) throws -> (status: Int32, stderr: String) {
        try runWhileChanging(["sign", path("model"), "--key", path("k.pem"), "--output", path("changing.sig")], change)
    }

    /// Runs modelsec with `arguments` and, from the moment it has
    /// `model/big.bin` open (its walk is done: the listing is taken and the
    /// reading has started; seen in /proc/PID/fd), applies `change` every
    /// 20 ms from round 0 until it exits (killed, and the test failed, after
    /// 300 s). Gated on that event, not on a round count, so a loaded
    /// machine cannot make the changes start after the reading is over or
    /// before the listing. Its stderr goes to a file, so a full pipe can
    /// never stop it.
    func runWhileChanging(_ arguments: [String], _ change: (Int) throws -> Void) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = TestSupport.modelsecBinary
        process.arguments = arguments
        let errorsPath = path("changing-\(UUID().uuidString).stderr")
        XCTAssertTrue(FileManager.default.createFile(atPath: errorsPath, contents: nil))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
        defer { try? errors.close() }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        let fds = "/proc/\(process.processIdentifier)/fd"
        func readingBig() -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: fds)) ?? []).contains {
                ((try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/" + $0)) ?? "").hasSuffix("/model/big.bin")
            }
        }
        var opened = false
        while !opened, process.isRunning, Date() < deadline {
            opened = readingBig()
            if !opened { usleep(1_000) }
        }
        XCTAssertTrue(opened, "modelsec \(arguments.joined(separator: " ")) was never seen reading model/big.bin")
        var round = 0
        while opened, process.isRunning, Date() < deadline {
            try change(round)
            round += 1
            usleep(20_000)
        }
        let hung = process.isRunning
        if hung { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? ""
        XCTAssertFalse(hung, "modelsec \(arguments.joined(separator: " ")) still ran after 300 s of changes")
        // Reading had started when the first change was made (seen open above), so one is enough:
        // a refusal at the first change is the fastest right answer.
        XCTAssertGreaterThan(round, 0, "the change ran while signing was under way")
        return (process.terminationStatus, stderr)
    }

    func testAFileWrittenWhileTheModelIsBeingSignedIsRefused() throws {
        try makeFixtures()
        try makeLargeSparseFile("model/big.bin", bytes: 3 << 30)
        let big = try FileHandle(forWritingTo: dir.appendingPathComponent("model/big.bin"))
        defer { try? big.close() }
        let result = try signWhileChanging { round in
            // Overwrite bytes in place: the size never changes, only the content.
            try big.seek(toOffset: UInt64(round % 1000) * 4096 + 1_000_000)
            try big.write(contentsOf: Data([UInt8(truncatingIfNeeded: round + 1)]))
        }
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("big.bin"), result.stderr)
        XCTAssertTrue(result.stderr.contains("changed while it was being read"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("changing.sig")), "no signature of a half-changed model")
    }

    func testAFileAddedWhileTheModelIsBeingSignedIsRefused() throws {
        try makeFixtures()
        try makeLargeSparseFile("model/big.bin", bytes: 3 << 30)
        let result = try signWhileChanging { round in
            try Data("late \(round)".utf8).write(to: self.dir.appendingPathComponent("model/weights/late-\(round).bin"))
        }
        // Files that appear after the walk are never opened: only the
        // directory check can notice them.
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("model/weights: files were added, removed or renamed"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("changing.sig")), "no signature of a half-changed model")
    }

    func testAFileRemovedWhileTheModelIsBeingSignedIsRefused() throws {
        try makeFixtures()
        try makeLargeSparseFile("model/big.bin", bytes: 3 << 30)
        for i in 0..<400 { try write("model/extra/e\(i).txt", "\(i)") }
        // A listed file removed before its turn cannot be opened; one removed
        // after it was hashed shows in its directory's stamp. Either way: refused.
        let result = try signWhileChanging { round in
            try? FileManager.default.removeItem(atPath: self.path("model/extra/e\(round).txt"))
        }
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("model/extra: files were added, removed or renamed")
                      || result.stderr.contains("cannot read: no such file"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("changing.sig")), "no signature of a half-changed model")
    }

    func testAFileWrittenWhileAReleaseIsBeingCreatedIsRefused() throws {
        try makeFixtures()
        try makeLargeSparseFile("model/big.bin", bytes: 2 << 30)
        let big = try FileHandle(forWritingTo: dir.appendingPathComponent("model/big.bin"))
        defer { try? big.close() }
        let result = try runWhileChanging(["release", "create", path("model"), "--name", "m", "--version", "1.0.0",
                                           "--signing-key", path("k.pem"), "--key-file", path("s.key"), "--output", path("rel")]) { round in
            try big.seek(toOffset: UInt64(round % 1000) * 4096 + 1_000_000)
            try big.write(contentsOf: Data([UInt8(truncatingIfNeeded: round + 1)]))
        }
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("big.bin: changed while it was being read"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("rel")), "no release of a half-changed model")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("modelsec-tmp") }, [])
    }

    // MARK: - Secret key files that others can read

    func testExposedKeyFilesWarnByDefaultAndAreRefusedWhenStrict() throws {
        try makeFixtures()
        XCTAssertEqual(try modelsec(["keygen", "--type", "x25519", "--out", path("r.pem")]).status, 0)
        chmod(path("k.pem"), 0o644)
        chmod(path("s.key"), 0o640)

        var r = try modelsec(["sign", path("model"), "--key", path("k.pem"), "--output", path("a.sig")])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("warning: \(path("k.pem")): private key is accessible by others (mode 644)"), r.stderrText)

        let strictCases: [(String, [String])] = [
            ("k.pem", ["sign", path("model"), "--key", path("k.pem"), "--output", path("b.sig"), "--strict-permissions"]),
            ("k.pem", ["token", "issue", "--key", path("k.pem"), "--issuer", "i", "--audience", "a", "--subject", "s",
                       "--scope", "model:pull:m@1", "--strict-permissions"]),
            ("s.key", ["encrypt", path("model/config.json"), "--key-file", path("s.key"), "--output", path("b.enc"), "--strict-permissions"]),
            ("s.key", ["decrypt", path("c.enc"), "--key-file", path("s.key"), "--output", path("b.out"), "--strict-permissions"]),
            ("k.pem", ["release", "create", path("model"), "--name", "m", "--version", "1.0.0", "--signing-key", path("k.pem"),
                       "--recipient", path("r.pem.pub"), "--output", path("b-rel"), "--strict-permissions"]),
        ]
        for (file, arguments) in strictCases {
            r = try modelsec(arguments)
            assertRefused(r, naming: path(file), saying: ["refusing", "accessible by others", "chmod 600"])
            XCTAssertTrue(r.stdoutText.isEmpty, "nothing is produced: \(r.stdoutText)")
        }
        for name in ["b.sig", "b.enc", "b.out", "b-rel"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path(name)), "\(name) must not be created")
        }

        // The environment variable turns strict mode on for a whole pipeline.
        r = try modelsec(["sign", path("model"), "--key", path("k.pem"), "--output", path("c.sig")],
                         environment: ["MODELSEC_STRICT_PERMISSIONS": "1"])
        assertRefused(r, naming: path("k.pem"), saying: ["refusing"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("c.sig")))

        // Private permissions pass in strict mode.
        chmod(path("k.pem"), 0o600)
        r = try modelsec(["sign", path("model"), "--key", path("k.pem"), "--output", path("d.sig"), "--strict-permissions"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertFalse(r.stderrText.contains("warning"), r.stderrText)
    }
}

/// Permission bits of a file, to restore after a test changes them.
enum FileIOMode {
    static func of(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o644
    }
}
