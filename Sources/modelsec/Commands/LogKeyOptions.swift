import ArgumentParser
import Foundation
import TransparencyLog

/// `--log-key` and `--origin`: how a command that checks checkpoints learns the log's key.
struct LogKeyOptions: ParsableArguments {
    @Option(name: .customLong("log-key"), help: ArgumentHelp(
        "The log's verifier key: vkey text (origin+keyid+base64, as log init prints it), a file holding it, or an Ed25519 public key PEM with --origin (default: $MODELSEC_LOG_KEY).",
        valueName: "VKEY"))
    var logKey: String?

    @Option(help: "The log's origin (needed when --log-key is a PEM file; otherwise checked against the vkey's name).")
    var origin: String?

    /// The log's note verifier.
    func verifier() throws -> NoteVerifier {
        try LogSupport.logVerifier(spec(), origin: origin)
    }

    /// `--log-key`, else `MODELSEC_LOG_KEY` (a pipeline sets the log's vkey
    /// once for every log command).
    func spec() throws -> String {
        if let logKey { return logKey }
        if let env = ProcessInfo.processInfo.environment["MODELSEC_LOG_KEY"], !env.isEmpty { return env }
        throw ValidationError("give the log's verifier key with --log-key VKEY (or set MODELSEC_LOG_KEY)")
    }
}
