import ModelSecCrypto
import ModelSecKeys

/// A public key a verifier trusts, with the `kid` tokens name it by.
///
/// The JWS algorithm is fixed by the key type and never taken from a token:
/// Ed25519 → `EdDSA` (RFC 8037), P-256 → `ES256` (RFC 7518).
public struct VerificationKey: Sendable {
    /// The key.
    public let publicKey: PublicKey
    /// Its `kid`.
    public let keyID: String

    /// Trusts `publicKey` under `keyID` (default: the modelsec key id, the
    /// SHA-256 of its PEM). X25519 keys cannot verify signatures and are refused.
    public init(_ publicKey: PublicKey, keyID: String? = nil) throws {
        guard publicKey.algorithm.canSign else {
            throw TokenInputError.keyCannotSign(algorithm: publicKey.algorithm, path: nil)
        }
        self.publicKey = publicKey
        self.keyID = keyID ?? publicKey.keyID
    }

    /// Loads the public key file at `path` (SPKI PEM) as a verification key
    /// under its modelsec key id; errors name `path`.
    public static func load(publicKeyFile path: String) throws -> VerificationKey {
        do { return try VerificationKey(try KeyFile.loadPublicKey(path)) } catch let error as TokenInputError {
            throw error.at(path)
        }
    }

    /// The one JWS `alg` this key verifies.
    public var algorithm: String { Self.jwsAlgorithm(for: publicKey.algorithm) }

    /// `EdDSA` for Ed25519, `ES256`/`ES384`/`ES512` for P-256/P-384/P-521 (RFC 7518 §3.1).
    static func jwsAlgorithm(for algorithm: KeyAlgorithm) -> String {
        switch algorithm {
        case .ed25519: return "EdDSA"
        case .p256: return "ES256"
        case .p384: return "ES384"
        case .p521: return "ES512"
        case .x25519: return "(none: x25519 cannot sign)"
        }
    }

    /// Checks a JWS signature. Done with ModelSecCrypto directly (libsodium
    /// Ed25519, OpenSSL ECDSA) rather than through jwt-kit: our own strict
    /// header checks have already fixed the algorithm, so all that is left is
    /// one primitive call, and this avoids jwt-kit's actor-based key
    /// collection (an async hop per token) and its lenient alg handling.
    func isValidSignature(_ signature: [UInt8], for signingInput: [UInt8]) -> Bool {
        switch publicKey {
        case let .ed25519(key): return signature.count == 64 && key.isValidSignature(signature, for: signingInput)
        case let .ecdsa(key):
            return signature.count == 2 * key.curve.scalarSize && key.isValidSignature(rawSignature: signature, for: signingInput)
        case .x25519: return false
        }
    }
}
