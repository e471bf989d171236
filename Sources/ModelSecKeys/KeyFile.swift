import Foundation
import ModelSecCrypto
import ModelSecIO

/// What a key file holds.
public enum KeyMaterial: Sendable {
    case privateKey(PrivateKey)
    case publicKey(PublicKey)
    case symmetric(SecretKey)

    /// The key's type.
    public var type: KeyType {
        switch self {
        case let .privateKey(key): return KeyType(key.algorithm)
        case let .publicKey(key): return KeyType(key.algorithm)
        case .symmetric: return .aes256
        }
    }

    /// The key id: for key pairs the SHA-256 of the public key's SPKI PEM; for
    /// `aes256` keys an HMAC-derived fingerprint (see ``SymmetricKeyFile/keyID(of:)``).
    public var keyID: String {
        switch self {
        case let .privateKey(key): return key.publicKey.keyID
        case let .publicKey(key): return key.keyID
        case let .symmetric(key): return SymmetricKeyFile.keyID(of: key)
        }
    }
}

/// Reading and writing key files: PKCS#8 PEM private keys (optionally
/// encrypted), SPKI PEM public keys, and modelsec's `aes256` key files.
public enum KeyFile {
    /// Key files are small; refuse anything larger before reading it.
    static let sizeLimit = 64 * 1024

    /// Loads whatever key `path` holds. An encrypted private key needs `passphrase`.
    public static func load(_ path: String, passphrase: PassphraseSource? = nil) throws -> KeyMaterial {
        let text = try readKeyText(path)
        let block: PEMBlock
        do { block = try PEMBlock(parsing: text) } catch let e as KeyDecodingError { throw KeyFileError(path: path, problem: .undecodable(e)) }
        do {
            // The label as exact bytes: `PUBLIC \u{212A}EY` (KELVIN SIGN) is not `PUBLIC KEY` to OpenSSL.
            switch ExactString(block.label) {
            case "PUBLIC KEY":
                return .publicKey(try PublicKey(pem: text))
            case ExactString(SymmetricKeyFile.pemLabel):
                return .symmetric(try SymmetricKeyFile.decode(block))
            case "ENCRYPTED PRIVATE KEY":
                guard let passphrase else { throw KeyDecodingError.passphraseRequired }
                return .privateKey(try PrivateKey(pem: text, passphrase: try passphrase.read()))
            default:
                return .privateKey(try PrivateKey(pem: text))
            }
        } catch let e as KeyDecodingError {
            throw KeyFileError(path: path, problem: .undecodable(e))
        } catch let e as CryptoBackendError {
            throw KeyFileError(path: path, problem: .unusableKeyMaterial(e))
        }
    }

    /// Loads a private key (Ed25519, P-256 or X25519).
    public static func loadPrivateKey(_ path: String, passphrase: PassphraseSource? = nil) throws -> PrivateKey {
        switch try load(path, passphrase: passphrase) {
        case let .privateKey(key): return key
        case .publicKey: throw KeyFileError(path: path, problem: .wrongRole(expected: .privateKey, actual: .publicKey))
        case .symmetric: throw KeyFileError(path: path, problem: .wrongRole(expected: .privateKey, actual: .symmetricKey))
        }
    }

    /// Loads a private key that can sign (Ed25519 or P-256).
    public static func loadSigningKey(_ path: String, passphrase: PassphraseSource? = nil) throws -> SigningPrivateKey {
        let key = try loadPrivateKey(path, passphrase: passphrase)
        guard let signing = key.signingKey else {
            throw KeyFileError(path: path, problem: .cannotSign(key.algorithm))
        }
        return signing
    }

    /// Loads a public key from an SPKI PEM file.
    public static func loadPublicKey(_ path: String) throws -> PublicKey {
        switch try load(path) {
        case let .publicKey(key): return key
        case .privateKey: throw KeyFileError(path: path, problem: .wrongRole(expected: .publicKey, actual: .privateKey))
        case .symmetric: throw KeyFileError(path: path, problem: .wrongRole(expected: .publicKey, actual: .symmetricKey))
        }
    }

    /// Loads an `aes256` key file.
    public static func loadSymmetricKey(_ path: String) throws -> SecretKey {
        switch try load(path) {
        case let .symmetric(key): return key
        case .privateKey: throw KeyFileError(path: path, problem: .wrongRole(expected: .symmetricKey, actual: .privateKey))
        case .publicKey: throw KeyFileError(path: path, problem: .wrongRole(expected: .symmetricKey, actual: .publicKey))
        }
    }

    /// Whether `path` holds secret key material: a PEM block whose label is
    /// a private key's (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, `EC PRIVATE
    /// KEY`, ...) or an `aes256` key's. False for anything else (a public key,
    /// a certificate, a vkey, a JWK Set, text, an unreadable file): reading
    /// it as a key fails with its own error, and a permission warning about
    /// it would be wrong. Only the PEM label is looked at, never the key.
    public static func holdsSecretKeyMaterial(_ path: String) -> Bool {
        guard let text = try? readKeyText(path), let block = try? PEMBlock(parsing: text) else { return false }
        let label = Array(block.label.utf8)
        return label == Array(SymmetricKeyFile.pemLabel.utf8)
            || label.count >= 11 && Array(label.suffix(11)) == Array("PRIVATE KEY".utf8)
    }

    /// A warning when a secret key file (private or `aes256`) can be read by
    /// the group or others, as ssh gives; nil when the permissions are private
    /// or the path is not a regular file (reading it fails with its own error).
    public static func permissionWarning(_ path: String) -> String? {
        guard let mode = exposedMode(path) else { return nil }
        return "\(path): \(secretKind(path)) is accessible by others (mode \(String(mode, radix: 8))); run: chmod 600 \(path)"
    }

    /// "aes256 key" for an `aes256` key file, "private key" otherwise, for
    /// messages about the file (only the PEM label is looked at).
    static func secretKind(_ path: String) -> String {
        guard let text = try? readKeyText(path), let block = try? PEMBlock(parsing: text),
              Array(block.label.utf8) == Array(SymmetricKeyFile.pemLabel.utf8) else { return "private key" }
        return "aes256 key"
    }

    /// Refuses a secret key file that the group or others can read (what ssh
    /// does for identity files). Throws ``KeyFileError`` (exit 2) naming the
    /// file and the fix; does nothing when the permissions are private.
    public static func requirePrivatePermissions(_ path: String) throws {
        guard let mode = exposedMode(path) else { return }
        throw KeyFileError(path: path, problem: .accessibleByOthers(mode: UInt32(mode)))
    }

    /// The permission bits of a regular file at `path` when group or others
    /// have any access to it, else nil.
    static func exposedMode(_ path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let mode = st.st_mode & 0o7777
        return mode & 0o077 != 0 ? mode : nil
    }

    /// Writes a private key as PKCS#8 PEM with mode 0600, encrypted when a
    /// passphrase is given.
    public static func write(_ key: PrivateKey, to path: String, passphrase: SecretBytes? = nil, overwrite: Bool = false) throws {
        let pem = try key.pkcs8PEM(passphrase: passphrase)
        try pem.withUnsafeBytes { try AtomicFileWriter.write($0, to: path, mode: 0o600, overwrite: overwrite) }
    }

    /// Writes a public key as SPKI PEM with mode 0644.
    public static func write(_ key: PublicKey, to path: String, overwrite: Bool = false) throws {
        try AtomicFileWriter.write(Array(key.pemRepresentation.utf8), to: path, mode: 0o644, overwrite: overwrite)
    }

    /// Writes an `aes256` key file with mode 0600.
    public static func write(_ key: SecretKey, to path: String, overwrite: Bool = false) throws {
        let text = SymmetricKeyFile.encode(key)
        try text.withUnsafeBytes { try AtomicFileWriter.write($0, to: path, mode: 0o600, overwrite: overwrite) }
    }

    static func readKeyText(_ path: String) throws -> String {
        var bytes = try FileIO.readFile(path, limit: sizeLimit)
        defer { SecureZero.zero(&bytes) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeyFileError(path: path, problem: .binary)
        }
        return text
    }
}
