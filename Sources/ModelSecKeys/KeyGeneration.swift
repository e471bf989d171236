import Foundation
import ModelSecCrypto
import ModelSecIO

/// The files `modelsec keygen` wrote.
public struct GeneratedKey: Codable, Sendable, Equatable {
    /// The key type.
    public var type: KeyType
    /// The key id.
    public var keyID: String
    /// The private (or symmetric) key file, mode 0600.
    public var privateKeyPath: String
    /// The public key file (`PATH.pub`), for key pairs.
    public var publicKeyPath: String?
    /// Whether the private key is passphrase-encrypted.
    public var encrypted: Bool

    enum CodingKeys: String, CodingKey {
        case type, encrypted
        case keyID = "key_id"
        case privateKeyPath = "private_key"
        case publicKeyPath = "public_key"
    }
}

/// Making new keys and writing them to disk.
public enum KeyGeneration {
    /// Generates a key of `type`, writes the private key to `path` (0600) and,
    /// for key pairs, the public key to `path.pub`. Refuses to replace existing
    /// files unless `overwrite`. `passphrase` encrypts the private key
    /// (not supported for `aes256`, which is meant for a secret store).
    public static func generate(type: KeyType, to path: String, passphrase: PassphraseSource? = nil, overwrite: Bool = false) throws -> GeneratedKey {
        let publicPath = path + ".pub"
        if !overwrite {
            for p in type == .aes256 ? [path] : [path, publicPath] where FileIO.exists(p) {
                throw OutputExistsError(path: p)
            }
        }
        guard let algorithm = type.algorithm else {
            if passphrase != nil {
                throw KeyFileError(path: path, problem: .passphraseForSymmetricKey)
            }
            let key = SecretKey(randomByteCount: 32)
            try KeyFile.write(key, to: path, overwrite: overwrite)
            return GeneratedKey(type: type, keyID: SymmetricKeyFile.keyID(of: key), privateKeyPath: path, publicKeyPath: nil, encrypted: false)
        }
        let secret = try passphrase?.read()
        let key = PrivateKey.generate(algorithm)
        try KeyFile.write(key, to: path, passphrase: secret, overwrite: overwrite)
        try KeyFile.write(key.publicKey, to: publicPath, overwrite: overwrite)
        return GeneratedKey(type: type, keyID: key.publicKey.keyID, privateKeyPath: path, publicKeyPath: publicPath, encrypted: secret != nil)
    }
}
