import Foundation

/// The asymmetric key algorithms modelsec supports.
public enum KeyAlgorithm: String, CaseIterable, Sendable, Codable {
    /// Ed25519 signatures (the default signing algorithm).
    case ed25519
    /// ECDSA over P-256 with SHA-256.
    case p256
    /// X25519 key agreement (encryption recipients).
    case x25519

    /// True for the signature algorithms.
    public var canSign: Bool { self != .x25519 }
}

/// A public key of any supported algorithm.
public enum PublicKey: Sendable {
    case ed25519(Ed25519.PublicKey)
    case p256(P256.Signing.PublicKey)
    case x25519(X25519.PublicKey)

    /// The key's algorithm.
    public var algorithm: KeyAlgorithm {
        switch self {
        case .ed25519: return .ed25519
        case .p256: return .p256
        case .x25519: return .x25519
        }
    }

    /// Verifies a signature: raw 64 bytes for Ed25519, DER for P-256. Always
    /// false for an X25519 key, which cannot sign.
    public func isValidSignature<S: ContiguousBytes, M: ContiguousBytes>(_ signature: S, for message: M) -> Bool {
        switch self {
        case let .ed25519(key): return key.isValidSignature(signature, for: message)
        case let .p256(key): return key.isValidSignature(signature, for: message)
        case .x25519: return false
        }
    }
}

/// A private key of any supported asymmetric algorithm.
public enum PrivateKey: Sendable {
    case ed25519(Ed25519.PrivateKey)
    case p256(P256.Signing.PrivateKey)
    case x25519(X25519.PrivateKey)

    /// A new random key of the given algorithm.
    public static func generate(_ algorithm: KeyAlgorithm) -> PrivateKey {
        switch algorithm {
        case .ed25519: return .ed25519(Ed25519.PrivateKey())
        case .p256: return .p256(P256.Signing.PrivateKey())
        case .x25519: return .x25519(X25519.PrivateKey())
        }
    }

    /// The key's algorithm.
    public var algorithm: KeyAlgorithm {
        switch self {
        case .ed25519: return .ed25519
        case .p256: return .p256
        case .x25519: return .x25519
        }
    }

    /// The matching public key.
    public var publicKey: PublicKey {
        switch self {
        case let .ed25519(key): return .ed25519(key.publicKey)
        case let .p256(key): return .p256(key.publicKey)
        case let .x25519(key): return .x25519(key.publicKey)
        }
    }

    /// This key as a signing key, or nil for X25519.
    public var signingKey: SigningPrivateKey? {
        switch self {
        case let .ed25519(key): return .ed25519(key)
        case let .p256(key): return .p256(key)
        case .x25519: return nil
        }
    }
}

/// A private key that can sign: Ed25519 or ECDSA P-256.
public enum SigningPrivateKey: Sendable {
    case ed25519(Ed25519.PrivateKey)
    case p256(P256.Signing.PrivateKey)

    /// The key's algorithm.
    public var algorithm: KeyAlgorithm {
        switch self {
        case .ed25519: return .ed25519
        case .p256: return .p256
        }
    }

    /// The matching public key.
    public var publicKey: PublicKey {
        switch self {
        case let .ed25519(key): return .ed25519(key.publicKey)
        case let .p256(key): return .p256(key.publicKey)
        }
    }

    /// Signs `message`: a 64-byte signature for Ed25519, DER for P-256.
    public func signature<M: ContiguousBytes>(for message: M) throws -> [UInt8] {
        switch self {
        case let .ed25519(key): return key.signature(for: message)
        case let .p256(key): return try key.signature(for: message)
        }
    }
}
