import Foundation
import TestSupport
import XCTest

/// Every command in README.md, docs/ (every .md, subfolders too) and
/// examples/README.md, run verbatim with the built `modelsec` (and the pinned
/// test Python as `python3`) on PATH, in order, in a scratch copy of the
/// folders the documents use (`examples/`, `policies/`, `keys-example/`,
/// `docs/`), so the work tree is never touched. The conventions (which blocks
/// run, `# exit N`, `<!-- not-run: reason -->`, console output) are in `DocsBlock`.
final class DocsCommandTests: XCTestCase {
    /// The documents whose commands are run, in the order they are run.
    static var documents: [String] {
        var docs: [String] = []
        let e = FileManager.default.enumerator(atPath: TestSupport.repositoryRoot.appendingPathComponent("docs").path)
        while let path = e?.nextObject() as? String { if path.hasSuffix(".md") { docs.append("docs/" + path) } }
        return ["README.md"] + docs.sorted()
    }

    /// At most this many blocks may be marked `not-run` (they must stay few).
    static let maximumNotRun = 3

    /// A scratch folder laid out as a user's checkout, a PATH that finds the
    /// built binary, and an empty TMPDIR and HOME.
    struct Sandbox {
        let base: URL
        var repo: URL { base.appendingPathComponent("repo") }
        var tmp: URL { base.appendingPathComponent("tmp") }
        var bin: URL { base.appendingPathComponent("bin") }
        var home: URL { base.appendingPathComponent("home") }

        init() throws {
            base = try TestSupport.makeTemporaryDirectory("docs-commands")
            for dir in ["repo", "tmp", "bin", "home"] {
                try FileManager.default.createDirectory(at: base.appendingPathComponent(dir), withIntermediateDirectories: true)
            }
            let root = TestSupport.repositoryRoot
            let copy = try TestSupport.run("/bin/cp", ["-R"] + ["examples", "policies", "keys-example", "docs", ".gitignore"].map { root.appendingPathComponent($0).path } + [repo.path])
            guard copy.status == 0 else { throw SandboxError(message: "cp failed: \(copy.stderrText)") }
            try FileManager.default.createDirectory(at: repo.appendingPathComponent("scripts"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: root.appendingPathComponent("scripts/clean-tour.sh"), to: repo.appendingPathComponent("scripts/clean-tour.sh"))
            try FileManager.default.createSymbolicLink(at: bin.appendingPathComponent("modelsec"), withDestinationURL: TestSupport.modelsecBinary)
            try FileManager.default.createSymbolicLink(at: bin.appendingPathComponent("python3"), withDestinationURL: URL(fileURLWithPath: try TestSupport.python()))
        }

        /// Runs `script` with bash in the checkout copy, in a clean environment
        /// (no MODELSEC_* variables from the test's own); stderr joins stdout.
        /// The sanitizer options of `make test-asan` / `make test-tsan` are kept,
        /// so a sanitized `modelsec` reads the same suppressions as everywhere else.
        func bash(_ script: String) throws -> TestSupport.ProcessResult {
            let sanitizerOptions = ["ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"].compactMap { name in
                ProcessInfo.processInfo.environment[name].map { "\(name)=\($0)" }
            }
            return try TestSupport.run("/usr/bin/env", [
                "-i", "PATH=\(bin.path):/usr/local/bin:/usr/bin:/bin", "HOME=\(home.path)", "TMPDIR=\(tmp.path)",
                "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
            ] + sanitizerOptions + ["/bin/bash", "-c", "exec 2>&1\n" + script], stdin: Data(), currentDirectory: repo)
        }

        /// Every path under the checkout copy.
        func files() -> Set<String> {
            var out = Set<String>()
            let e = FileManager.default.enumerator(atPath: repo.path)
            while let path = e?.nextObject() as? String { out.insert(path) }
            return out
        }
    }

    struct SandboxError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// The shell script for an `sh` block: each command, then a check of its
    /// exit status that stops the script (status 86) naming the line.
    static func script(for block: DocsBlock) -> String {
        var script = ""
        for command in block.commands {
            script += command.text + "\n"
            script += """
            __docs_status=$?
            if [ "$__docs_status" != \(command.expectedStatus) ]; then
              echo "docs-test: \(block.file):\(command.line): exit status $__docs_status, the document says \(command.expectedStatus)"
              exit 86
            fi

            """
        }
        return script
    }

    /// Runs one block; fails the test with the file, line and output when a
    /// command exits otherwise than documented or prints other than shown.
    func run(_ block: DocsBlock, in sandbox: Sandbox) throws {
        if block.language == "console" {
            for command in block.commands {
                let r = try sandbox.bash(command.text)
                XCTAssertEqual(r.status, command.expectedStatus, "\(block.file):\(command.line): \(command.text)\n\(r.stdoutText)")
                if let expected = command.expectedOutput {
                    var actual = r.stdoutText.components(separatedBy: "\n")
                    while actual.last == "" { actual.removeLast() }
                    XCTAssertTrue(DocsBlock.outputMatches(expected: expected, actual: actual),
                                  "\(block.file):\(command.line): output differs from the document.\nexpected:\n\(expected.joined(separator: "\n"))\nactual:\n\(actual.joined(separator: "\n"))")
                }
            }
        } else {
            let r = try sandbox.bash(Self.script(for: block))
            XCTAssertEqual(r.status, 0, "\(block.file):\(block.line): block failed:\n\(r.stdoutText)")
        }
    }

    /// README.md and docs/*.md: every sh/console block, in order, in one scratch checkout.
    func testEveryCommandInTheREADMEAndDocsRunsAsWritten() throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.base) }
        var ran = 0
        var notRun: [String] = []
        let started = Date()
        let checkout = sandbox.files()
        for document in Self.documents {
            let text = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent(document), encoding: .utf8)
            for block in DocsBlock.extract(from: text, file: document) {
                if let reason = block.notRun {
                    XCTAssertFalse(reason.isEmpty, "\(document):\(block.line): not-run needs a reason")
                    notRun.append("\(document):\(block.line)")
                    continue
                }
                try run(block, in: sandbox)
                ran += block.commands.count
            }
        }
        XCTAssertGreaterThanOrEqual(ran, 40, "the README tour alone has more commands than that")
        XCTAssertLessThanOrEqual(notRun.count, Self.maximumNotRun, "blocks marked not-run: \(notRun)")
        // Run from the repository root as written, the documents leave nothing `git add -A` would pick up.
        XCTAssertEqual(try sandbox.unignoredNewPaths(since: checkout), [], "written into the checkout and not in .gitignore")
        // README's "Cleaning up": the script removes everything they wrote, keys and the token included.
        XCTAssertFalse(sandbox.files().subtracting(checkout).isEmpty, "the documents wrote files (or this check proves nothing)")
        let clean = try sandbox.bash("scripts/clean-tour.sh")
        XCTAssertEqual(clean.status, 0, clean.stdoutText)
        XCTAssertEqual(sandbox.files().subtracting(checkout).sorted(), [], "left after scripts/clean-tour.sh:\n\(clean.stdoutText)")
        print("docs: \(ran) commands run, \(notRun.count) block(s) not run (\(notRun.joined(separator: ", "))), \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    /// Regression (examples/README.md failed at its first command and left
    /// private keys in the work tree): "Run by hand" runs verbatim from the
    /// checkout, runs the three example scripts, deploys the model, and leaves
    /// no file behind in the checkout or in TMPDIR.
    func testExamplesRunByHandWorksAndLeavesNothingBehind() throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.base) }
        let text = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("examples/README.md"), encoding: .utf8)
        let blocks = DocsBlock.extract(from: text, file: "examples/README.md")
        XCTAssertEqual(blocks.count, 1)
        let block = try XCTUnwrap(blocks.first)
        XCTAssertNil(block.notRun)
        let scripts = ["examples/release.sh", "examples/deploy-token.sh", "examples/deploy-gate.sh"]
        for script in scripts { XCTAssertTrue(block.lines.joined(separator: "\n").contains(script), "the walkthrough runs \(script)") }
        let before = sandbox.files()
        let r = try sandbox.bash(Self.script(for: block) + "echo docs-test: done\n")
        XCTAssertEqual(r.status, 0, r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("docs-test: done"), r.stdoutText)
        // The deploy gate put the model in place (ls printed its files) before the cleanup.
        for file in ["config.json", "model.safetensors", "vocab.txt"] { XCTAssertTrue(r.stdoutText.contains(file), r.stdoutText) }
        XCTAssertEqual(sandbox.files(), before, "the walkthrough wrote into the checkout")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: sandbox.tmp.path), [], "the walkthrough left files in TMPDIR")
    }

    /// The block conventions themselves.
    func testBlockExtractionConventions() {
        let doc = """
        Intro.

        ```sh
        modelsec one \\
            --two   # exit 1: refused
        # a comment
        echo three   # exit 1 if something, prose: not an expectation
        ```

        <!-- not-run: needs a GPU -->

        ```sh
        gpu-thing
        ```

        ```json
        {"not": "run"}
        ```

        - a list item:

          ```console
          $ echo hi
          hi
          $ printf 'a\\nb\\nc\\n'
          a
          ...
          ```
        """
        let blocks = DocsBlock.extract(from: doc, file: "t.md")
        XCTAssertEqual(blocks.map(\.language), ["sh", "sh", "console"])
        XCTAssertEqual(blocks.map(\.line), [3, 12, 22])
        XCTAssertEqual(blocks[0].commands.map(\.expectedStatus), [1, 0])
        XCTAssertEqual(blocks[0].commands.map(\.line), [4, 7])
        XCTAssertEqual(blocks[0].commands[0].text, "modelsec one \\\n    --two   # exit 1: refused")
        XCTAssertNil(blocks[0].notRun)
        XCTAssertEqual(blocks[1].notRun, "needs a GPU")
        XCTAssertEqual(blocks[2].commands.map(\.text), ["echo hi", "printf 'a\\nb\\nc\\n'"])
        XCTAssertEqual(blocks[2].commands.map(\.line), [23, 25])
        XCTAssertEqual(blocks[2].commands.map(\.expectedOutput), [["hi"], ["a", "..."]])
        XCTAssertTrue(DocsBlock.outputMatches(expected: ["a", "..."], actual: ["a", "b", "c"]))
        XCTAssertTrue(DocsBlock.outputMatches(expected: ["...", "c"], actual: ["a", "b", "c"]))
        XCTAssertFalse(DocsBlock.outputMatches(expected: ["a", "c"], actual: ["a", "b", "c"]))
        XCTAssertFalse(DocsBlock.outputMatches(expected: ["hi"], actual: ["hi", "extra"]))
    }
}
