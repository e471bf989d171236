import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: left from the third walkthrough

    /// `token issue --output FILE` writes the bearer token 0600, atomically,
    /// and prints nothing of it; an existing file needs --force; `--json`
    /// then names the file instead of carrying the token. (The README tour
    /// redirected stdout into `token`, which the umask left world-readable.)
    func testTokenIssueOutputWritesTheTokenPrivately() throws {
        try run(["keygen", "--type", "ed25519", "--out", "issuer.pem"])
        let issue = ["token", "issue", "--key", "issuer.pem", "--issuer", "https://registry.example", "--audience", "gate",
                     "--subject", "ci", "--scope", "model:deploy:resnet@2.1.0", "--ttl", "15m"]
        let written = try run(issue + ["--output", "token"])
        XCTAssertEqual(written.stdoutText, "", "the token is not printed")
        let attributes = try FileManager.default.attributesOfItem(atPath: path("token"))
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let verified = try TestSupport.modelsec(["token", "verify", "-", "--public-key", "issuer.pem.pub", "--issuer",
                                                 "https://registry.example", "--audience", "gate", "--require-scope",
                                                 "model:deploy:resnet@2.1.0"],
                                                stdin: try Data(contentsOf: URL(fileURLWithPath: path("token"))), currentDirectory: dir)
        XCTAssertEqual(verified.status, 0, verified.stderrText)

        let before = try Data(contentsOf: URL(fileURLWithPath: path("token")))
        let refused = try run(issue + ["--output", "token", "--json"], expect: 2)
        XCTAssertEqual(errorCode(refused), "output.exists")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("token"))), before, "the refused run left the file alone")

        let forced = try run(issue + ["--output", "token", "--force", "--json"])
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: forced.stdout) as? [String: Any])
        XCTAssertEqual(document["output"] as? String, "token")
        XCTAssertNil(document["token"], "with --output the JSON does not carry the token")
        XCTAssertEqual((document["claims"] as? [String: Any])?["sub"] as? String, "ci")
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: path("token"))), before)
        // `--output -` is stdout, as without --output.
        let dash = try run(issue + ["--output", "-"])
        XCTAssertEqual(dash.stdoutText.split(separator: ".").count, 3, dash.stdoutText)
    }

    /// `--output /dev/null --force` (as root in CI) replaced the device with a
    /// regular file. A character device or a FIFO is now written through by
    /// every writer, needs no --force, and stays what it was; a secret is
    /// never written to one.
    func testDevicesAndPipesAreWrittenThroughNeverReplaced() throws {
        try FileManager.default.createDirectory(atPath: path("m"), withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: URL(fileURLWithPath: path("m/w.bin")))
        try run(["keygen", "--type", "ed25519", "--out", "k.pem"])
        var streams = ["fifo"]
        XCTAssertEqual(mkfifo(path("fifo"), 0o644), 0)
        if geteuid() == 0 {
            // A private copy of /dev/null (never the real one: if this broke, it would be replaced).
            XCTAssertEqual(mknod(path("null"), S_IFCHR | 0o666, (1 << 8) | 3), 0)  // makedev(1, 3)
            streams.append("null")
        } else {
            print("not root: the character-device case is covered only by the FIFO here")
        }
        func type(_ name: String) -> String {
            var st = stat()
            guard lstat(path(name), &st) == 0 else { return "missing" }
            switch st.st_mode & S_IFMT {
            case S_IFIFO: return "fifo"
            case S_IFCHR: return "char"
            case S_IFREG: return "file"
            default: return "other"
            }
        }
        let expected = ["fifo": "fifo", "null": "char"]
        let commands: [[String]] = [
            ["sign", "m", "--key", "k.pem", "--output"],
            ["sign", "m", "--key", "k.pem", "--force", "--output"],
            ["token", "jwks", "--public-key", "k.pem.pub", "--force", "--out"],
        ]
        for stream in streams {
            for command in commands {
                // A reader drains the FIFO, as a pipeline's consumer would.
                var reader: (process: Process, pipe: Pipe)?
                if stream == "fifo" {
                    let process = Process()
                    let pipe = Pipe()
                    process.executableURL = URL(fileURLWithPath: "/bin/cat")
                    process.arguments = [path("fifo")]
                    process.standardOutput = pipe
                    try process.run()
                    reader = (process, pipe)
                }
                try run(command + [stream])
                if let reader {
                    let drained = String(decoding: reader.pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    reader.process.waitUntilExit()
                    XCTAssertTrue(drained.hasPrefix("{"), "the FIFO's reader got the document: \(drained.prefix(80))")
                }
                XCTAssertEqual(type(stream), expected[stream], "\(command.joined(separator: " ")) \(stream) left it a \(type(stream))")
            }
            let secret = try run(["keygen", "--type", "ed25519", "--force", "--out", stream, "--json"], expect: 2)
            XCTAssertTrue(secret.stdoutText.contains("a secret is written only to a file of its own"), secret.stdoutText)
            XCTAssertEqual(type(stream), expected[stream])
            XCTAssertEqual(type(stream + ".pub"), "missing", "nothing written beside it")
        }
    }

    /// Did-you-mean for an option named in other words: `--keyfile` is
    /// `--key` (not `--key-passphrase-file`, which would take the key for a
    /// passphrase), `--signing-key` in `sign` is `--key`, `--identity-file`
    /// is `--identity`; and no `Help:` line about another option follows.
    func testDidYouMeanFindsTheSameOptionInOtherWords() throws {
        let cases: [([String], String)] = [
            (["sign", "m", "--keyfile", "k.pem"], "--key"),
            (["sign", "m", "--signing-key", "k.pem"], "--key"),
            (["token", "issue", "--keyfile", "k.pem"], "--key"),
            (["log", "init", "d", "--key-file", "k.pem"], "--key"),
            (["decrypt", "x.enc", "-o", "x", "--identity-file", "d.pem"], "--identity"),
            (["decrypt", "x.enc", "-o", "x", "--private-key", "d.pem"], "--identity"),
            (["encrypt", "x", "-o", "x.enc", "--recipient-file", "r.pub"], "--recipient"),
            (["keygen", "--output-file", "k.pem"], "--output"),
            (["release", "verify", "rel", "--jwks", "j.json"], "--token-jwks"),
        ]
        for (arguments, expected) in cases {
            let r = try run(arguments, expect: 2)
            XCTAssertTrue(r.stderrText.contains("did you mean '\(expected)'?"), "\(arguments): \(r.stderrText)")
        }
        // token verify takes release verify's spellings too, and an unknown
        // option's message is not followed by ArgumentParser's hint for another one.
        try run(["keygen", "--type", "ed25519", "--out", "issuer.pem"])
        try run(["token", "issue", "--key", "issuer.pem", "--issuer", "https://r.example", "--audience", "gate", "--subject", "ci",
                 "--scope", "model:deploy:m@1", "--output", "token"])
        try run(["token", "jwks", "--public-key", "issuer.pem.pub", "--out", "jwks.json"])
        try run(["token", "verify", "--token-file", "token", "--token-jwks", "jwks.json", "--token-issuer", "https://r.example",
                 "--audience", "gate"])
        let typo = try run(["token", "verify", "--token-file", "token", "--token-jwks", "jwks.json", "--token-issuer",
                            "https://r.example", "--audience", "gate", "--tokn-env", "T"], expect: 2)
        XCTAssertTrue(typo.stderrText.contains("did you mean '--token-env'?"), typo.stderrText)
        XCTAssertFalse(typo.stderrText.contains("Help:"), typo.stderrText)
        let missing = try run(["token", "verify", "--token-file", "token", "--jwks", "jwks.json", "--audience", "gate",
                               "--tokn-issuer", "x"], expect: 2)
        XCTAssertFalse(missing.stderrText.contains("Help:  --issuer"), missing.stderrText)
    }

    /// A negative number after a DP option is its value (`--bounds -10,10`),
    /// not an unknown option: it used to be "Missing value for '--bounds'",
    /// and `--epsilon -1` hid its range message the same way.
    func testNegativeNumbersAreOptionValues() throws {
        try "id,t\n1,-3.5\n2,4\n3,-9\n".write(toFile: path("t.csv"), atomically: true, encoding: .utf8)
        let base = ["dp", "release", "--input", "t.csv", "--column", "t", "--statistic", "mean", "--json"]
        let mean = try run(base + ["--bounds", "-10,10", "--epsilon", "1"])
        XCTAssertTrue(mean.stdoutText.contains("\"ok\":true") || mean.stdoutText.contains("\"ok\" : true"), mean.stdoutText)
        let negative = try run(base + ["--bounds", "-10,10", "--epsilon", "-1"], expect: 2)
        XCTAssertFalse(negative.stdoutText.contains("Missing value"), negative.stdoutText)
        XCTAssertTrue(negative.stdoutText.contains("epsilon"), negative.stdoutText)
        let sgd = try run(["dp", "sgd", "--noise-multiplier", "-1", "--sample-rate", "0.01", "--steps", "10", "--delta", "1e-5",
                           "--json"], expect: 2)
        XCTAssertFalse(sgd.stdoutText.contains("Missing value"), sgd.stdoutText)
    }

    /// Messages name the fix: every signing key type, the option for an
    /// aes256 key, and --group-by when histogram categories are unknown.
    func testMessagesNameEveryWayOut() throws {
        try run(["keygen", "--type", "x25519", "--out", "dep.pem"])
        try run(["keygen", "--type", "aes256", "--out", "art.key"])
        try FileManager.default.createDirectory(atPath: path("m"), withIntermediateDirectories: true)
        try Data("w".utf8).write(to: URL(fileURLWithPath: path("m/w.bin")))
        let sign = try run(["sign", "m", "--key", "dep.pem"], expect: 2)
        XCTAssertTrue(sign.stderrText.contains("ed25519, p256, p384 or p521"), sign.stderrText)
        // An exposed aes256 key is called what it is, not a private key.
        chmod(path("art.key"), 0o644)
        let exposed = try run(["encrypt", "m/w.bin", "--output", "w.enc", "--key-file", "art.key"])
        XCTAssertTrue(exposed.stderrText.contains("art.key: aes256 key is accessible by others"), exposed.stderrText)
        let identity = try run(["decrypt", "x.enc", "--output", "x", "--identity", "art.key"], expect: 2)
        XCTAssertTrue(identity.stderrText.contains("--key-file"), identity.stderrText)
        try "id,ward\n1,a\n2,b\n".write(toFile: path("v.csv"), atomically: true, encoding: .utf8)
        let histogram = try run(["dp", "release", "--input", "v.csv", "--column", "ward", "--statistic", "histogram",
                                 "--epsilon", "1"], expect: 2)
        XCTAssertTrue(histogram.stderrText.contains("--group-by"), histogram.stderrText)
    }

    /// `store status` on a mistyped SQLite path says the file is missing
    /// (exit 2) instead of calling it an empty store.
    func testStoreStatusNamesAMissingFile() throws {
        let r = try run(["store", "status", "--store", "sqlite:privcy.db", "--json"], expect: 2)
        XCTAssertTrue(r.stdoutText.contains("no such store file"), r.stdoutText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("privcy.db")), "status creates nothing")
    }

    /// A release is logged once: appending it again (or twice in one call)
    /// returns its index and adds no leaf. `log monitor` flags one
    /// name@version logged with two different statements (a swapped
    /// release): exit 1, and the checkpoint is not saved.
    func testALogHoldsAReleaseOnceAndTheMonitorFlagsASwappedOne() throws {
        try makeRelease()
        try run(["keygen", "--type", "ed25519", "--out", path("log.pem")])
        let vkey = try run(["log", "init", "--origin", "example.com/models", "--key", path("log.pem"), path("models-log")]).stdoutText
        try vkey.write(toFile: path("log.vkey"), atomically: true, encoding: .utf8)
        func append(_ releases: [String]) throws -> [String: Any] {
            let r = try run(["log", "append", path("models-log"), "--key", path("log.pem"), "--json"]
                            + releases.flatMap { ["--release", path($0)] })
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        }
        let first = try append(["rel"])
        XCTAssertEqual(first["indices"] as? [Int], [0])
        XCTAssertEqual(first["added"] as? Int, 1)
        let again = try append(["rel", "rel"])
        XCTAssertEqual(again["indices"] as? [Int], [0, 0])
        XCTAssertEqual(again["added"] as? Int, 0)
        XCTAssertEqual(again["treeSize"] as? Int, 1, "no leaf added")
        let text = try run(["log", "append", path("models-log"), "--key", path("log.pem"), "--release", path("rel")])
        XCTAssertTrue(text.stdoutText.contains("already logged clf@1.0.0 at index 0"), text.stdoutText)

        // The same name@version again, with other content: another statement.
        try Data("other".utf8).write(to: URL(fileURLWithPath: path("model/extra.txt")))
        try run(["release", "create", path("model"), "--name", "clf", "--version", "1.0.0", "--signing-key", path("release.pem"),
                 "--recipient", path("deploy.pem.pub"), "--output", path("swapped")])
        let swapped = try append(["swapped"])
        XCTAssertEqual(swapped["indices"] as? [Int], [1])
        let keyID = try XCTUnwrap(((try JSONSerialization.jsonObject(with: try run(["key", "inspect", path("release.pem.pub"), "--json"]).stdout)
            as? [String: Any])?["keyId"] as? String))
        let monitor = try run(["log", "monitor", path("models-log"), "--log-key", path("log.vkey"), "--key-id", keyID,
                               "--save-checkpoint", path("seen.checkpoint"), "--json"], expect: 1)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: monitor.stdout) as? [String: Any])
        XCTAssertEqual((document["error"] as? [String: Any])?["code"] as? String, "log.release-conflict", monitor.stdoutText)
        let conflicts = try XCTUnwrap(document["conflicts"] as? [[String: Any]], monitor.stdoutText)
        XCTAssertEqual(conflicts.first?["release"] as? String, "clf@1.0.0")
        XCTAssertEqual(conflicts.first?["indices"] as? [Int], [0, 1])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("seen.checkpoint")), "a conflict saves no checkpoint")
    }

    /// `token fetch` from a server that is down says so in words (not NIO's
    /// nested debug dump), and takes `-o` like every other writer.
    func testTokenFetchFromADownServerSaysConnectionRefused() throws {
        try "s3cret\n".write(toFile: path("ci.secret"), atomically: true, encoding: .utf8)
        chmod(path("ci.secret"), 0o600)
        // A port nothing listens on: bound and kept bound (never listening)
        // until the command has run, so no other process (the other test
        // shard's servers bind ephemeral ports too) can start listening on it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        XCTAssertGreaterThan(port, 0)
        let r = try run(["token", "fetch", "--server", "http://127.0.0.1:\(port)", "--client-id", "ci", "--client-secret-file",
                         "ci.secret", "--scope", "model:deploy:m@1", "-o", "t.txt", "--json"], expect: 2)
        XCTAssertTrue(r.stdoutText.contains("no answer: connection refused"), r.stdoutText)
        XCTAssertFalse(r.stdoutText.contains("SingleConnectionFailure"), r.stdoutText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("t.txt")))
    }

    /// Attacker review: the stream decision is made on what was opened, so a
    /// path naming the caller's own stream (`/proc/self/fd/1` redirected to
    /// a file) is written through, never renamed over; a FIFO nobody reads
    /// is refused after a bounded wait instead of hanging.
    func testTheCallersStreamIsWrittenThroughAndAnUnreadPipeIsRefused() throws {
        try FileManager.default.createDirectory(atPath: path("m"), withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: URL(fileURLWithPath: path("m/w.bin")))
        try run(["keygen", "--type", "ed25519", "--out", "k.pem"])
        let shell = try TestSupport.run("/bin/bash", ["-c", "\"$0\" sign m --key k.pem --output /proc/self/fd/1 --force > sig.json",
                                                      TestSupport.modelsecBinary.path], currentDirectory: dir)
        XCTAssertEqual(shell.status, 0, shell.stderrText)
        let written = try String(contentsOfFile: path("sig.json"), encoding: .utf8)
        // The signature (one JSON line) and the summary the command prints on stdout, neither over the other.
        let summary = try XCTUnwrap(written.range(of: "subject: "), written)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(written[..<summary.lowerBound].utf8)), written)
        XCTAssertTrue(written.contains("files: 1"), written)
        var st = stat()
        XCTAssertEqual(lstat(path("sig.json"), &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG, "the shell's redirect target got the signature")
        XCTAssertEqual(mkfifo(path("unread"), 0o644), 0)
        let started = Date()
        let r = try run(["sign", "m", "--key", "k.pem", "--output", "unread", "--json"], expect: 2)
        XCTAssertTrue(r.stdoutText.contains("is a pipe that nothing reads"), r.stdoutText)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    }

    /// Attacker review: a log directory appended to without the store is not
    /// forked by a later store append (which would sign a second tree of the
    /// same size): the store append is refused before anything is signed.
    func testAStoreAppendRefusesADirectoryAppendedWithoutTheStore() throws {
        try makeRelease()
        // Another release of clf@1.0.0 with other content: another entry.
        try FileManager.default.copyItem(atPath: path("model"), toPath: path("model2"))
        try Data("other".utf8).write(to: URL(fileURLWithPath: path("model2/extra.txt")))
        try makeRelease("rel2", model: "model2")
        try run(["keygen", "--type", "ed25519", "--out", "log.pem"])
        try run(["log", "init", "--origin", "example.com/models", "--key", "log.pem", "models-log"])
        try run(["store", "migrate", "--store", "sqlite:" + path("s.db")])
        try run(["log", "append", "models-log", "--key", "log.pem", "--release", "rel", "--store", "sqlite:" + path("s.db")])
        try run(["log", "append", "models-log", "--key", "log.pem", "--release", "rel2"])   // no store
        let checkpoint = try Data(contentsOf: URL(fileURLWithPath: path("models-log/checkpoint")))
        let refused = try run(["log", "append", "models-log", "--key", "log.pem", "--release", "rel2", "--store", "sqlite:" + path("s.db"),
                               "--json"], expect: 2)
        XCTAssertTrue(refused.stdoutText.contains("appended to without the store"), refused.stdoutText)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("models-log/checkpoint"))), checkpoint, "DIR untouched")
        let status = try run(["store", "status", "--store", "sqlite:" + path("s.db"), "--json"])
        XCTAssertTrue(status.stdoutText.contains("\"size\" : 1") || status.stdoutText.contains("\"size\":1"), "the store signed nothing new: \(status.stdoutText)")
    }
}
