import ArgumentParser
import ModelSec

extension KeyType: ExpressibleByArgument {}

/// `modelsec keygen`: make a key and write it to disk.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate a key: ed25519, p256, p384 or p521 for signing, x25519 or aes256 for encryption.",
        discussion: """
        The private key is written to PATH as PKCS#8 PEM with mode 0600; for key \
        pairs the public key goes to PATH.pub as SPKI PEM. Both interoperate with \
        the openssl CLI. The key id (SHA-256 of the public key's PEM) is printed.

        With a pkcs11: URI as --out, the signing key is generated inside the token \
        (sensitive, never extractable; ed25519, p256, p384 or p521) under the URI's \
        object label and id, and only its public key is written, to \
        --public-key-out (default: OBJECT.pub here). The PIN comes from the URI's \
        pin-source or MODELSEC_PKCS11_PIN, never from the command line.

        Examples:
          modelsec keygen --type ed25519 --out release-signing.pem
          modelsec keygen --type p256 --out signer.pem --key-passphrase-file pass.txt
          modelsec keygen --type x25519 --out deploy-recipient.pem
          modelsec keygen --type aes256 --out artifact.key --json
          modelsec keygen --type p384 --out "pkcs11:token=release;object=signing?\\
        module-path=/usr/lib/softhsm/libsofthsm2.so"
        """
    )

    @Option(help: "Key type: ed25519, p256, p384, p521, x25519 or aes256.")
    var type: KeyType = .ed25519

    @Option(name: [.customLong("out"), .customLong("output"), .customShort("o")], help: ArgumentHelp("Where to write the private key (public key: PATH.pub), or a pkcs11: URI to generate it in a token.", valueName: "PATH"))
    var out: String

    @Option(help: ArgumentHelp("With a pkcs11: --out, where to write the public key (default: OBJECT.pub).", valueName: "PATH"))
    var publicKeyOut: String?

    @Flag(help: "Overwrite existing key files (without it an existing PATH or PATH.pub is refused).")
    var force = false

    @OptionGroup var passphrase: PassphraseOptions

    @OptionGroup var json: JSONOption

    /// What --json prints (beside `ok`).
    struct Output: Encodable {
        let type: String
        let keyId: String
        let privateKeyPath: String?
        let publicKeyPath: String?
        let encrypted: Bool
        /// For a key made in a token: the token's URI of the key (no PIN).
        let pkcs11URI: String?
        /// For a key made in a token: whether the token lets it leave (always false here).
        let extractable: Bool?
    }

    func validate() throws {
        if publicKeyOut != nil && !PKCS11URI.isPKCS11URI(out) {
            throw ValidationError("--public-key-out is for keys generated in a token (--out pkcs11:...); a file key's public key goes to PATH.pub")
        }
    }

    func run() throws {
        if PKCS11URI.isPKCS11URI(out) { return try generateInToken() }
        try OutputGuard.refuseExisting(out, force: force)
        if type != .aes256 { try OutputGuard.refuseExisting(out + ".pub", force: force) }
        let generated = try KeyGeneration.generate(type: type, to: out, passphrase: passphrase.source, overwrite: force)
        if json.isOn {
            try CLI.printResult(Output(type: generated.type.rawValue, keyId: generated.keyID, privateKeyPath: generated.privateKeyPath,
                                       publicKeyPath: generated.publicKeyPath, encrypted: generated.encrypted, pkcs11URI: nil, extractable: nil))
            return
        }
        print(generated.keyID)
        var note = "wrote \(generated.type.rawValue) \(generated.publicKeyPath == nil ? "" : "private ")key to \(generated.privateKeyPath) (mode 0600\(generated.encrypted ? ", encrypted" : ""))"
        if let pub = generated.publicKeyPath { note += " and public key to \(pub)" }
        CLI.info(note)
    }

    /// `--out pkcs11:…`: the key pair is made inside the token; only the
    /// public key is written here.
    private func generateInToken() throws {
        let curve: PKCS11Curve
        switch type {
        case .ed25519: curve = .ed25519
        case .p256: curve = .p256
        case .p384: curve = .p384
        case .p521: curve = .p521
        case .x25519, .aes256:
            throw ValidationError("--type \(type.rawValue) cannot be generated in a token; use ed25519, p256, p384 or p521")
        }
        let uri = try PKCS11URI(parsing: out)
        let publicPath = try publicKeyOut ?? Self.defaultPublicKeyPath(for: uri)
        try OutputGuard.checkOutputFile(publicPath, force: force)
        let key = try PKCS11SigningKey.generate(curve, at: uri)
        try AtomicFileWriter.write(Array(key.publicKeyPEM.utf8), to: publicPath, mode: 0o644, overwrite: force)
        if json.isOn {
            try CLI.printResult(Output(type: type.rawValue, keyId: key.keyID, privateKeyPath: nil, publicKeyPath: publicPath,
                                       encrypted: false, pkcs11URI: key.uri.description, extractable: key.attributes.extractable))
            return
        }
        print(key.keyID)
        CLI.info("generated \(type.rawValue) key in the token (\(key.uri.description)), not extractable; wrote public key to \(publicPath)")
    }

    /// `OBJECT.pub` in the current directory, when the object label is a plain file name.
    static func defaultPublicKeyPath(for uri: PKCS11URI) throws -> String {
        // A single plain path component (bytes checked, so no look-alike of '/').
        guard let object = uri.object, !object.isEmpty, object.count <= 250, !object.contains(UInt8(ascii: "/")),
              !object.contains(where: { $0 < 0x20 || $0 == 0x7F }), object != Array(".".utf8), object != Array("..".utf8),
              let name = String(validating: object, as: UTF8.self) else {
            throw ValidationError("the URI's object label cannot name a file here; give --public-key-out PATH")
        }
        return name + ".pub"
    }
}
