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
        abstract: "Show a key's type, whether it is private or encrypted, and its key id.",
        discussion: """
        Never prints secret material. An encrypted private key's id is read from \
        PATH.pub when no passphrase is given. A pkcs11: URI shows the token's key: \
        its type, label, id, key id, and whether the token keeps it sensitive and \
        unextractable (the PIN comes from the URI's pin-source or \
        MODELSEC_PKCS11_PIN).

        Examples:
          modelsec key inspect keys-example/ed25519.pem
          modelsec key inspect signer.pem --key-passphrase-file pass.txt --json
          modelsec key inspect --json "pkcs11:token=release;object=signing?\\
        module-path=/usr/lib/softhsm/libsofthsm2.so"
        """
    )

    @Argument(help: ArgumentHelp("The key file, or a pkcs11: URI of a key in a token.", valueName: "PATH"))
    var path: String

    @OptionGroup var passphrase: PassphraseOptions

    @OptionGroup var json: JSONOption

    /// What --json prints (beside `ok`).
    struct Output: Encodable {
        let path: String
        let type: String?
        let kind: String
        let encrypted: Bool
        let keyId: String?
        let publicKeyPem: String?
        var token: Token? = nil
    }

    /// What a token says about its private key.
    struct Token: Encodable {
        let uri: String
        let label: String
        let id: String
        let sensitive: Bool?
        let extractable: Bool?
        let alwaysSensitive: Bool?
        let neverExtractable: Bool?
    }

    func run() throws {
        if PKCS11URI.isPKCS11URI(path) { return try inspectTokenKey() }
        let info = try KeyFile.inspect(path, passphrase: passphrase.source)
        if json.isOn {
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

    /// A key in a PKCS#11 token: never its secret, which the token keeps.
    private func inspectTokenKey() throws {
        let key = try PKCS11SigningKey(uri: PKCS11URI(parsing: path))
        let a = key.attributes
        let label = String(decoding: a.label, as: UTF8.self)
        let id = Hex.encode(a.id)
        let token = Token(uri: key.uri.description, label: label, id: id, sensitive: a.sensitive, extractable: a.extractable,
                          alwaysSensitive: a.alwaysSensitive, neverExtractable: a.neverExtractable)
        let type = key.publicKey.algorithm.rawValue
        if json.isOn {
            try CLI.printResult(Output(path: key.uri.description, type: type, kind: "token-private", encrypted: false,
                                       keyId: key.keyID, publicKeyPem: key.publicKeyPEM, token: token))
            return
        }
        func yesNo(_ value: Bool?) -> String { value.map { $0 ? "yes" : "no" } ?? "not reported" }
        CLI.printLine("uri:         \(key.uri.description)")
        CLI.printLine("type:        \(type)")
        CLI.printLine("kind:        private key in a PKCS#11 token")
        CLI.printLine("label:       \(label)")
        CLI.printLine("id:          \(id.isEmpty ? "(none)" : id)")
        CLI.printLine("key id:      \(key.keyID)")
        CLI.printLine("sensitive:   \(yesNo(a.sensitive))")
        CLI.printLine("extractable: \(yesNo(a.extractable))")
        if a.extractable != false || a.sensitive != true {
            CLI.warn("the token lets this key leave it (CKA_EXTRACTABLE/CKA_SENSITIVE); generate release keys with modelsec keygen --out pkcs11:...")
        }
    }
}
