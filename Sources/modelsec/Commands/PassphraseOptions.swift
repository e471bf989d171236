import ArgumentParser
import ModelSec

/// `--key-passphrase-file` / `--key-passphrase-env`: the passphrase of an
/// encrypted private key, read or written. Every command that takes a
/// private key spells it this way (`--passphrase-file` / `--passphrase-env`
/// mean the passphrase of an encrypted *file*, in encrypt and decrypt). A
/// passphrase is never a plain argument.
struct KeyPassphraseOptions: ParsableArguments {
    @Option(name: .customLong("key-passphrase-file"), help: ArgumentHelp("Read the private key's passphrase from the first line of FILE.", valueName: "FILE"))
    var file: String?

    @Option(name: .customLong("key-passphrase-env"), help: ArgumentHelp("Read the private key's passphrase from the environment variable NAME.", valueName: "NAME"))
    var env: String?
}

/// The key passphrase options of a command that has no file passphrase,
/// with the spellings of earlier versions (`--passphrase-file`,
/// `--passphrase-env`) kept as hidden aliases that warn.
struct PassphraseOptions: ParsableArguments {
    @OptionGroup var key: KeyPassphraseOptions

    @Option(name: .customLong("passphrase-file"), help: .hidden)
    var deprecatedFile: String?

    @Option(name: .customLong("passphrase-env"), help: .hidden)
    var deprecatedEnv: String?

    func validate() throws {
        try PassphraseChoice.validate(file: key.file, env: key.env, deprecatedFile: deprecatedFile, deprecatedEnv: deprecatedEnv,
                                      names: ("--key-passphrase-file", "--key-passphrase-env"),
                                      deprecatedNames: ("--passphrase-file", "--passphrase-env"))
    }

    /// The key's passphrase source, if one was given.
    var source: PassphraseSource? {
        CLI.passphraseSource(file: key.file ?? deprecatedFile, env: key.env ?? deprecatedEnv)
    }
}

/// `--passphrase-file` / `--passphrase-env`: the passphrase an encrypted file
/// is (or is to be) encrypted with, in encrypt and decrypt.
struct FilePassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"), help: ArgumentHelp("The file's passphrase: the first line of FILE.", valueName: "FILE"))
    var file: String?

    @Option(name: .customLong("passphrase-env"), help: ArgumentHelp("The file's passphrase: the environment variable NAME.", valueName: "NAME"))
    var env: String?

    func validate() throws {
        try PassphraseChoice.validate(file: file, env: env, deprecatedFile: nil, deprecatedEnv: nil,
                                      names: ("--passphrase-file", "--passphrase-env"), deprecatedNames: ("", ""))
    }

    /// True when a passphrase was given.
    var isGiven: Bool { file != nil || env != nil }

    /// The passphrase source, if one was given.
    var source: PassphraseSource? { CLI.passphraseSource(file: file, env: env) }
}

/// The rules every passphrase option pair keeps.
enum PassphraseChoice {
    /// At most one source; a deprecated spelling warns and names its
    /// replacement.
    static func validate(file: String?, env: String?, deprecatedFile: String?, deprecatedEnv: String?,
                         names: (file: String, env: String), deprecatedNames: (file: String, env: String)) throws {
        if deprecatedFile != nil { CLI.warn("\(deprecatedNames.file) is deprecated here; use \(names.file) (the private key's passphrase)") }
        if deprecatedEnv != nil { CLI.warn("\(deprecatedNames.env) is deprecated here; use \(names.env) (the private key's passphrase)") }
        let given = [file, env, deprecatedFile, deprecatedEnv].compactMap { $0 }.count
        if given > 1 {
            throw CLIError(.invalidArguments, "give one of \(names.file) FILE or \(names.env) NAME, not both")
        }
    }
}
