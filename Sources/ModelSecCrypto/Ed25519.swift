import CSodium
import Foundation

/// Ed25519 signatures (RFC 8032), through libsodium.
public enum Ed25519 {
    /// A 32-byte Ed25519 public key.
    public struct PublicKey: Hashable, Sendable {
        /// The 32-byte encoded point.
        public let rawRepresentation: [UInt8]

        /// A key from its 32-byte encoding.
        public init(rawRepresentation: [UInt8]) throws {
            guard rawRepresentation.count == Int(crypto_sign_PUBLICKEYBYTES) else {
                throw CryptoBackendError.invalidLength(what: "Ed25519 public key", expected: Int(crypto_sign_PUBLICKEYBYTES), actual: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }

        /// True when `signature` is a valid signature of `message` by this key.
        /// libsodium rejects non-canonical `S` values and small-order keys and `R`.
        public func isValidSignature<S: ContiguousBytes, M: ContiguousBytes>(_ signature: S, for message: M) -> Bool {
            Backend.ensureInitialized()
            return signature.withUnsafeBytes { s in
                guard s.count == Int(crypto_sign_BYTES) else { return false }
                return message.withUnsafeBytes { m in
                    rawRepresentation.withUnsafeBufferPointer { pk in
                        crypto_sign_verify_detached(
                            s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                            m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer,
                            UInt64(m.count), pk.baseAddress!) == 0
                    }
                }
            }
        }
    }

    /// An Ed25519 private key: its 32-byte seed, held in locked memory.
    public struct PrivateKey: Sendable {
        /// libsodium's 64-byte secret key (seed ‖ public key).
        private let secretKey: SecretBytes
        /// The matching public key.
        public let publicKey: PublicKey

        /// A new random key.
        public init() {
            let seed = SecretBytes(randomCount: Int(crypto_sign_SEEDBYTES))
            self.init(seed: seed)
        }

        /// The key whose seed is `seed` (32 bytes, as RFC 8032 and PKCS#8 store it).
        public init(seed: SecretBytes) {
            precondition(seed.count == Int(crypto_sign_SEEDBYTES), "Ed25519 seed must be 32 bytes")
            Backend.ensureInitialized()
            var pk = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
            secretKey = SecretBytes(count: Int(crypto_sign_SECRETKEYBYTES)) { sk in
                seed.withUnsafeBytes { s in
                    _ = crypto_sign_seed_keypair(&pk, sk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                 s.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            publicKey = try! PublicKey(rawRepresentation: pk)
        }

        /// The key whose seed is `seed`; throws unless it is 32 bytes.
        public init<D: ContiguousBytes>(seedBytes: D) throws {
            let seed = seedBytes.withUnsafeBytes { SecretBytes(copying: $0) }
            guard seed.count == Int(crypto_sign_SEEDBYTES) else {
                throw CryptoBackendError.invalidLength(what: "Ed25519 private key seed", expected: Int(crypto_sign_SEEDBYTES), actual: seed.count)
            }
            self.init(seed: seed)
        }

        /// The 32-byte seed, in secret storage.
        public var seed: SecretBytes {
            secretKey.withUnsafeBytes { SecretBytes(copying: $0.prefix(Int(crypto_sign_SEEDBYTES))) }
        }

        /// The 64-byte deterministic signature of `message`.
        public func signature<M: ContiguousBytes>(for message: M) -> [UInt8] {
            var sig = [UInt8](repeating: 0, count: Int(crypto_sign_BYTES))
            message.withUnsafeBytes { m in
                secretKey.withUnsafeBytes { sk in
                    _ = crypto_sign_detached(&sig, nil,
                                             m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer,
                                             UInt64(m.count), sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            return sig
        }
    }
}

/// A valid pointer for zero-length inputs (C APIs reject NULL even with length 0).
nonisolated(unsafe) let emptyPointer: UnsafePointer<UInt8> = { // one zero byte, never written after this initializer
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UnsafePointer(p)
}()
