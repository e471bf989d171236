import ArgumentParser
import ModelSec

/// `modelsec key …`: work with existing key files.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Inspect key files.",
        discussion: """
        Examples:
          modelsec key inspect release-signing.pem
          modelsec key inspect release-signing.pem.pub --json
        """,
        subcommands: [KeyInspect.self]
    )
}

/// `modelsec key inspect`: type, kind and key id of a key file.
struct KeyInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a key file's type, whether it is private or encrypted, and its key id.",
        discussion: """
        Never prints secret material. An encrypted private key's id is read from \
        PATH.pub when no passphrase is given.

        Examples:
          modelsec key inspect keys-example/ed25519.pem
          modelsec key inspect signer.pem --key-passphrase-file pass.txt --json
        """
    )

    @Argument(help: ArgumentHelp("The key file.", valueName: "PATH"))
    var path: String

    @OptionGroup var passphrase: PassphraseOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    /// What --json prints (beside `ok`).
    struct Output: Encodable {
        let path: String
        let type: String?
        let kind: String
        let encrypted: Bool
        let keyId: String?
        let publicKeyPem: String?
    }

    func run() throws {
        let info = try KeyFile.inspect(path, passphrase: passphrase.source)
        if json {
            try CLI.printResult(Output(path: info.path, type: info.type?.rawValue, kind: info.kind, encrypted: info.encrypted,
                                       keyId: info.keyID, publicKeyPem: info.publicKeyPEM))
            return
        }
        print("path:      \(info.path)")
        print("type:      \(info.type?.rawValue ?? "unknown (encrypted; give the passphrase to tell)")")
        print("kind:      \(info.kind)\(info.encrypted ? " (encrypted)" : "")")
        print("key id:    \(info.keyID ?? "unknown (encrypted; give the passphrase or keep PATH.pub beside it)")")
        if info.kind == "private" || info.kind == "symmetric", let warning = KeyFile.permissionWarning(path) { CLI.warn(warning) }
    }
}
