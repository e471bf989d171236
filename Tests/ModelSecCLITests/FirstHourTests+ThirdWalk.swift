import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: left from the second walkthrough

    /// `verify --file model/x` (a path through the model) and an absolute
    /// path inside the model are answered with the relative path to use.
    func testVerifyFileSuggestsThePathRelativeToTheModel() throws {
        try FileManager.default.createDirectory(atPath: path("model/w"), withIntermediateDirectories: true)
        try Data("a".utf8).write(to: URL(fileURLWithPath: path("model/w/a b.bin")))
        try run(["keygen", "--type", "ed25519", "--out", "k.pem"])
        try run(["sign", "model", "--key", "k.pem", "--output", "model.sig"])
        let common = ["verify", "model", "--signature", "model.sig", "--public-key", "k.pem.pub"]
        let through = try run(common + ["--file", "model/w/a b.bin"], expect: 2)
        XCTAssertTrue(through.stderrText.contains("--file 'w/a b.bin'"), through.stderrText)
        let absolute = try run(common + ["--file", path("model/w/a b.bin"), "--json"], expect: 2)
        XCTAssertTrue(absolute.stdoutText.contains("--file 'w/a b.bin'"), absolute.stdoutText)
        XCTAssertEqual(errorCode(absolute), "model.path-outside-model")
        // The suggested form works, and a path outside the model gets no suggestion.
        try run(common + ["--file", "w/a b.bin"])
        let outside = try run(common + ["--file", "../k.pem"], expect: 2)
        XCTAssertFalse(outside.stderrText.contains("--file takes"), outside.stderrText)
    }

    /// An option mistyped before the value of a group command's default
    /// subcommand (`serve --confg x.yaml`) is named, with the right option,
    /// instead of the value being taken for a command name.
    func testMistypedOptionOfADefaultSubcommandIsNamed() throws {
        let r = try run(["serve", "--confg", "service.yaml", "--json"], expect: 2)
        XCTAssertEqual(errorCode(r), "usage.unknown-option")
        XCTAssertTrue(r.stdoutText.contains("did you mean '--config'"), r.stdoutText)
        let command = try run(["serve", "clent", "add"], expect: 2)
        XCTAssertTrue(command.stderrText.contains("did you mean 'client'"), command.stderrText)
        // An option's value is not taken for a command name, wherever the mistyped option is.
        let after = try run(["serve", "--config", "s.yaml", "--strict-permisions", "--json"], expect: 2)
        XCTAssertEqual(errorCode(after), "usage.unknown-option")
        XCTAssertTrue(after.stdoutText.contains("did you mean '--strict-permissions'"), after.stdoutText)
        XCTAssertFalse(after.stdoutText.contains("s.yaml"), after.stdoutText)
    }

    /// `--token-audience` (the spelling of the other token options) points
    /// at `--audience` in both verify commands.
    func testTokenAudienceSuggestsAudience() throws {
        for command in [["release", "verify", "rel"], ["token", "verify", "t"]] {
            let r = try run(command + ["--token-audience", "deploy-gate", "--json"], expect: 2)
            XCTAssertTrue(r.stdoutText.contains("did you mean '--audience'"), r.stdoutText)
        }
    }

    /// `--version` names the commit the checkout is at (the build re-records
    /// it when git's HEAD moves, not only when Package.swift changes).
    func testVersionNamesTheCheckoutsCommit() throws {
        let head = try TestSupport.run("/usr/bin/git", ["-C", TestSupport.repositoryRoot.path, "rev-parse", "--short=12", "HEAD"])
        guard head.status == 0 else { throw XCTSkip("not a git checkout: \(head.stderrText)") }
        let commit = head.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let version = try run(["--version"])
        XCTAssertTrue(version.stdoutText.contains("(commit \(commit)"), "\(version.stdoutText) at HEAD \(commit)")
    }
}
