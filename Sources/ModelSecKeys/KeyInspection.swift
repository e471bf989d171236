import Foundation
import ModelSecCrypto
import ModelSecIO

/// What `modelsec key inspect` reports about a key file. Never a secret.
public struct KeyInfo: Codable, Sendable, Equatable {
    /// The file inspected.
    public var path: String
    /// `ed25519`, `p256`, `x25519`, `aes256`, or nil when an encrypted key's
    /// type cannot be told without its passphrase.
    public var type: KeyType?
    /// `private`, `public` or `symmetric`.
    public var kind: String
    /// Whether the private key is passphrase-encrypted.
    public var encrypted: Bool
    /// The key id, when it can be computed (see ``KeyMaterial/keyID``).
    public var keyID: String?
    /// The SPKI PEM of the public key, for key pairs.
    public var publicKeyPEM: String?

    enum CodingKeys: String, CodingKey {
        case path, type, kind, encrypted
        case keyID = "key_id"
        case publicKeyPEM = "public_key_pem"
    }
}

extension KeyFile {
    /// Describes the key at `path`. An encrypted private key is decrypted when
    /// a passphrase is given; otherwise its id is taken from `PATH.pub` if that
    /// file holds a public key.
    public static func inspect(_ path: String, passphrase: PassphraseSource? = nil) throws -> KeyInfo {
        let text = try readKeyText(path)
        let block: PEMBlock
        do { block = try PEMBlock(parsing: text) } catch let e as KeyDecodingError { throw KeyFileError(path: path, problem: .undecodable(e)) }
        let encrypted = ExactString(block.label) == "ENCRYPTED PRIVATE KEY"
        if encrypted, passphrase == nil {
            var info = KeyInfo(path: path, type: nil, kind: "private", encrypted: true, keyID: nil, publicKeyPEM: nil)
            if case let .publicKey(pub)? = try? load(path + ".pub") {
                info.type = KeyType(pub.algorithm)
                info.keyID = pub.keyID
                info.publicKeyPEM = pub.pemRepresentation
            }
            return info
        }
        let material = try load(path, passphrase: passphrase)
        switch material {
        case let .privateKey(key):
            return KeyInfo(path: path, type: material.type, kind: "private", encrypted: encrypted,
                           keyID: material.keyID, publicKeyPEM: key.publicKey.pemRepresentation)
        case let .publicKey(key):
            return KeyInfo(path: path, type: material.type, kind: "public", encrypted: false,
                           keyID: material.keyID, publicKeyPEM: key.pemRepresentation)
        case .symmetric:
            return KeyInfo(path: path, type: .aes256, kind: "symmetric", encrypted: false, keyID: material.keyID, publicKeyPEM: nil)
        }
    }
}
