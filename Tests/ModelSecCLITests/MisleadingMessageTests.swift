import Foundation
import TestSupport
import XCTest

/// Messages that used to send a user the wrong way (issue #15), each with
/// the code a script can match on.
final class MisleadingMessageTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory("cli-messages")
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", path("k.pem")]).status, 0)
        try Data("w".utf8).write(to: URL(fileURLWithPath: path("w.bin")))
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func errorCode(_ r: TestSupport.ProcessResult) -> String? {
        ((try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
    }

    /// A public key given where a private key belongs is named as such,
    /// before anything (a permission warning) is said about the file.
    func testPublicKeyGivenAsPrivateKeySaysSoFirst() throws {
        chmod(path("k.pem.pub"), 0o644)
        for arguments in [["sign", path("w.bin"), "--key", path("k.pem.pub"), "--output", path("w.sig")],
                          ["token", "issue", "--key", path("k.pem.pub"), "--issuer", "i", "--audience", "a", "--subject", "s",
                           "--scope", "model:pull:m@1"]] {
            let r = try TestSupport.modelsec(arguments + ["--json"])
            XCTAssertEqual(r.status, 2, r.stderrText)
            XCTAssertTrue(r.stderrText.hasPrefix("modelsec: error: \(path("k.pem.pub")): this is a public key"), r.stderrText)
            XCTAssertFalse(r.stderrText.contains("warning"), r.stderrText)
            XCTAssertTrue(r.stderrText.contains("not its .pub"), r.stderrText)
            XCTAssertEqual(errorCode(r), "usage.public-key-given")
        }
    }

    /// A mistyped option is reported as unknown, with the real name, even
    /// when the command's own checks would also fail without it.
    func testMistypedOptionIsUnknownWithSuggestion() throws {
        XCTAssertEqual(try TestSupport.modelsec(["sign", path("w.bin"), "--key", path("k.pem"), "--output", path("w.sig")]).status, 0)
        let r = try TestSupport.modelsec(["verify", path("w.bin"), "--signature", path("w.sig"), "--pubkey", path("k.pem.pub"), "--json"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("has no option '--pubkey'; did you mean '--public-key'?"), r.stderrText)
        XCTAssertFalse(r.stderrText.contains("not both"), r.stderrText)
        XCTAssertEqual(errorCode(r), "usage.unknown-option")
        let far = try TestSupport.modelsec(["verify", path("w.bin"), "--signature", path("w.sig"), "--public-key", path("k.pem.pub"), "--zzzzzz"])
        XCTAssertEqual(far.status, 2)
        XCTAssertTrue(far.stderrText.contains("has no option '--zzzzzz' (see modelsec verify --help)"), far.stderrText)
    }

    func testUnknownSubcommandGetsDidYouMean() throws {
        var r = try TestSupport.modelsec(["sgin", path("w.bin"), "--json"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("'sgin' is not a modelsec command; did you mean 'sign'?"), r.stderrText)
        XCTAssertEqual(errorCode(r), "usage.unknown-command")
        r = try TestSupport.modelsec(["token", "verfy", "x"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("did you mean 'verify'?"), r.stderrText)
        r = try TestSupport.modelsec(["release", "inpsect", "x"])
        XCTAssertTrue(r.stderrText.contains("did you mean 'inspect'?"), r.stderrText)
    }

    /// `verify --file` with a name that is neither in the model nor signed
    /// says so (exit 2), instead of calling it an "extra" file.
    func testVerifyFileThatIsNotInTheModel() throws {
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("a".utf8).write(to: model.appendingPathComponent("a.bin"))
        XCTAssertEqual(try TestSupport.modelsec(["sign", model.path, "--key", path("k.pem"), "--output", path("m.sig")]).status, 0)
        let base = ["verify", model.path, "--signature", path("m.sig"), "--public-key", path("k.pem.pub")]
        let r = try TestSupport.modelsec(base + ["--file", "nosuch.bin"])
        XCTAssertEqual(r.status, 2, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("nosuch.bin is not in the model"), r.stderrText)
        XCTAssertFalse((r.stdoutText + r.stderrText).contains("extra"), r.stdoutText + r.stderrText)
        // A file that is there but not signed is still a failed check.
        try Data("b".utf8).write(to: model.appendingPathComponent("b.bin"))
        XCTAssertEqual(try TestSupport.modelsec(base + ["--file", "b.bin"]).status, 1)
        XCTAssertEqual(try TestSupport.modelsec(base + ["--file", "a.bin"]).status, 0)
    }

    /// `token verify tok` (a file name) is told to use --token-file, which works.
    func testTokenArgumentThatIsAFileName() throws {
        let issue = try TestSupport.modelsec(["token", "issue", "--key", path("k.pem"), "--issuer", "i", "--audience", "a",
                                             "--subject", "s", "--scope", "model:pull:m@1"])
        XCTAssertEqual(issue.status, 0, issue.stderrText)
        try issue.stdout.write(to: URL(fileURLWithPath: path("tok")))
        let verify = ["token", "verify", "--public-key", path("k.pem.pub"), "--issuer", "i", "--audience", "a"]
        let r = try TestSupport.modelsec(verify + [path("tok")])
        XCTAssertEqual(r.status, 2, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("looks like a file name, not a token; give --token-file \(path("tok"))"), r.stderrText)
        XCTAssertEqual(try TestSupport.modelsec(verify + ["--token-file", path("tok")]).status, 0)
        // A malformed token that is no file is still a rejection.
        XCTAssertEqual(try TestSupport.modelsec(verify + ["abc"]).status, 1)
    }

    /// A library rejection never names a flag; the CLI adds the one that helps.
    func testTokenRejectionGetsTheFlagHint() throws {
        XCTAssertEqual(try TestSupport.modelsec(["keygen", "--type", "ed25519", "--out", path("other.pem")]).status, 0)
        let issue = try TestSupport.modelsec(["token", "issue", "--key", path("k.pem"), "--issuer", "i", "--audience", "a",
                                             "--subject", "s", "--scope", "model:pull:m@1"])
        try issue.stdout.write(to: URL(fileURLWithPath: path("tok")))
        let r = try TestSupport.modelsec(["token", "verify", "--token-file", path("tok"), "--public-key", path("other.pem.pub"),
                                         "--issuer", "i", "--audience", "a", "--json"])
        XCTAssertEqual(r.status, 1, r.stderrText)
        let error = (try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["error"] as? [String: Any]
        XCTAssertTrue((error?["message"] as? String ?? "").contains("--public-key"), "\(String(describing: error))")
        XCTAssertTrue(r.stderrText.contains("unknown key id") && r.stderrText.contains("--jwks"), r.stderrText)
    }

    /// The help of every command, rendered at 80 columns, shows each example
    /// line exactly as written: no command is wrapped in the middle (a
    /// continued command ends its line with a backslash).
    func testHelpExamplesAreWholeLinesAt80Columns() throws {
        let dump = try TestSupport.modelsec(["--experimental-dump-help"])
        let tool = try XCTUnwrap(try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any])
        var commands: [([String], String)] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            commands.append((path, command["discussion"] as? String ?? ""))
            for sub in command["subcommands"] as? [[String: Any]] ?? [] where (sub["commandName"] as? String) != "help" {
                walk(sub, path + [sub["commandName"] as? String ?? "?"])
            }
        }
        walk(try XCTUnwrap(tool["command"] as? [String: Any]), [])
        var checked = 0
        for (path, discussion) in commands {
            guard let examples = discussion.components(separatedBy: "Examples:\n").dropFirst().first else { continue }
            let lines = examples.split(separator: "\n", omittingEmptySubsequences: false).prefix { !$0.isEmpty }.map(String.init)
            let help = try TestSupport.modelsec(path + ["--help"], environment: ["COLUMNS": "80"])
            XCTAssertEqual(help.status, 0, help.stderrText)
            let shown = Set(help.stdoutText.split(separator: "\n").map(String.init))
            for (index, line) in lines.enumerated() {
                let name = "modelsec \(path.joined(separator: " "))"
                XCTAssertTrue(shown.contains(line), "\(name) --help at 80 columns wraps the example line: \(line)")
                let continued = index > 0 && lines[index - 1].hasSuffix("\\")
                XCTAssertTrue(continued || line.contains("modelsec "), "\(name): example line is not a command: \(line)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 40)
    }
}
