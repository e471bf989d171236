/// Something that signs messages with a private key it need not hand out: a
/// key loaded from a file today (``SigningPrivateKey``), a PKCS#11 token or a
/// remote signing service later. Model signatures, release signatures and
/// access tokens are all made through this one protocol.
public protocol Signer: Sendable {
    /// The public key that verifies this signer's signatures. Its algorithm
    /// (Ed25519 or ECDSA P-256/P-384/P-521) fixes the signature format.
    var publicKey: PublicKey { get }

    /// Signs `message` (the signer hashes it as the algorithm requires):
    /// the 64-byte signature for Ed25519, a DER `ECDSA-Sig-Value` for ECDSA (hashed with the curve's SHA-2).
    func signature(for message: [UInt8]) throws -> [UInt8]
}

extension Signer {
    /// The signer's algorithm.
    public var algorithm: KeyAlgorithm { publicKey.algorithm }
}

extension SigningPrivateKey: Signer {
    /// Signs `message` with the key in memory.
    public func signature(for message: [UInt8]) throws -> [UInt8] {
        switch self {
        case let .ed25519(key): return key.signature(for: message)
        case let .ecdsa(key): return try key.signature(for: message)
        }
    }
}
