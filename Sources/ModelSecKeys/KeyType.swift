import ModelSecCrypto

/// The kinds of key `modelsec keygen` makes.
public enum KeyType: String, CaseIterable, Sendable, Codable {
    /// Ed25519 signing key pair (the default for signatures and tokens).
    case ed25519
    /// ECDSA P-256 signing key pair (interoperates with the OpenSSF model-signing tool).
    case p256
    /// ECDSA P-384 signing key pair (SHA-384; in the OMS v1.0 algorithm registry).
    case p384
    /// ECDSA P-521 signing key pair (SHA-512; in the OMS v1.0 algorithm registry).
    case p521
    /// X25519 key pair for encryption recipients.
    case x25519
    /// A 256-bit symmetric key for encryption (kept in a KMS or secret store).
    case aes256

    /// The asymmetric algorithm, or nil for `aes256`.
    public var algorithm: KeyAlgorithm? {
        switch self {
        case .ed25519: return .ed25519
        case .p256: return .p256
        case .p384: return .p384
        case .p521: return .p521
        case .x25519: return .x25519
        case .aes256: return nil
        }
    }

    init(_ algorithm: KeyAlgorithm) {
        switch algorithm {
        case .ed25519: self = .ed25519
        case .p256: self = .p256
        case .p384: self = .p384
        case .p521: self = .p521
        case .x25519: self = .x25519
        }
    }
}
