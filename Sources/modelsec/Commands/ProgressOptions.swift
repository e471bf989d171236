import ArgumentParser
import Foundation
import ModelSec

/// `--progress auto|always|never`, shared by every command that does long work.
///
/// The library's progress reporters read `MODELSEC_PROGRESS`; the option sets
/// it for this process, so one setting reaches every reporter the command
/// starts. `always` off a terminal (a CI log) prints a plain line every few
/// seconds, never carriage returns.
struct ProgressOptions: ParsableArguments {
    /// When to show progress on stderr.
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case auto, always, never
    }

    @Option(help: ArgumentHelp("Progress on stderr: auto (only on a terminal), always (in CI logs: a plain line every few seconds), never. Also set by MODELSEC_PROGRESS.", valueName: "WHEN"))
    var progress: Mode?

    func validate() throws {
        if let progress { setenv("MODELSEC_PROGRESS", progress.rawValue, 1) }
        if let value = ProcessInfo.processInfo.environment["MODELSEC_PROGRESS"], Mode(rawValue: value) == nil {
            throw ValidationError("MODELSEC_PROGRESS must be auto, always or never (it is \"\(CLI.terminalSafe(value))\").")
        }
    }
}
