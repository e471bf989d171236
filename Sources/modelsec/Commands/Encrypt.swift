import ArgumentParser
import Foundation
import ModelSec

/// `modelsec encrypt`: encrypt a file or stream for one or more recipients.
struct Encrypt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encrypt",
        abstract: "Encrypt a model file (streamed, key-committing AES-256-GCM) for one or more recipients.",
        discussion: """
        Recipients: X25519 public keys (--recipient, repeatable), aes256 key files \
        (--key-file, repeatable; may be combined with --recipient), or a passphrase \
        (--passphrase-file or --passphrase-env, which must be the only recipient; \
        stretched with Argon2id, 3 passes over 256 MiB). At most 32 recipients. \
        INPUT or --output may be '-' for standard input/output. A file output is \
        written to a temporary file and renamed into place only when complete. \
        The format is specified in docs/encryption-format.md.

        Examples:
          modelsec encrypt model.bin --output model.bin.enc --recipient deploy.pem.pub
          modelsec encrypt model.bin -o model.enc --recipient a.pub --key-file kms.key
          tar c model/ | modelsec encrypt - -o model.tar.enc --key-file artifact.key
          modelsec encrypt weights.bin -o weights.bin.enc --passphrase-file pass.txt
        """
    )

    @Argument(help: ArgumentHelp("The plaintext file, or '-' for standard input.", valueName: "INPUT"))
    var input: String

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Where to write the encrypted file, or '-' for standard output.", valueName: "OUTPUT"))
    var output: String

    @Option(name: .customLong("recipient"), help: ArgumentHelp("An X25519 public key (SPKI PEM) to encrypt to; repeatable.", valueName: "PUB.pem"))
    var recipients: [String] = []

    @Option(name: .customLong("key-file"), help: ArgumentHelp("An aes256 key file to encrypt to; repeatable.", valueName: "KEY"))
    var keyFiles: [String] = []

    @OptionGroup var passphrase: FilePassphraseOptions

    @Option(name: .customLong("chunk-size"), help: ArgumentHelp("Plaintext bytes per chunk: a power of two from 4096 to 1048576.", valueName: "BYTES"))
    var chunkSize: Int = ArtifactEncryption.defaultChunkSize

    @OptionGroup var common: EncryptedFileOutputOptions

    func validate() throws {
        if !passphrase.isGiven, recipients.isEmpty, keyFiles.isEmpty {
            throw ValidationError("Give at least one --recipient or --key-file, or a passphrase (--passphrase-file or --passphrase-env).")
        }
        if passphrase.isGiven, !(recipients.isEmpty && keyFiles.isEmpty) {
            throw ValidationError("A passphrase must be the only recipient: do not combine it with --recipient or --key-file.")
        }
        if recipients.count + keyFiles.count > ArtifactEncryption.maximumRecipients {
            throw ValidationError("At most \(ArtifactEncryption.maximumRecipients) recipients.")
        }
        try common.validate(output: output, carrying: "ciphertext")
        if output == "-", isatty(STDOUT_FILENO) == 1 {
            throw ValidationError("Refusing to write ciphertext to a terminal; use --output FILE or a pipe.")
        }
    }

    func run() throws {
        try OutputGuard.refuseExisting(output, force: common.force)
        var list: [any Recipient] = []
        for path in recipients { list.append(try X25519Recipient(publicKeyFile: path)) }
        for path in keyFiles {
            try CLI.refusePublicKey(path, option: "--key-file", symmetric: true)
            try common.keyPermissions.check(path)
            list.append(try SymmetricKeyRecipient(keyFile: path))
        }
        if let source = passphrase.source {
            list.append(.passphrase(try source.read()))
        }
        let summary = try EncryptedFile.encrypt(input: input, output: output, recipients: list, chunkSize: chunkSize, overwrite: common.force)
        try common.report(summary, output: output,
                          line: "encrypted \(ByteCountFormatting.string(Int64(summary.plaintextSize))) to \(output) for \(summary.recipients.count) recipient(s): \(summary.recipients.joined(separator: ", "))")
    }
}
