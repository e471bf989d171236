import ModelSecCrypto
import ModelSecKeys

/// Someone a file is encrypted to. Every recipient wraps the same file key.
public enum Recipient: Sendable {
    /// An X25519 public key (ephemeral-static ECDH, as age's X25519 stanza).
    case x25519(X25519.PublicKey)
    /// A 256-bit symmetric key, e.g. an `aes256` key file kept in a KMS or secret store.
    case symmetricKey(SymmetricKey)
    /// A passphrase, stretched with Argon2id; must be the file's only recipient.
    case passphrase(SecretBytes, Argon2id.Parameters = Recipient.defaultArgon2Parameters)

    /// Argon2id cost used for new passphrase stanzas: 3 passes over 256 MiB
    /// (libsodium's "moderate" profile).
    public static let defaultArgon2Parameters = Argon2id.Parameters.moderate

    /// The X25519 public key in an SPKI PEM file, as a recipient.
    public static func load(publicKeyFile path: String) throws -> Recipient {
        switch try KeyFile.loadPublicKey(path) {
        case let .x25519(key): return .x25519(key)
        case let other:
            throw EncryptionError(.invalidRequest, "is an \(other.algorithm.rawValue) key; encryption needs an x25519 public key (modelsec keygen --type x25519)", path: path)
        }
    }

    /// An `aes256` key file, as a recipient.
    public static func load(symmetricKeyFile path: String) throws -> Recipient {
        .symmetricKey(try KeyFile.loadSymmetricKey(path))
    }
}

/// Something that can open a file: the secret matching a ``Recipient``.
public enum Identity: Sendable {
    /// An X25519 private key.
    case x25519(X25519.PrivateKey)
    /// The 256-bit symmetric key the file was encrypted to.
    case symmetricKey(SymmetricKey)
    /// The passphrase the file was encrypted with.
    case passphrase(SecretBytes)

    /// The X25519 private key in a PKCS#8 PEM file (encrypted keys need `passphrase`).
    public static func load(privateKeyFile path: String, passphrase: PassphraseSource? = nil) throws -> Identity {
        switch try KeyFile.loadPrivateKey(path, passphrase: passphrase) {
        case let .x25519(key): return .x25519(key)
        case let other:
            throw EncryptionError(.invalidRequest, "is an \(other.algorithm.rawValue) key; decryption needs an x25519 private key", path: path)
        }
    }

    /// An `aes256` key file, as an identity.
    public static func load(symmetricKeyFile path: String) throws -> Identity {
        .symmetricKey(try KeyFile.loadSymmetricKey(path))
    }
}
