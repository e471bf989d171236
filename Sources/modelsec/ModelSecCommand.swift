import ArgumentParser
import CBuildInfo
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

        `modelsec --version` prints the version and the crypto backends.
        """,
        subcommands: CommandRegistry.all
    )

    /// What `modelsec --version` prints.
    static let versionText = "modelsec \(ModelSecVersion.current) (commit \(String(cString: modelsec_build_commit()))) (\(ModelSecCryptoInfo.backendVersions))"

    /// Runs the command, mapping every failure to one line on stderr and the
    /// documented exit code (ArgumentParser's own usage errors become 2).
    static func main() {
        // `--version` is answered here instead of through
        // CommandConfiguration.version, which would add a "Show the version"
        // flag to every subcommand's help, next to `release create --version
        // <VERSION>`.
        if Array(CommandLine.arguments.dropFirst()) == ["--version"] {
            print(versionText)
            Foundation.exit(0)
        }
        // Bare `modelsec` is a usage error: show the help, exit 2.
        if CommandLine.arguments.count == 1 {
            FileHandle.standardError.write(Data(helpMessage().utf8))
            Foundation.exit(2)
        }
        // An interrupted command removes its temporary outputs (exit 130/143/129).
        CleanupOnSignal.installSignalHandlers()
        do {
            var command = try parseAsRoot()
            // The library is silent; progress events go to the renderer
            // (after parsing, which applied `--progress`).
            try ProgressReporting.$handler.withValue(ProgressRenderer().handler) { try command.run() }
        } catch let error as ModelSecError {
            CLI.fail(CLI.message(for: error), code: CLI.exitCode(error.category))
        } catch let error as CLI.Exit {
            Foundation.exit(error.code)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help.
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = fullMessage(for: error)
            FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
            Foundation.exit(2)
        }
    }
}
