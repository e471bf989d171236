import ArgumentParser
import Foundation
import ModelSec
import ModelSecCrypto
import ModelSecKeys
import TokenService

/// `modelsec serve rotate-key --config FILE [--new-key NEXT.pem]`: promote the
/// next signing key to current, retire the current one, and add a new next
/// key (docs/token-service.md, "Key rotation").
struct ServeRotateKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Rotate the token service's signing keys (next becomes current; a new next key is added).",
        discussion: """
        The next key becomes current, the current key is retired (still \
        published at /jwks.json until every token it signed has expired: \
        max_ttl plus 60 s), and a new next key is generated (of the current \
        key's algorithm) or taken from --new-key and written 0600 into \
        key_dir. The first rotation of a service only adds a next key: a key \
        is published before it signs. A running service picks the change up \
        within a second.

        Examples:
          modelsec serve rotate-key --config service.yaml
          modelsec serve rotate-key --config service.yaml --new-key next.pem --json
        """
    )

    @Option(help: ArgumentHelp("The service configuration (YAML).", valueName: "FILE"))
    var config: String

    @Option(name: .customLong("new-key"),
            help: ArgumentHelp("The next key (PKCS#8 PEM, ed25519 or p256), copied into key_dir; default: a new key.", valueName: "FILE"))
    var newKey: String?

    @OptionGroup var json: JSONOption

    @OptionGroup var keyPermissions: KeyPermissionOptions

    /// The passphrase of an encrypted `signing_key`.
    @OptionGroup var passphrase: PassphraseOptions

    @OptionGroup var storeOptions: StoreOptions

    /// The --json result.
    struct Result: Encodable {
        let promoted: Bool
        let current: String
        let next: String
        let retired: [String]
        let purged: [String]
        let keyFile: String
    }

    /// Opens a recorded key for the server: a `pkcs11:` URI in its token, or a
    /// key file with its permissions checked as `signing_key` is checked
    /// (`passphrase` opens the encrypted ones: the configured `signing_key`,
    /// which stays recorded after the first rotation, and the keys
    /// `rotate-key` wrote with the same passphrase).
    ///
    /// Only the configured `signing_key` and files directly in `key_dir` are
    /// opened: the store (shared over the network with PostgreSQL) names
    /// the paths, and must not be able to make a replica read another file
    /// or load a PKCS#11 module of its choosing.
    static func loader(permissions: KeyPermissionOptions, passphrase: PassphraseSource?,
                       settings: ServiceConfig) throws -> @Sendable (String) throws -> any Signer {
        let strict = try permissions.isStrict
        let configured = settings.signingKey, directory = settings.keyDirectory
        return { path in
            guard isRecordable(path, configuredKey: configured, keyDirectory: directory) else {
                throw TokenServiceError.signingKeys(reason: "the store names \(path), which is neither signing_key nor a file in key_dir; it is not opened")
            }
            if PKCS11URI.isPKCS11URI(path) { return try PKCS11SigningKey(uri: PKCS11URI(parsing: path)) }
            if strict {
                try KeyFile.requirePrivatePermissions(path)
            } else if let warning = KeyFile.permissionWarning(path) {
                CLI.warn(warning)
            }
            return try KeyFile.loadSigningKey(path, passphrase: passphrase)
        }
    }

    /// Whether a signing-key path the store records may be opened: the
    /// configured `signing_key` (exact bytes), or a file directly in
    /// `key_dir` named without `..` or other detours.
    static func isRecordable(_ path: String, configuredKey: String, keyDirectory: String) -> Bool {
        if Array(path.utf8) == Array(configuredKey.utf8) { return true }
        if PKCS11URI.isPKCS11URI(path) { return false }
        let directory = URL(fileURLWithPath: keyDirectory).standardizedFileURL.path
        let file = URL(fileURLWithPath: path).standardizedFileURL
        return Array(file.path.utf8) == Array(path.utf8) && Array(file.deletingLastPathComponent().path.utf8) == Array(directory.utf8)
    }

    func run() throws {
        let settings = try ServiceConfig.load(config)
        let now = Int64(Date().timeIntervalSince1970)
        let store = try ServeStore.open(settings, options: storeOptions)
        let recorded = try ServeStore.wait { try await store.signingKeys() }
        let loader = try Self.loader(permissions: keyPermissions, passphrase: passphrase.source, settings: settings)
        let currentAlgorithm: KeyAlgorithm
        let initial: SigningKeyRecord
        if let current = recorded.first(where: { $0.role == .current }) {
            currentAlgorithm = try loader(current.path).algorithm
            initial = current
        } else {
            let key = try CLI.loadSigner(settings.signingKey, option: "signing_key", passphrase: passphrase.source, permissions: keyPermissions)
            currentAlgorithm = key.algorithm
            initial = SigningKeyRecord(keyID: key.publicKey.keyID, path: settings.signingKey, role: .current, createdAt: now)
        }
        let next: PrivateKey
        if let newKey {
            switch try CLI.loadSigningKey(newKey, option: "--new-key", passphrase: nil, permissions: keyPermissions) {
            case let .ed25519(key): next = .ed25519(key)
            case let .ecdsa(key): next = .ecdsa(key)
            }
        } else {
            // A key kept in a token is not followed by a generated file key
            // without the operator saying so.
            guard !PKCS11URI.isPKCS11URI(initial.path) else {
                throw ValidationError("""
                    The current signing key is in a PKCS#11 token; rotate-key would generate the next key as a \
                    file. Give the next key with --new-key (a key file you accept to use), or keep rotating in the token.
                    """)
            }
            next = PrivateKey.generate(currentAlgorithm)
        }
        guard next.algorithm == .ed25519 || next.algorithm == .p256 else {
            throw ValidationError("--new-key must be an ed25519 or p256 key (tokens are signed EdDSA or ES256).")
        }
        let keyID = next.publicKey.keyID
        let keyFile = URL(fileURLWithPath: settings.keyDirectory).appendingPathComponent(keyID + ".pem").path
        let outcome = try SigningKeyRotation.rotate(
            recorded, initial: initial, newNext: SigningKeyRecord(keyID: keyID, path: keyFile, role: .next, createdAt: now),
            maximumTTL: settings.maximumTTL.seconds, now: now)
        // The key that becomes current must open, as the server (same config,
        // same permission rules) will open it: otherwise the store would name
        // a current key the running service cannot load, and it would go on
        // signing with the retired one.
        if let promoted = outcome.records.first(where: { $0.role == .current }), promoted.keyID != initial.keyID {
            let key = try loader(promoted.path)
            guard Array(key.publicKey.keyID.utf8) == Array(promoted.keyID.utf8) else {
                throw TokenServiceError.signingKeys(reason: "\(promoted.path) does not hold key \(promoted.keyID)")
            }
        }
        do {
            try FileManager.default.createDirectory(atPath: settings.keyDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw TokenServiceError.unusableFile(file: settings.keyDirectory, reason: "the key directory could not be created (\(error))")
        }
        // With a passphrase (the issuer key's), the new key is written
        // encrypted with it, as the configured key is: key_dir holds no
        // plain key next to an encrypted one.
        try KeyFile.write(next, to: keyFile, passphrase: try passphrase.source?.read())
        let records = outcome.records
        do { try ServeStore.wait { try await store.replaceSigningKeys(records) } } catch {
            unlink(keyFile)
            throw error
        }
        // Keys this command wrote (in key_dir) are deleted once unpublished;
        // the configured signing_key is left to its owner.
        let directory = URL(fileURLWithPath: settings.keyDirectory).standardizedFileURL.path + "/"
        let configured = URL(fileURLWithPath: settings.signingKey).standardizedFileURL.path
        for old in outcome.purged {
            let path = URL(fileURLWithPath: old.path).standardizedFileURL.path
            if path.hasPrefix(directory), Array(path.utf8) != Array(configured.utf8) {   // never the configured signing_key
                unlink(old.path)
            } else {
                CLI.info("\(old.path) (key \(old.keyID)) is no longer published and may be deleted")
            }
        }
        let current = outcome.records.first { $0.role == .current }?.keyID ?? ""
        let retired = outcome.records.filter { $0.role == .retired }.map(\.keyID)
        if json.isOn {
            try CLI.printResult(Result(promoted: outcome.promoted, current: current, next: keyID, retired: retired,
                                       purged: outcome.purged.map(\.keyID), keyFile: keyFile))
        } else {
            print("current: \(current)")
            print("next:    \(keyID) (\(keyFile))")
            for kid in retired { print("retired: \(kid)") }
            if !outcome.promoted {
                CLI.info("no key was promoted (there was no next key); the new key is published as next and becomes current at the next rotation")
            }
        }
    }
}
