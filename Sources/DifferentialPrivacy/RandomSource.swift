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
    private var buffer = [UInt64](repeating: 0, count: 512)
    private var index = 512

    /// A new source; it holds no randomness until first used.
    public init() {}

    deinit {
        buffer.withUnsafeMutableBytes { raw in
            for i in raw.indices { raw[i] = 0 }
        }
    }

    /// The next uniformly random 64-bit word.
    public func next() -> UInt64 {
        if index == buffer.count {
            buffer.withUnsafeMutableBytes { SecureRandom.fill($0) }
            index = 0
        }
        let value = buffer[index]
        buffer[index] = 0
        index += 1
        return value
    }
}
