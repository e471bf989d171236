import CSodium

/// A fixed-size buffer of secret bytes in locked, guarded memory that is zeroed
/// when released.
///
/// The storage comes from `sodium_malloc`, which places it between guard pages,
/// locks it so it is not swapped out, and `sodium_free` zeroes it before
/// returning it. Copies of a `SecretBytes` share one buffer; the buffer is freed
/// when the last reference goes away. Read it only through `withUnsafeBytes`.
public final class SecretBytes: @unchecked Sendable { // the buffer is written only in init, then only read
    // Immutable after init, so sharing across threads is safe.
    private let pointer: UnsafeMutableRawPointer?
    /// The number of bytes held.
    public let count: Int

    /// Allocates `count` zero bytes and lets `initializer` fill them.
    public init(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        Backend.ensureInitialized()
        precondition(count >= 0, "negative SecretBytes size")
        self.count = count
        if count == 0 {
            pointer = nil
        } else {
            guard let p = sodium_malloc(count) else {
                fatalError("modelsec: out of memory allocating secret storage")
            }
            sodium_memzero(p, count)
            pointer = p
        }
        do {
            try initializer(UnsafeMutableRawBufferPointer(start: pointer, count: count))
        } catch {
            if let p = pointer { sodium_free(p) }
            throw error
        }
    }

    /// Copies `bytes` into secret storage. The caller remains responsible for
    /// wiping its own copy.
    public convenience init<Bytes: Collection>(copying bytes: Bytes) where Bytes.Element == UInt8 {
        self.init(count: bytes.count) { buffer in
            _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
        }
    }

    /// `count` bytes from the operating system's CSPRNG.
    public convenience init(randomCount count: Int) {
        self.init(count: count) { buffer in SecureRandom.fill(buffer) }
    }

    deinit {
        if let p = pointer { sodium_free(p) }
    }

    /// Calls `body` with read access to the secret bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Compares with another secret in constant time (for equal lengths).
    public func constantTimeEquals(_ other: SecretBytes) -> Bool {
        withUnsafeBytes { a in other.withUnsafeBytes { b in ConstantTime.equals(a, b) } }
    }
}
