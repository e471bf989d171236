import ArgumentParser
import ModelSec

extension KeyType: ExpressibleByArgument {}

/// `modelsec keygen`: make a key and write it to disk.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a key: ed25519 or p256 for signing, x25519 or aes256 for encryption.",
        discussion: """
        The private key is written to PATH as PKCS#8 PEM with mode 0600; for key \
        pairs the public key goes to PATH.pub as SPKI PEM. Both interoperate with \
        the openssl CLI. The key id (SHA-256 of the public key's PEM) is printed.

        Examples:
          modelsec keygen --type ed25519 --out keys/release-signing.pem
          modelsec keygen --type p256 --out signer.pem --key-passphrase-file pass.txt
          modelsec keygen --type x25519 --out deploy-recipient.pem
          modelsec keygen --type aes256 --out artifact.key --json
        """
    )

    @Option(help: "Key type: ed25519, p256, x25519 or aes256.")
    var type: KeyType = .ed25519

    @Option(name: .customLong("out"), help: ArgumentHelp("Where to write the private key (public key: PATH.pub).", valueName: "PATH"))
    var out: String

    @Flag(help: "Overwrite existing key files (without it an existing PATH or PATH.pub is refused).")
    var force = false

    @OptionGroup var passphrase: PassphraseOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    /// What --json prints (beside `ok`).
    struct Output: Encodable {
        let type: String
        let keyId: String
        let privateKeyPath: String
        let publicKeyPath: String?
        let encrypted: Bool
    }

    func run() throws {
        try OutputGuard.refuseExisting(out, force: force)
        if type != .aes256 { try OutputGuard.refuseExisting(out + ".pub", force: force) }
        let generated = try KeyGeneration.generate(type: type, to: out, passphrase: passphrase.source, overwrite: force)
        if json {
            try CLI.printResult(Output(type: generated.type.rawValue, keyId: generated.keyID, privateKeyPath: generated.privateKeyPath,
                                       publicKeyPath: generated.publicKeyPath, encrypted: generated.encrypted))
            return
        }
        print(generated.keyID)
        var note = "wrote \(generated.type.rawValue) \(generated.publicKeyPath == nil ? "" : "private ")key to \(generated.privateKeyPath) (mode 0600\(generated.encrypted ? ", encrypted" : ""))"
        if let pub = generated.publicKeyPath { note += " and public key to \(pub)" }
        CLI.info(note)
    }
}
