import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// `modelsec log init`: create an empty log directory.
struct LogInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an empty transparency log (a signed size-0 checkpoint) and print its verifier key.",
        discussion: """
        The origin is the log's name (its checkpoint origin line and the key \
        name of its signatures), conventionally the URL prefix it is served \
        at without the scheme. The verifier key (vkey) printed on stdout is \
        what verifiers, witnesses and monitors are configured with.

        Examples:
          modelsec log init --origin example.com/models \\
              --key log.pem models-log/ > log.vkey
        """
    )

    @Argument(help: ArgumentHelp("The log directory (must not exist or be empty).", valueName: "DIR"))
    var directory: String

    @Option(help: "The log's origin, e.g. example.com/models.")
    var origin: String

    @Option(help: ArgumentHelp("The log's Ed25519 private key (PEM, as keygen writes it).", valueName: "KEY"))
    var key: String

    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var permissions: KeyPermissionOptions

    @Flag(help: "Accepted as by every command that writes, but a log is never replaced: an existing non-empty DIR is refused (output.exists) with or without it.")
    var force = false

    @OptionGroup var json: JSONOption

    func run() throws {
        try OutputGuard.refuseExistingDirectoryAlways(directory, command: "log init", why: "replacing a log would discard its history")
        let signer = try LogSupport.signer(keyPath: key, name: origin, type: .ed25519, permissions: permissions, passphrase: passphrase.source)
        try DirectoryLog.create(directory: directory, signer: signer)
        if json.isOn {
            try CLI.printResult(["directory": directory, "origin": origin, "vkey": signer.verifier.vkey])
        } else {
            print(signer.verifier.vkey)
            CLI.info("created the log \(origin) in \(directory)")
        }
    }
}
