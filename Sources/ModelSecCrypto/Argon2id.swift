import CSodium
import Foundation

/// Argon2id password hashing (RFC 9106), through libsodium's `crypto_pwhash`.
public enum Argon2id {
    /// Cost parameters.
    public struct Parameters: Hashable, Sendable, Codable {
        /// Number of passes (libsodium's `opslimit`), at least 1.
        public var iterations: UInt32
        /// Memory in KiB, at least 8.
        public var memoryKiB: UInt32
        /// Lanes; libsodium supports exactly 1.
        public var parallelism: UInt32

        public init(iterations: UInt32, memoryKiB: UInt32, parallelism: UInt32 = 1) {
            self.iterations = iterations
            self.memoryKiB = memoryKiB
            self.parallelism = parallelism
        }

        /// libsodium's "moderate" profile: 3 passes over 256 MiB.
        public static let moderate = Parameters(iterations: 3, memoryKiB: 256 * 1024)
        /// libsodium's "interactive" profile: 2 passes over 64 MiB.
        public static let interactive = Parameters(iterations: 2, memoryKiB: 64 * 1024)
    }

    /// Salt length in bytes.
    public static let saltByteCount = Int(crypto_pwhash_SALTBYTES)

    /// Derives `outputByteCount` bytes from `password` and a 16-byte `salt`.
    public static func deriveKey<S: ContiguousBytes>(
        password: SecretBytes, salt: S, parameters: Parameters, outputByteCount: Int = 32
    ) throws -> SecretKey {
        Backend.ensureInitialized()
        guard parameters.parallelism == 1 else {
            throw CryptoBackendError.invalidParameter("Argon2id parallelism must be 1 (libsodium supports one lane)")
        }
        guard parameters.iterations >= UInt32(crypto_pwhash_OPSLIMIT_MIN), parameters.iterations <= 64 else {
            throw CryptoBackendError.invalidParameter("Argon2id iterations must be 1...64, got \(parameters.iterations)")
        }
        guard parameters.memoryKiB >= 8, parameters.memoryKiB <= 4 * 1024 * 1024 else {
            throw CryptoBackendError.invalidParameter("Argon2id memory must be 8 KiB ... 4 GiB, got \(parameters.memoryKiB) KiB")
        }
        guard outputByteCount >= 16, outputByteCount <= 64 else {
            throw CryptoBackendError.invalidParameter("Argon2id output must be 16...64 bytes")
        }
        var failed = false
        let derived = try salt.withUnsafeBytes { s -> SecretBytes in
            guard s.count == saltByteCount else {
                throw CryptoBackendError.invalidLength(what: "Argon2id salt", expected: saltByteCount, actual: s.count)
            }
            return SecretBytes(count: outputByteCount) { out in
                password.withUnsafeBytes { p in
                    let pw = p.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) }
                    failed = crypto_pwhash(out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(out.count),
                                           pw ?? UnsafeRawPointer(emptyPointer).assumingMemoryBound(to: CChar.self), UInt64(p.count),
                                           s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                           UInt64(parameters.iterations), Int(parameters.memoryKiB) * 1024,
                                           crypto_pwhash_ALG_ARGON2ID13) != 0
                }
            }
        }
        if failed { throw CryptoBackendError.backend("Argon2id failed (out of memory?)") }
        return SecretKey(derived)
    }
}
