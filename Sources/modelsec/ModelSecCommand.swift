import ArgumentParser
import Foundation
import ModelSec

/// The `modelsec` command: parses arguments and hands the work to the library.
@main
struct ModelSecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelsec",
        abstract: "Sign, encrypt, gate and audit ML model releases.",
        discussion: """
        Exit codes: 0 success; 1 a check failed (bad signature, tampered data, \
        rejected token, denied policy); 2 usage error or unreadable/malformed input.

        With --json a command prints exactly one JSON document on stdout, \
        whatever happens: {"ok": true, ...} or {"ok": false, "error": {...}} \
        (docs/cli-json.md). Error codes are listed in docs/errors.md.

        `modelsec --version` prints the version and the crypto backends.
        """,
        subcommands: CommandRegistry.all
    )

    /// What `modelsec --version` prints.
    static let versionText = "modelsec \(ModelSecVersion.current) (commit \(buildCommit)) (\(ModelSecCryptoInfo.backendVersions))"

    /// Raises the soft limit on open files to the hard limit (at most
    /// 2^20), as servers do: walking a model keeps, per core, a chain of
    /// directory descriptors from the root to the directory being read
    /// (``ModelSecIO/ModelTree/Opener``), up to the walk's depth limit, so a
    /// deep model on a many-core machine could meet a soft limit of 1,024
    /// and fail (closed, as unreadable files) where it need not.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return }
        let wanted = min(limit.rlim_max, rlim_t(1 << 20))
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = wanted
        _ = setrlimit(resource, &limit)
    }

    /// `modelsec scan …` parsed by the scan command alone, or nil. Parsing
    /// through the whole command tree took a third more instructions
    /// (callgrind, debug build: 71M against 53M; in a release build the
    /// whole-tree parse was 25M of the 355M of scanning 2,000 small
    /// pickles). Only a successful parse is taken: anything else (`--help`,
    /// a usage error) returns nil and goes through the whole tree, so help
    /// and messages are what they always were. The plainest command lines
    /// (paths, `--json`, `--verbose`) are read without ArgumentParser at all
    /// (``Scan/plain(_:)``).
    static func parseScanAlone(_ arguments: [String]) -> (any ParsableCommand)? {
        guard let first = arguments.first, first.utf8.elementsEqual("scan".utf8) else { return nil }
        if let plain = Scan.plain(arguments.dropFirst()) { return plain }
        return try? Scan.parseAsRoot(Array(arguments.dropFirst()))
    }

    /// Runs the command. Every failure, whoever raises it (ArgumentParser,
    /// a command, the library), ends in `CLI.finish`: one line on stderr,
    /// with --json one document on stdout, and the documented exit code.
    static func main() {
        raiseOpenFileLimit()
        let arguments = Array(CommandLine.arguments.dropFirst())
        // `--version` is answered here instead of through
        // CommandConfiguration.version, which would add a "Show the version"
        // flag to every subcommand's help, next to `release create --version
        // <VERSION>`.
        if arguments == ["--version"] {
            print(versionText)
            Foundation.exit(0)
        }
        // Bare `modelsec` is a usage error: show the help, exit 2.
        if arguments.isEmpty {
            FileHandle.standardError.write(Data(HelpLayout.wrapUsage(helpMessage()).utf8))
            Foundation.exit(2)
        }
        // An interrupted command removes its temporary outputs (exit 130/143/129).
        // The token server is the exception: swift-service-lifecycle turns its
        // SIGTERM into a graceful drain, which an immediate exit would cut off.
        if !ServeRun.isServerInvocation(arguments) { CleanupOnSignal.installSignalHandlers() }
        // `modelsec help sgin`: an unknown topic is an unknown command.
        if arguments.first == "help", arguments.count > 1,
           let unknown = CommandTree.current.unknownWord(in: arguments.dropFirst().filter { !$0.hasPrefix("-") }) {
            CLI.finish(unknown)
        }
        let command: any ParsableCommand
        do {
            command = try parseScanAlone(arguments) ?? parseAsRoot(arguments)
        } catch {
            if exitCode(for: error) == .success {
                // --help and `modelsec help …`.
                print(HelpLayout.wrapUsage(fullMessage(for: error)))
                Foundation.exit(0)
            }
            CLI.finish(UsageErrors.translate(error, arguments: arguments))
        }
        if CommandTree.mayHavePathProblem(arguments), let problem = CommandTree.current.pathProblem(in: arguments) {
            CLI.finish(problem)
        }
        // A group without its subcommand (`modelsec token`) is a usage
        // error, as bare `modelsec` is: its help on stderr, exit 2.
        let configuration = type(of: command).configuration
        if !configuration.subcommands.isEmpty, configuration.defaultSubcommand == nil {
            FileHandle.standardError.write(Data(HelpLayout.wrapUsage(helpMessage(for: type(of: command))).utf8))
            Foundation.exit(2)
        }
        do {
            var runnable = command
            // The library is silent; progress events go to the renderer
            // (after parsing, which applied `--progress`).
            ProgressReporting.processHandler = ProgressRenderer().handler
            try runnable.run()
        } catch let error as any ModelSecError {
            CLI.finish(error)
        } catch {
            // `--help` comes back from ArgumentParser's own help command's run().
            if !(error is CLI.Exit || error is ReportedFailure || error is ValidationError), exitCode(for: error) == .success {
                print(HelpLayout.wrapUsage(fullMessage(for: error)))
                Foundation.exit(0)
            }
            CLI.finish(error)
        }
        Foundation.exit(0)
    }
}
