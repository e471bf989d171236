import Foundation

/// The asymmetric key algorithms modelsec supports.
public enum KeyAlgorithm: String, CaseIterable, Sendable, Codable {
    /// Ed25519 signatures (the default signing algorithm).
    case ed25519
    /// ECDSA over P-256 with SHA-256.
    case p256
    /// ECDSA over P-384 with SHA-384.
    case p384
    /// ECDSA over P-521 with SHA-512.
    case p521
    /// X25519 key agreement (encryption recipients).
    case x25519

    /// True for the signature algorithms.
    public var canSign: Bool { self != .x25519 }

    /// The ECDSA curve of an ECDSA algorithm, nil for Ed25519 and X25519.
    public var ecdsaCurve: ECDSA.Curve? {
        switch self {
        case .p256: return .p256
        case .p384: return .p384
        case .p521: return .p521
        case .ed25519, .x25519: return nil
        }
    }
}

/// A public key of any supported algorithm.
public enum PublicKey: Sendable {
    /// Ed25519.
    case ed25519(Ed25519.PublicKey)
    /// ECDSA on P-256, P-384 or P-521.
    case ecdsa(ECDSA.PublicKey)
    case x25519(X25519.PublicKey)

    /// The key's algorithm.
    public var algorithm: KeyAlgorithm {
        switch self {
        case .ed25519: return .ed25519
        case let .ecdsa(key): return key.curve.algorithm
        case .x25519: return .x25519
        }
    }

    /// Verifies a signature: raw 64 bytes for Ed25519, DER for ECDSA. Always
    /// false for an X25519 key, which cannot sign.
    public func isValidSignature<S: ContiguousBytes, M: ContiguousBytes>(_ signature: S, for message: M) -> Bool {
        switch self {
        case let .ed25519(key): return key.isValidSignature(signature, for: message)
        case let .ecdsa(key): return key.isValidSignature(signature, for: message)
        case .x25519: return false
        }
    }
}

/// A private key of any supported asymmetric algorithm.
public enum PrivateKey: Sendable {
    case ed25519(Ed25519.PrivateKey)
    /// ECDSA on P-256, P-384 or P-521.
    case ecdsa(ECDSA.PrivateKey)
    case x25519(X25519.PrivateKey)

    /// A new random key of the given algorithm.
    public static func generate(_ algorithm: KeyAlgorithm) -> PrivateKey {
        switch algorithm {
        case .ed25519: return .ed25519(Ed25519.PrivateKey())
        case .p256: return .ecdsa(ECDSA.PrivateKey(curve: .p256))
        case .p384: return .ecdsa(ECDSA.PrivateKey(curve: .p384))
        case .p521: return .ecdsa(ECDSA.PrivateKey(curve: .p521))
        case .x25519: return .x25519(X25519.PrivateKey())
        }
    }

    /// The key's algorithm.
    public var algorithm: KeyAlgorithm {
        switch self {
        case .ed25519: return .ed25519
        case let .ecdsa(key): return key.curve.algorithm
        case .x25519: return .x25519
        }
    }

    /// The matching public key.
    public var publicKey: PublicKey {
        switch self {
        case let .ed25519(key): return .ed25519(key.publicKey)
        case let .ecdsa(key): return .ecdsa(key.publicKey)
        case let .x25519(key): return .x25519(key.publicKey)
        }
    }

    /// This key as a signing key, or nil for X25519.
    public var signingKey: SigningPrivateKey? {
        switch self {
        case let .ed25519(key): return .ed25519(key)
        case let .ecdsa(key): return .ecdsa(key)
        case .x25519: return nil
        }
    }
}

/// A private key that can sign: Ed25519 or ECDSA (P-256, P-384, P-521).
public enum SigningPrivateKey: Sendable {
    case ed25519(Ed25519.PrivateKey)
    /// ECDSA on P-256, P-384 or P-521.
    case ecdsa(ECDSA.PrivateKey)

    /// The key's algorithm.
    public var algorithm: KeyAlgorithm {
        switch self {
        case .ed25519: return .ed25519
        case let .ecdsa(key): return key.curve.algorithm
        }
    }

    /// The matching public key.
    public var publicKey: PublicKey {
        switch self {
        case let .ed25519(key): return .ed25519(key.publicKey)
        case let .ecdsa(key): return .ecdsa(key.publicKey)
        }
    }

    /// Signs `message`: a 64-byte signature for Ed25519, DER for ECDSA.
    public func signature<M: ContiguousBytes>(for message: M) throws -> [UInt8] {
        switch self {
        case let .ed25519(key): return key.signature(for: message)
        case let .ecdsa(key): return try key.signature(for: message)
        }
    }
}
