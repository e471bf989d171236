import ModelSecCrypto
import ModelSecIO

/// A key file could not be used: ``path`` names the file, ``problem`` says
/// what is wrong with it as data. Every key problem is unusable input.
public struct KeyFileError: FileReasonError, Equatable {
    /// What a key file holds, as the errors name it.
    public enum Role: String, Sendable, Equatable {
        /// A private key of a key pair.
        case privateKey = "a private key"
        /// A public key.
        case publicKey = "a public key"
        /// An `aes256` symmetric key.
        case symmetricKey = "an aes256 key"
    }

    /// What is wrong with a key file.
    public enum Problem: Sendable, Equatable {
        /// The text could not be decoded as a key.
        case undecodable(KeyDecodingError)
        /// The crypto backend refused the key material.
        case unusableKeyMaterial(CryptoBackendError)
        /// The file is not text (a DER key, or not a key at all).
        case binary
        /// The file holds `actual` where `expected` is needed.
        case wrongRole(expected: Role, actual: Role)
        /// The key's algorithm cannot sign (X25519).
        case cannotSign(KeyAlgorithm)
        /// A secret key file the group or others can access (`mode`: its permission bits).
        case accessibleByOthers(mode: UInt32)
        /// A private key found in a directory of trusted public keys.
        case privateKeyAmongTrustedKeys
        /// The environment variable meant to hold a passphrase is unset or empty.
        case passphraseVariableUnset
        /// A passphrase was given for an `aes256` key, which is never encrypted.
        case passphraseForSymmetricKey
        /// The key is `actual`, but only `expected` is used here (signed notes are Ed25519 only).
        case wrongAlgorithm(expected: KeyAlgorithm, actual: KeyAlgorithm)
    }

    /// The key file (`$NAME` for an environment variable).
    public let file: String
    /// What is wrong with it.
    public let problem: Problem

    /// An error about the key file `path`.
    public init(path: String, problem: Problem) {
        self.file = path
        self.problem = problem
    }

    /// Every key problem is unusable input (exit 2).
    public var category: FailureCategory { .invalidInput }

    /// `key.…`, one per problem (decoding problems keep their own codes).
    public var code: String {
        switch problem {
        case let .undecodable(error): return error.code
        case .unusableKeyMaterial: return "key.unusable-material"
        case .binary: return "key.binary-file"
        case let .wrongRole(expected, _):
            switch expected {
            case .privateKey: return "key.private-key-needed"
            case .publicKey: return "key.public-key-needed"
            case .symmetricKey: return "key.symmetric-key-needed"
            }
        case .cannotSign: return "key.cannot-sign"
        case .accessibleByOthers: return "key.permissions-too-open"
        case .privateKeyAmongTrustedKeys: return "key.private-key-among-trusted-keys"
        case .passphraseVariableUnset: return "key.passphrase-variable-unset"
        case .passphraseForSymmetricKey: return "key.passphrase-for-symmetric-key"
        case .wrongAlgorithm: return "key.wrong-algorithm"
        }
    }

    /// What is wrong, for a person (without the path).
    public var reason: String {
        switch problem {
        case let .undecodable(error): return error.description
        case let .unusableKeyMaterial(error): return error.description
        case .binary: return "not a PEM key file: the file is binary, not text (DER keys: convert with openssl pkey -outform PEM)"
        case let .wrongRole(expected, actual): return "is \(actual.rawValue); \(expected.rawValue) is needed here"
        case let .cannotSign(algorithm): return "is \(Self.withArticle(algorithm)) key, which cannot sign (use ed25519, p256, p384 or p521)"
        case let .accessibleByOthers(mode):
            return "refusing a private key that is accessible by others (mode \(String(mode, radix: 8))); run: chmod 600 \(file)"
        case .privateKeyAmongTrustedKeys: return "a private key in the trusted-keys directory; keep only public keys there"
        case .passphraseVariableUnset: return "the environment variable is not set or empty"
        case .passphraseForSymmetricKey: return "aes256 key files cannot be passphrase-encrypted; keep them in a secret store"
        case let .wrongAlgorithm(expected, actual):
            return "is \(Self.withArticle(actual)) key; only \(expected.rawValue) keys are used here"
        }
    }

    /// "an ed25519", "a p256": the algorithm's name with its article.
    static func withArticle(_ algorithm: KeyAlgorithm) -> String {
        let name = algorithm.rawValue
        return ("aeiox".contains(name.first ?? "p") ? "an " : "a ") + name
    }
}
