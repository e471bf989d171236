import Foundation

/// A symmetric key held in ``SecretBytes`` (locked memory, zeroed on release).
public struct SecretKey: Sendable {
    let storage: SecretBytes

    /// A new random key of `byteCount` bytes (32 for AES-256).
    public init(randomByteCount byteCount: Int = 32) {
        storage = SecretBytes(randomCount: byteCount)
    }

    /// A key with a copy of `bytes`. Wipe your own copy afterwards.
    public init<D: ContiguousBytes>(copying bytes: D) {
        storage = bytes.withUnsafeBytes { SecretBytes(copying: $0) }
    }

    /// Wraps existing secret storage.
    public init(_ secret: SecretBytes) { storage = secret }

    /// The key length in bytes.
    public var byteCount: Int { storage.count }

    /// Calls `body` with the key bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// Compares two keys in constant time.
    public func constantTimeEquals(_ other: SecretKey) -> Bool {
        storage.constantTimeEquals(other.storage)
    }
}
