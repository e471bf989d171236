import ArgumentParser
import Foundation
import ModelSec

/// `modelsec scan`: static check of model files for unsafe serialization.
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
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
        if json {
            try CLI.printJSON(report)
        } else {
            print(ScanTextReport.render(report, verbose: verbose), terminator: "")
        }
        let code = report.exitCode
        if code == 2 {
            for finding in report.files.flatMap(\.findings) where finding.kind == .unreadableFile {
                FileHandle.standardError.write(Data("modelsec: error: \(finding.location): \(finding.message)\n".utf8))
            }
        } else if code == 1 {
            let s = report.summary
            FileHandle.standardError.write(Data("modelsec: error: scan found \(s.dangerous) dangerous, \(s.suspicious) suspicious, \(s.errors) unparseable/unreadable finding(s)\n".utf8))
        }
        if code != 0 { throw CLI.Exit(code: code) }
    }
}
