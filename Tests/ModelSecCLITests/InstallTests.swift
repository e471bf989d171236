import Foundation
import TestSupport
import XCTest

/// `make install`: one self-contained binary, a man page and completions.
/// `make test` installs into a temporary prefix first (scripts/install.sh with
/// CONFIG=debug) and names it in MODELSEC_INSTALLED_PREFIX.
final class InstallTests: XCTestCase {
    func testInstalledBinaryRunsInACleanEnvironmentWithManPageAndCompletions() throws {
        guard let prefix = ProcessInfo.processInfo.environment["MODELSEC_INSTALLED_PREFIX"] else {
            throw XCTSkip("run through `make test`, which installs into a temporary prefix first (MODELSEC_INSTALLED_PREFIX is not set)")
        }
        let binary = prefix + "/bin/modelsec"
        for file in ["bin/modelsec", "share/man/man1/modelsec.1", "share/bash-completion/completions/modelsec",
                     "share/zsh/site-functions/_modelsec", "share/fish/vendor_completions.d/modelsec.fish"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: prefix + "/" + file), file)
        }
        // No Swift toolchain on the path, no inherited environment: the Swift
        // runtime and Foundation are inside the binary.
        let clean = ["PATH": "/usr/bin:/bin"]
        let version = try run(binary, ["--version"], environment: clean)
        XCTAssertEqual(version.status, 0, version.stderrText)
        XCTAssertTrue(version.stdoutText.hasPrefix("modelsec "), version.stdoutText)
        XCTAssertTrue(version.stdoutText.contains("(commit "), version.stdoutText)
        // `make test-install STATIC=0` (CI) installs the normal debug build, whose runtime is the toolchain's.
        if ProcessInfo.processInfo.environment["MODELSEC_INSTALLED_STATIC"] != "0" {
            let ldd = try TestSupport.run("ldd", [binary])
            XCTAssertFalse(ldd.stdoutText.contains("libswiftCore") || ldd.stdoutText.contains("libFoundation"), ldd.stdoutText)
        }
        let dir = try TestSupport.makeTemporaryDirectory("installed")
        let key = dir.appendingPathComponent("k.pem").path
        XCTAssertEqual(try run(binary, ["keygen", "--type", "ed25519", "--out", key], environment: clean).status, 0)
        let man = try String(contentsOfFile: prefix + "/share/man/man1/modelsec.1", encoding: .utf8)
        XCTAssertTrue(man.contains(".Nm modelsec") && man.contains("release"), "man page documents the commands")
        let bash = try String(contentsOfFile: prefix + "/share/bash-completion/completions/modelsec", encoding: .utf8)
        XCTAssertTrue(bash.contains("keygen") && bash.contains("release"), "bash completion knows the subcommands")
    }

    /// Runs the installed binary with exactly `environment` (`env -i`: nothing inherited).
    private func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> TestSupport.ProcessResult {
        try TestSupport.run("/usr/bin/env", ["-i"] + environment.map { "\($0.key)=\($0.value)" } + [executable] + arguments)
    }
}
