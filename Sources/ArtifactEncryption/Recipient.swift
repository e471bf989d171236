import ModelSecCrypto
import ModelSecKeys

/// Someone a file is encrypted to: wraps the file key in one header stanza.
/// Every recipient of a file wraps the same file key.
///
/// As in age, recipients are a protocol: the built-in ones are
/// ``X25519Recipient``, ``SymmetricKeyRecipient`` and ``PassphraseRecipient``
/// (also reachable as `.x25519(key)`, `.symmetricKey(key)` and
/// `.passphrase(secret)`); a key held elsewhere (an HSM, a KMS) conforms by
/// writing one of the format's stanza types.
public protocol Recipient: Sendable {
    /// The stanza type this recipient writes.
    var stanzaKind: Stanza.Kind { get }
    /// Wraps `fileKey` in a new stanza of ``stanzaKind``.
    func wrap(_ fileKey: SecretKey) throws -> Stanza
}

/// Something that can open a file: the secret matching a ``Recipient``.
/// The built-in ones are ``X25519Identity``, ``SymmetricKeyIdentity`` and
/// ``PassphraseIdentity`` (also `.x25519(key)`, `.symmetricKey(key)`,
/// `.passphrase(secret)`).
public protocol Identity: Sendable {
    /// The stanza type this identity opens.
    var stanzaKind: Stanza.Kind { get }
    /// The file key from `stanza` (always of ``stanzaKind``) when it was made
    /// for this identity; nil when it was made for someone else.
    func unwrap(_ stanza: Stanza) throws -> SecretKey?
}

/// An X25519 public key (ephemeral-static ECDH, as age's X25519 stanza).
public struct X25519Recipient: Recipient {
    /// The recipient's public key.
    public let publicKey: X25519.PublicKey

    /// Encrypts to `publicKey`.
    public init(_ publicKey: X25519.PublicKey) { self.publicKey = publicKey }

    /// Encrypts to the X25519 public key in an SPKI PEM file.
    public init(publicKeyFile path: String) throws {
        switch try KeyFile.loadPublicKey(path) {
        case let .x25519(key): publicKey = key
        case let other: throw EncryptionError(.notX25519(other.algorithm, publicKey: true), path: path)
        }
    }

    public var stanzaKind: Stanza.Kind { .x25519 }
    public func wrap(_ fileKey: SecretKey) throws -> Stanza { try X25519Stanza.wrap(fileKey, to: publicKey) }
}

/// A 256-bit symmetric key, e.g. an `aes256` key file kept in a KMS or secret store.
public struct SymmetricKeyRecipient: Recipient {
    let key: SecretKey

    /// Encrypts to `key` (32 bytes).
    public init(_ key: SecretKey) { self.key = key }

    /// Encrypts to the key in an `aes256` key file.
    public init(keyFile path: String) throws { key = try KeyFile.loadSymmetricKey(path) }

    public var stanzaKind: Stanza.Kind { .symmetricKey }
    public func wrap(_ fileKey: SecretKey) throws -> Stanza { try SymmetricKeyStanza.wrap(fileKey, with: key) }
}

/// A passphrase, stretched with Argon2id; must be the file's only recipient.
public struct PassphraseRecipient: Recipient {
    /// Argon2id cost used for new passphrase stanzas: 3 passes over 256 MiB
    /// (libsodium's "moderate" profile).
    public static let defaultArgon2Parameters = Argon2id.Parameters.moderate

    let passphrase: SecretBytes
    /// The Argon2id cost.
    public let parameters: Argon2id.Parameters

    /// Encrypts with `passphrase` at cost `parameters`.
    public init(_ passphrase: SecretBytes, parameters: Argon2id.Parameters = PassphraseRecipient.defaultArgon2Parameters) {
        self.passphrase = passphrase
        self.parameters = parameters
    }

    public var stanzaKind: Stanza.Kind { .passphrase }
    public func wrap(_ fileKey: SecretKey) throws -> Stanza {
        try PassphraseStanza.wrap(fileKey, passphrase: passphrase, parameters: parameters)
    }
}

/// An X25519 private key.
public struct X25519Identity: Identity {
    let privateKey: X25519.PrivateKey

    /// Opens files encrypted to `privateKey`'s public key.
    public init(_ privateKey: X25519.PrivateKey) { self.privateKey = privateKey }

    /// The X25519 private key in a PKCS#8 PEM file (encrypted keys need `passphrase`).
    public init(privateKeyFile path: String, passphrase: PassphraseSource? = nil) throws {
        switch try KeyFile.loadPrivateKey(path, passphrase: passphrase) {
        case let .x25519(key): privateKey = key
        case let other: throw EncryptionError(.notX25519(other.algorithm, publicKey: false), path: path)
        }
    }

    public var stanzaKind: Stanza.Kind { .x25519 }
    public func unwrap(_ stanza: Stanza) throws -> SecretKey? { try X25519Stanza.unwrap(stanza, with: privateKey) }
}

/// The 256-bit symmetric key a file was encrypted to.
public struct SymmetricKeyIdentity: Identity {
    let key: SecretKey

    /// Opens files encrypted to `key`.
    public init(_ key: SecretKey) { self.key = key }

    /// The key in an `aes256` key file.
    public init(keyFile path: String) throws { key = try KeyFile.loadSymmetricKey(path) }

    public var stanzaKind: Stanza.Kind { .symmetricKey }
    public func unwrap(_ stanza: Stanza) throws -> SecretKey? { try SymmetricKeyStanza.unwrap(stanza, with: key) }
}

/// The passphrase a file was encrypted with.
public struct PassphraseIdentity: Identity {
    let passphrase: SecretBytes

    /// Opens files encrypted with `passphrase`.
    public init(_ passphrase: SecretBytes) { self.passphrase = passphrase }

    public var stanzaKind: Stanza.Kind { .passphrase }
    public func unwrap(_ stanza: Stanza) throws -> SecretKey? { try PassphraseStanza.unwrap(stanza, passphrase: passphrase) }
}

extension Recipient where Self == X25519Recipient {
    /// An X25519 public key as a recipient.
    public static func x25519(_ key: X25519.PublicKey) -> X25519Recipient { X25519Recipient(key) }
}

extension Recipient where Self == SymmetricKeyRecipient {
    /// A 256-bit symmetric key as a recipient.
    public static func symmetricKey(_ key: SecretKey) -> SymmetricKeyRecipient { SymmetricKeyRecipient(key) }
}

extension Recipient where Self == PassphraseRecipient {
    /// A passphrase as the only recipient.
    public static func passphrase(_ passphrase: SecretBytes,
                                  _ parameters: Argon2id.Parameters = PassphraseRecipient.defaultArgon2Parameters) -> PassphraseRecipient {
        PassphraseRecipient(passphrase, parameters: parameters)
    }
}

extension Identity where Self == X25519Identity {
    /// An X25519 private key as an identity.
    public static func x25519(_ key: X25519.PrivateKey) -> X25519Identity { X25519Identity(key) }
}

extension Identity where Self == SymmetricKeyIdentity {
    /// A 256-bit symmetric key as an identity.
    public static func symmetricKey(_ key: SecretKey) -> SymmetricKeyIdentity { SymmetricKeyIdentity(key) }
}

extension Identity where Self == PassphraseIdentity {
    /// A passphrase as an identity.
    public static func passphrase(_ passphrase: SecretBytes) -> PassphraseIdentity { PassphraseIdentity(passphrase) }
}
