import ArgumentParser
import ModelSec

/// The flags `encrypt` and `decrypt` share after their key options
/// (`--force`, `--strict-permissions`, `--progress`, `--json`), with the one
/// rule for where each command writes: the file to OUTPUT (or standard
/// output), the summary as JSON on stdout or as a line on stderr.
struct EncryptedFileOutputOptions: ParsableArguments {
    @Flag(help: "Overwrite OUTPUT if it exists (without it an existing OUTPUT is refused).")
    var force = false

    @OptionGroup var keyPermissions: KeyPermissionOptions

    @OptionGroup var progressOptions: ProgressOptions

    @Flag(help: "Print a summary as JSON on stdout (not with --output -).")
    var json = false

    /// Refuses `--json` with `--output -`, where standard output carries
    /// `content` (the ciphertext or the plaintext).
    func validate(output: String, carrying content: String) throws {
        if json, output == "-" { throw ValidationError("--json needs --output FILE (standard output carries the \(content)).") }
    }

    /// Prints `summary` as the `--json` result, or else `line` on stderr
    /// when OUTPUT is a file (with `--output -` stdout holds the data alone).
    func report(_ summary: some Encodable, output: String, line: @autoclosure () -> String) throws {
        if json {
            try CLI.printResult(summary)
        } else if output != "-" {
            CLI.info(line())
        }
    }
}
