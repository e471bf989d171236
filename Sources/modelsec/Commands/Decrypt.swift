import ArgumentParser
import Foundation
import ModelSec

/// `modelsec decrypt`: decrypt and authenticate a file or stream.
struct Decrypt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt",
        abstract: "Decrypt and authenticate a file made by 'modelsec encrypt'.",
        discussion: """
        Identities: X25519 private keys (--identity, repeatable; an encrypted key \
        needs --key-passphrase-file or --key-passphrase-env), aes256 key files \
        (--key-file, repeatable), or the file's passphrase (--passphrase-file / \
        --passphrase-env). The header MAC is checked before any chunk is decrypted.

        To a file: plaintext goes to a temporary file that is renamed into place \
        only after the final chunk authenticates; on failure nothing is left behind. \
        To standard output ('-'): only authenticated chunks are released, but a \
        failure can come after some output. A pipeline MUST treat a non-zero exit \
        as "discard everything received" (e.g. use 'set -o pipefail').

        Exit codes: 0 decrypted and authenticated; 1 authentication failed (wrong \
        key or passphrase, tampered, truncated or extended file); 2 usage error or \
        malformed input.

        Examples:
          modelsec decrypt model.bin.enc --output model.bin --identity deploy.pem
          modelsec decrypt model.tar.enc -o - --key-file artifact.key | tar x
          modelsec decrypt weights.bin.enc -o weights.bin --passphrase-file pass.txt
        """
    )

    @Argument(help: ArgumentHelp("The encrypted file, or '-' for standard input.", valueName: "INPUT"))
    var input: String

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Where to write the plaintext (mode 0600), or '-' for standard output.", valueName: "OUTPUT"))
    var output: String

    @Option(name: [.customShort("i"), .customLong("identity")], help: ArgumentHelp("An X25519 private key (PKCS#8 PEM); repeatable.", valueName: "PRIVATE.pem"))
    var identities: [String] = []

    @OptionGroup var keyPassphrase: KeyPassphraseOptions

    @Option(name: .customLong("identity-passphrase-file"), help: .hidden)
    var deprecatedIdentityPassphraseFile: String?

    @Option(name: .customLong("key-file"), help: ArgumentHelp("An aes256 key file; repeatable.", valueName: "KEY"))
    var keyFiles: [String] = []

    @OptionGroup var passphrase: FilePassphraseOptions

    @OptionGroup var common: EncryptedFileOutputOptions

    func validate() throws {
        try PassphraseChoice.validate(file: keyPassphrase.file, env: keyPassphrase.env,
                                      deprecatedFile: deprecatedIdentityPassphraseFile, deprecatedEnv: nil,
                                      names: ("--key-passphrase-file", "--key-passphrase-env"),
                                      deprecatedNames: ("--identity-passphrase-file", ""))
        if identities.isEmpty, keyFiles.isEmpty, !passphrase.isGiven {
            throw ValidationError("Give --identity, --key-file or the file's passphrase (--passphrase-file or --passphrase-env) to decrypt with.")
        }
        try common.validate(output: output, carrying: "plaintext")
    }

    func run() throws {
        try OutputGuard.refuseExisting(output, force: common.force)
        let keySource = CLI.passphraseSource(file: keyPassphrase.file ?? deprecatedIdentityPassphraseFile, env: keyPassphrase.env)
        var list = try CLI.loadIdentities(privateKeyFiles: identities, symmetricKeyFiles: keyFiles,
                                          passphrase: keySource, permissions: common.keyPermissions)
        if let source = passphrase.source {
            list.append(.passphrase(try source.read()))
        }
        let summary = try EncryptedFile.decrypt(input: input, output: output, identities: list, overwrite: common.force)
        try common.report(summary, output: output,
                          line: "decrypted and authenticated \(ByteCountFormatting.string(Int64(summary.plaintextSize))) to \(output)")
    }
}
