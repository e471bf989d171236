import CSodium

/// Random bytes from the operating system's CSPRNG, through libsodium
/// (`getrandom(2)` on Linux). There is no seeded generator here.
public enum SecureRandom {
    /// Fills `buffer` with random bytes.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        Backend.ensureInitialized()
        randombytes_buf(base, buffer.count)
    }

    /// `count` random bytes.
    public static func bytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }

    /// A uniformly random integer in `0 ..< upperBound` (no modulo bias).
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        precondition(upperBound > 0, "upper bound must be positive")
        Backend.ensureInitialized()
        return randombytes_uniform(upperBound)
    }

    /// A uniformly random 64-bit value.
    public static func uint64() -> UInt64 {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { fill($0) }
        return value
    }
}

/// A `RandomNumberGenerator` backed by ``SecureRandom``, for use with the
/// standard library's `random(in:using:)` APIs.
public struct SystemRandomGenerator: RandomNumberGenerator, Sendable {
    public init() {}
    public mutating func next() -> UInt64 { SecureRandom.uint64() }
}
