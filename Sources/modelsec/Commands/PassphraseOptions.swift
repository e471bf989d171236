import ArgumentParser
import ModelSec

/// `--passphrase-file` / `--passphrase-env`, shared by commands that read or
/// write encrypted private keys. A passphrase is never a plain argument.
struct PassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"), help: ArgumentHelp("Read the key's passphrase from the first line of FILE.", valueName: "FILE"))
    var passphraseFile: String?

    @Option(name: .customLong("passphrase-env"), help: ArgumentHelp("Read the key's passphrase from the environment variable NAME.", valueName: "NAME"))
    var passphraseEnv: String?

    func validate() throws {
        if passphraseFile != nil, passphraseEnv != nil {
            throw ValidationError("Give --passphrase-file or --passphrase-env, not both.")
        }
    }

    var source: PassphraseSource? { CLI.passphraseSource(file: passphraseFile, env: passphraseEnv) }
}
