import ModelSecCrypto

/// Where the noise samplers get their uniform random bits.
///
/// Production code uses ``SecureRandomSource`` (the operating system's
/// CSPRNG through libsodium). The protocol exists only so that tests can
/// inject a seeded generator to make statistical tests deterministic; no
/// seeded generator is shipped in this module.
public protocol DPRandomSource: RandomNumberGenerator {}

/// Uniform random 64-bit words from ``SecureRandom`` (libsodium's
/// `randombytes_buf`, i.e. `getrandom(2)` on Linux), fetched in blocks of
/// 4 KiB to amortise the system call. The unused part of the block is wiped
/// when the source is released.
public final class SecureRandomSource: DPRandomSource {
    private static let capacity = 512
    private let buffer: UnsafeMutablePointer<UInt64>
    private var index: Int

    /// A new source; it holds no randomness until first used.
    public init() {
        buffer = .allocate(capacity: Self.capacity)
        buffer.initialize(repeating: 0, count: Self.capacity)
        index = Self.capacity
    }

    deinit {
        // Wipe whatever randomness was fetched but not used.
        for i in 0..<Self.capacity { buffer[i] = 0 }
        buffer.deallocate()
    }

    /// The next uniformly random 64-bit word.
    @inline(__always)
    public func next() -> UInt64 {
        if index == Self.capacity {
            SecureRandom.fill(UnsafeMutableRawBufferPointer(start: buffer, count: Self.capacity * 8))
            index = 0
        }
        let value = buffer[index]
        buffer[index] = 0
        index += 1
        return value
    }
}
