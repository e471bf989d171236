import ArgumentParser
import TransparencyLog

/// `--log-key` and `--origin`: how a command that checks checkpoints learns the log's key.
struct LogKeyOptions: ParsableArguments {
    @Option(name: .customLong("log-key"), help: ArgumentHelp(
        "The log's verifier key: vkey text (origin+keyid+base64, as log init prints it), a file holding it, or an Ed25519 public key PEM with --origin.",
        valueName: "VKEY"))
    var logKey: String

    @Option(help: "The log's origin (needed when --log-key is a PEM file; otherwise checked against the vkey's name).")
    var origin: String?

    /// The log's note verifier.
    func verifier() throws -> NoteVerifier {
        try LogSupport.logVerifier(logKey, origin: origin)
    }
}
