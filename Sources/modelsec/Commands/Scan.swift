import ArgumentParser
import Foundation
import ModelSec
#if canImport(Glibc)
import Glibc
#endif

/// `modelsec scan`: static check of model files for unsafe serialization.
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan model files for pickles that run code when loaded (never executing them).",
        discussion: """
        Reads pickle streams (protocols 0-5) in plain pickle files, PyTorch \
        checkpoints (zip or legacy, whatever the extension), .npy object arrays \
        and .npz archives, and lists the globals each stream imports as \
        dangerous, safe or unknown (suspicious). .safetensors files are checked \
        structurally. Formats are told by content. Directories are walked; \
        files whose content is not a model format are listed as skipped.

        It fails closed: a stream that does not parse, a zip entry that cannot be \
        read, or a file whose type cannot be told is a finding.

        Exit 0 when nothing was found; 1 when any dangerous, suspicious or \
        unparseable finding was reported; 2 when a path could not be read.

        Examples:
          modelsec scan model.pt
          modelsec scan checkpoints/ --json > scan.json
          modelsec scan weights.safetensors tokenizer.pkl arrays.npz
        """
    )

    @Argument(help: ArgumentHelp("Files or directories to scan.", valueName: "PATH"))
    var paths: [String]

    @OptionGroup var progressOptions: ProgressOptions

    @Flag(help: "Print the full report as JSON on stdout.")
    var json = false

    @Flag(help: "Also list safe globals and clean files in the text report.")
    var verbose = false

    func validate() throws {
        if paths.isEmpty { throw ValidationError("Give at least one file or directory to scan.") }
    }

    func run() throws {
        let progress = ProgressReporter(label: "scan", totalItems: nil)
        let report = ModelScanner.scan(paths: paths, progress: progress)
        let code = report.exitCode
        if json {
            if code == 0 { try CLI.printResult(report) }
        } else {
            // File names, messages and globals come from the model: each one
            // escaped before it is placed in a line (a line break in a file
            // name cannot start a forged line).
            print(ScanTextReport.render(report, verbose: verbose, escape: CLI.terminalSafe), terminator: "")
        }
        if code == 2 {
            let unreadable = report.files.flatMap(\.findings).filter { $0.kind == .unreadableFile }
            // Every unreadable path on stderr; the error names the first.
            for finding in unreadable.dropFirst() {
                FileHandle.standardError.write(Data("modelsec: error: \(CLI.terminalSafe(finding.location)): \(CLI.terminalSafe(finding.message))\n".utf8))
            }
            let first = unreadable.first
            throw ReportedFailure(error: CLIError(.scanUnreadable, first.map { "\($0.location): \($0.message)" } ?? "a path could not be read",
                                                  path: first?.location), report: report)
        } else if code == 1 {
            let s = report.summary
            throw ReportedFailure(error: CLIError(.scanFindings, "scan found \(s.dangerous) dangerous, \(s.suspicious) suspicious, \(s.errors) unparseable/unreadable finding(s)"),
                                  report: report)
        }
    }
}

extension Scan {
    /// The scan command for `arguments` (what follows `scan`) when every word
    /// is a path that cannot be mistaken for anything else (non-empty, not
    /// starting with `-`) or one of the flags `--json` and `--verbose` (each
    /// at most once); nil for anything else, which ArgumentParser then
    /// parses (and explains when wrong). Such a command line means the same
    /// to ArgumentParser: words without a leading `-` are the positional
    /// paths, in order. ArgumentParser builds the command's argument
    /// definitions by reflection on every parse: a one-file scan took 87.9M
    /// instructions through it and 37.7M this way (callgrind, debug build,
    /// 2026-12-01; in the release build the parse was about 21M of the 262M
    /// of scanning 2,000 small pickles).
    static func plain(_ arguments: ArraySlice<String>) -> Scan? {
        var paths: [String] = []
        var json = false, verbose = false
        for word in arguments {
            guard let first = word.utf8.first else { return nil }
            if first != UInt8(ascii: "-") {
                paths.append(word)
            } else if !json, word.utf8.elementsEqual("--json".utf8) {
                json = true
            } else if !verbose, word.utf8.elementsEqual("--verbose".utf8) {
                verbose = true
            } else {
                return nil
            }
        }
        guard !paths.isEmpty else { return nil }
        // ProgressOptions.validate's check: a bad MODELSEC_PROGRESS is left to the full parse to report.
        if let value = getenv("MODELSEC_PROGRESS"), ProgressOptions.Mode(rawValue: String(cString: value)) == nil { return nil }
        var scan = Scan()
        scan.paths = paths
        scan.json = json
        scan.verbose = verbose
        var progress = ProgressOptions()
        progress.progress = nil
        scan.progressOptions = progress
        return scan
    }
}
