import Foundation
import CSodium

/// Comparisons whose running time does not depend on the contents compared.
public enum ConstantTime {
    /// True when `a` and `b` hold the same bytes. Runs in time that depends only
    /// on the lengths (unequal lengths return false at once: lengths are public).
    public static func equals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        Backend.ensureInitialized()
        return sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
    }

    /// True when the two byte sequences are equal, compared in constant time.
    public static func equals<A: ContiguousBytes, B: ContiguousBytes>(_ a: A, _ b: B) -> Bool {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in equals(pa, pb) } }
    }
}

/// Overwrites memory with zeros in a way the compiler cannot elide.
public enum SecureZero {
    /// Zeroes the buffer.
    public static func zero(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        sodium_memzero(base, buffer.count)
    }

    /// Zeroes an array's storage in place (its count is unchanged).
    public static func zero(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { zero($0) }
    }
}
