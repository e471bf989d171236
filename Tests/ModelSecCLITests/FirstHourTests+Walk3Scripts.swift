import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: third walkthrough: scripts, examples and docs in a checkout

    /// Item 12: `scripts/store-cluster.sh start DIR` works with a relative
    /// DIR; a start that fails removes what it made; `stop` removes a DIR
    /// that an older failed start left (and nothing that is not its own).
    func testStoreClusterScriptTakesARelativeDirectoryAndCleansUp() throws {
        guard FileManager.default.fileExists(atPath: "/usr/lib/postgresql") else {
            XCTFail("PostgreSQL is not installed (scripts/install-deps.sh installs it)"); return
        }
        let script = TestSupport.repositoryRoot.appendingPathComponent("scripts/store-cluster.sh").path
        // The server `start` leaves running must not inherit this process's
        // descriptors (Foundation's exit watch, the output pipes): the
        // wrapper closes every descriptor above 2 and sends the script's
        // output to files, as PostgresCluster.spawn does.
        func cluster(_ arguments: [String]) throws -> TestSupport.ProcessResult {
            let wrapper = """
            for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done
            exec "$0" "$@" >"$OUT" 2>"$ERR" </dev/null
            """
            let out = path("cluster.out"), err = path("cluster.err")
            let r = try TestSupport.run("/bin/bash", ["-c", wrapper, script] + arguments, environment: ["OUT": out, "ERR": err],
                                        currentDirectory: dir, timeout: 180)
            return TestSupport.ProcessResult(status: r.status, stdout: FileManager.default.contents(atPath: out) ?? Data(),
                                             stderr: FileManager.default.contents(atPath: err) ?? Data())
        }
        chmod(dir.path, 0o755)   // the server may run as `postgres`
        let started = try cluster(["start", "pgrel"])
        XCTAssertEqual(started.status, 0, started.stdoutText + started.stderrText)
        XCTAssertTrue(started.stdoutText.contains("export PGPASSFILE=\(path("pgrel"))/pgpass"), started.stdoutText)
        let stopped = try cluster(["stop", "pgrel"])
        XCTAssertEqual(stopped.status, 0, stopped.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("pgrel")))

        // A start that fails (no server listens on port 70000) leaves nothing behind.
        let failed = try cluster(["start", "pgbad", "70000"])
        XCTAssertNotEqual(failed.status, 0, failed.stdoutText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("pgbad")), failed.stderrText)
        // What an older version's failed start left: stop removes it.
        try FileManager.default.createDirectory(atPath: path("pgold"), withIntermediateDirectories: true)
        try "pw\n".write(toFile: path("pgold/pw"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try cluster(["stop", "pgold"]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("pgold")))
        // A directory with anything else in it is not the script's to remove.
        try FileManager.default.createDirectory(atPath: path("mine"), withIntermediateDirectories: true)
        try "keep\n".write(toFile: path("mine/notes.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try cluster(["stop", "mine"]).status, 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("mine/notes.txt")))
    }

    /// The `sh` steps of examples/Jenkinsfile in order, and its
    /// `environment` block (with `${env.BUILD_NUMBER}` filled in).
    static func jenkinsPipeline(buildNumber: Int) throws -> (environment: [String: String], steps: [String]) {
        let text = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("examples/Jenkinsfile"), encoding: .utf8)
        var environment: [String: String] = [:]
        let block = try XCTUnwrap(text.range(of: "environment {")).upperBound
        for line in text[block...].split(separator: "\n") {
            if line.trimmingCharacters(in: .whitespaces) == "}" { break }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let quote = parts[1].first, quote == "'" || quote == "\"" else { continue }
            environment[parts[0]] = String(parts[1].dropFirst().dropLast()).replacingOccurrences(of: "${env.BUILD_NUMBER}", with: "\(buildNumber)")
        }
        var steps: [String] = []
        var rest = text[...]
        while let sh = rest.range(of: "sh '") {
            if rest[sh.upperBound...].hasPrefix("''") {
                let body = rest.index(sh.upperBound, offsetBy: 2)
                let close = try XCTUnwrap(rest.range(of: "'''", range: body..<rest.endIndex))
                steps.append(String(rest[body..<close.lowerBound]))
                rest = rest[close.upperBound...]
            } else {
                let close = try XCTUnwrap(rest.range(of: "'", range: sh.upperBound..<rest.endIndex))
                steps.append(String(rest[sh.upperBound..<close.lowerBound]))
                rest = rest[close.upperBound...]
            }
        }
        return (environment, steps)
    }

    /// Item 13: examples/Jenkinsfile's steps, run as Jenkins runs them
    /// (`sh -xe`, the credentials as files, the workspace kept), succeed on
    /// a second build in the same workspace too.
    func testJenkinsfileWorksOnASecondBuildInTheSameWorkspace() throws {
        let workspace = dir.appendingPathComponent("workspace")
        let secrets = dir.appendingPathComponent("secrets")
        for folder in [workspace, secrets, workspace.appendingPathComponent("trusted"), dir.appendingPathComponent("tmp")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        // The checkout: the examples, trusted/ and jwks.json.
        try FileManager.default.createSymbolicLink(at: workspace.appendingPathComponent("examples"),
                                                   withDestinationURL: TestSupport.repositoryRoot.appendingPathComponent("examples"))
        try run(["keygen", "--type", "ed25519", "--out", secrets.appendingPathComponent("signing.pem").path])
        try run(["keygen", "--type", "x25519", "--out", secrets.appendingPathComponent("deploy.pem").path])
        try run(["keygen", "--type", "ed25519", "--out", secrets.appendingPathComponent("issuer.pem").path])
        try FileManager.default.copyItem(at: secrets.appendingPathComponent("signing.pem.pub"),
                                         to: workspace.appendingPathComponent("trusted/release-signing.pub"))
        try run(["token", "jwks", "--public-key", secrets.appendingPathComponent("issuer.pem.pub").path,
                 "--out", workspace.appendingPathComponent("jwks.json").path])
        let binary = TestSupport.modelsecBinary
        for build in 1...2 {
            let (environment, steps) = try Self.jenkinsPipeline(buildNumber: build)
            XCTAssertEqual(environment["RELEASE_VERSION"], "1.0.\(build)")
            XCTAssertGreaterThanOrEqual(steps.count, 2)
            var env = environment
            env["PATH"] = binary.deletingLastPathComponent().path + ":/usr/local/bin:/usr/bin:/bin"
            env["MODELSEC"] = binary.path
            env["BUILD_NUMBER"] = "\(build)"
            env["BUILD_TAG"] = "jenkins-modelsec-\(build)"
            env["WORKSPACE"] = workspace.path
            env["WORKSPACE_TMP"] = dir.appendingPathComponent("tmp").path
            env["SIGNING_KEY"] = secrets.appendingPathComponent("signing.pem").path
            env["RECIPIENT"] = secrets.appendingPathComponent("deploy.pem.pub").path
            env["TOKEN_ISSUER_KEY"] = secrets.appendingPathComponent("issuer.pem").path
            env["DEPLOY_IDENTITY"] = secrets.appendingPathComponent("deploy.pem").path
            for step in steps {
                let r = try TestSupport.run("/bin/sh", ["-xe", "-c", step], environment: env, currentDirectory: workspace)
                XCTAssertEqual(r.status, 0, "build \(build), step \(step):\n\(r.stdoutText)\n\(r.stderrText)")
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: workspace.appendingPathComponent("model-out/model.safetensors").path), "build \(build)")
            let inspected = try run(["release", "inspect", workspace.appendingPathComponent("release").path, "--json"])
            XCTAssertTrue(inspected.stdoutText.contains("\"1.0.\(build)\""), "build \(build) released its own version: \(inspected.stdoutText)")
        }
    }

    /// Item 15: docs/access-tokens.md's commands, run from the checkout as
    /// written, leave no bearer token in it.
    func testAccessTokensDocLeavesNoTokenInTheCheckout() throws {
        let sandbox = try DocsCommandTests.Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.base) }
        let key = sandbox.repo.appendingPathComponent("issuer.pem").path
        try run(["keygen", "--type", "ed25519", "--out", key])
        let text = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("docs/access-tokens.md"), encoding: .utf8)
        let block = try XCTUnwrap(DocsBlock.extract(from: text, file: "docs/access-tokens.md").first)
        XCTAssertTrue(block.lines.joined().contains("token issue"))
        let r = try sandbox.bash(DocsCommandTests.script(for: block) + "echo docs-test: done\n")
        XCTAssertTrue(r.stdoutText.contains("docs-test: done"), r.stdoutText)
        for file in sandbox.files() {
            let url = sandbox.repo.appendingPathComponent(file)
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                  let content = try? String(contentsOf: url, encoding: .utf8) else { continue }
            XCTAssertFalse(content.hasPrefix("eyJ") && content.split(separator: ".").count == 3, "a token was left in the checkout: \(file)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: sandbox.tmp.path), [], "the scratch folder was not removed")
    }
}

extension DocsCommandTests.Sandbox {
    /// The paths made at the top of the checkout copy since `before` that the
    /// repository's .gitignore does not ignore (what `git add -A` would add).
    func unignoredNewPaths(since before: Set<String>) throws -> [String] {
        let fresh = Set(files().map { String($0.split(separator: "/").first ?? "") }).subtracting(before.map { String($0.split(separator: "/").first ?? "") })
        guard !fresh.isEmpty else { return [] }
        let probe = base.appendingPathComponent("ignore-probe")
        try? FileManager.default.removeItem(at: probe)
        try FileManager.default.createDirectory(at: probe, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestSupport.repositoryRoot.appendingPathComponent(".gitignore"), to: probe.appendingPathComponent(".gitignore"))
        _ = try TestSupport.run("/usr/bin/git", ["init", "-q", probe.path])
        var unignored: [String] = []
        for name in fresh.sorted() {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: repo.appendingPathComponent(name).path, isDirectory: &isDirectory)
            let r = try TestSupport.run("/usr/bin/git", ["-C", probe.path, "check-ignore", "-q", "--no-index", isDirectory.boolValue ? name + "/" : name])
            if r.status != 0 { unignored.append(name) }
        }
        return unignored
    }
}
