import CSodium
import Foundation

/// X25519 Diffie-Hellman (RFC 7748), through libsodium.
public enum X25519 {
    /// A 32-byte X25519 public key.
    public struct PublicKey: Hashable, Sendable {
        /// The 32-byte u-coordinate.
        public let rawRepresentation: [UInt8]

        /// A key from its 32 bytes.
        public init(rawRepresentation: [UInt8]) throws {
            guard rawRepresentation.count == Int(crypto_scalarmult_BYTES) else {
                throw CryptoBackendError.invalidLength(what: "X25519 public key", expected: Int(crypto_scalarmult_BYTES), actual: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }
    }

    /// A 32-byte X25519 private scalar, held in locked memory.
    public struct PrivateKey: Sendable {
        private let scalar: SecretBytes
        /// The matching public key.
        public let publicKey: PublicKey

        /// A new random key.
        public init() {
            self.init(secret: SecretBytes(randomCount: Int(crypto_scalarmult_SCALARBYTES)))
        }

        /// The key with the given 32-byte scalar.
        public init(secret: SecretBytes) {
            precondition(secret.count == Int(crypto_scalarmult_SCALARBYTES), "X25519 private key must be 32 bytes")
            Backend.ensureInitialized()
            scalar = secret
            var pk = [UInt8](repeating: 0, count: Int(crypto_scalarmult_BYTES))
            secret.withUnsafeBytes { s in
                _ = crypto_scalarmult_base(&pk, s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            publicKey = try! PublicKey(rawRepresentation: pk)
        }

        /// The key with the given scalar bytes; throws unless 32 bytes.
        public init<D: ContiguousBytes>(rawBytes: D) throws {
            let secret = rawBytes.withUnsafeBytes { SecretBytes(copying: $0) }
            guard secret.count == Int(crypto_scalarmult_SCALARBYTES) else {
                throw CryptoBackendError.invalidLength(what: "X25519 private key", expected: Int(crypto_scalarmult_SCALARBYTES), actual: secret.count)
            }
            self.init(secret: secret)
        }

        /// The scalar, in secret storage.
        public var rawSecret: SecretBytes { scalar }

        /// The shared secret with `peer`. Throws ``CryptoBackendError/lowOrderPoint``
        /// when the result is all zeros (a low-order peer key), as RFC 7748 §6.1 allows.
        public func sharedSecret(with peer: PublicKey) throws -> SecretKey {
            var failed = false
            let shared = SecretBytes(count: Int(crypto_scalarmult_BYTES)) { out in
                scalar.withUnsafeBytes { s in
                    peer.rawRepresentation.withUnsafeBufferPointer { p in
                        failed = crypto_scalarmult(out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                   s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                   p.baseAddress!) != 0
                    }
                }
            }
            if failed { throw CryptoBackendError.lowOrderPoint }
            return SecretKey(shared)
        }
    }
}
