import COpenSSL
import Foundation

/// The SHA-2 family (FIPS 180-4), through OpenSSL EVP. A namespace, so that
/// `SHA2.SHA256` and `SHA2.Digest` do not clash with swift-crypto's top-level
/// `SHA256` and `Digest` in a file that imports both.
public enum SHA2 {}

extension SHA2 {
    /// A message digest: the raw bytes and their lowercase hex form.
    public struct Digest: Hashable, Sendable, CustomStringConvertible {
        /// The digest bytes.
        public let bytes: [UInt8]

        /// Wraps digest bytes.
        public init(bytes: [UInt8]) { self.bytes = bytes }

        /// Parses lowercase or uppercase hex; nil when it is not hex of an even length.
        public init?(hex: String) {
            guard let decoded = Hex.decode(hex) else { return nil }
            bytes = decoded
        }

        /// Lowercase hexadecimal.
        public var hex: String { Hex.encode(bytes) }

        public var description: String { hex }
    }
}

/// Hash functions computed by OpenSSL's EVP layer, which uses the CPU's SHA
/// extensions where present.
protocol EVPHashFunction {
    static var digestSize: Int { get }
    static func evpMD() -> OpaquePointer?
}

/// An incremental hash over OpenSSL EVP. Not thread-safe: one per thread.
public struct HashFunctionState: ~Copyable {
    private let context: OpaquePointer
    private let size: Int

    init(md: OpaquePointer?, size: Int) {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("modelsec: EVP_MD_CTX_new failed (out of memory)") }
        guard EVP_DigestInit_ex(ctx, md, nil) == 1 else { fatalError("modelsec: EVP_DigestInit_ex failed") }
        context = ctx
        self.size = size
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds bytes to the hash.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        guard EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1 else {
            fatalError("modelsec: EVP_DigestUpdate failed")
        }
    }

    /// Adds bytes to the hash.
    public mutating func update<D: ContiguousBytes>(_ data: D) {
        data.withUnsafeBytes { update($0) }
    }

    /// Finishes and returns the digest.
    public consuming func finalize() -> SHA2.Digest {
        var out = [UInt8](repeating: 0, count: size)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &out, &length) == 1, Int(length) == size else {
            fatalError("modelsec: EVP_DigestFinal_ex failed")
        }
        return SHA2.Digest(bytes: out)
    }
}

extension SHA2 {
    /// One function of the family: its digest length and a fresh
    /// incremental state, from which ``hash(data:)`` follows.
    public protocol Function {
        /// Digest length in bytes.
        static var byteCount: Int { get }
        /// A fresh incremental state.
        static func hasher() -> HashFunctionState
    }
}

extension SHA2.Function {
    /// The digest of `data` in one call.
    public static func hash<D: ContiguousBytes>(data: D) -> SHA2.Digest {
        var h = hasher()
        h.update(data)
        return h.finalize()
    }
}

extension SHA2 {
    /// SHA-256 (FIPS 180-4).
    public enum SHA256: SHA2.Function {
        /// Digest length in bytes.
        public static let byteCount = 32

        /// A fresh incremental SHA-256 state.
        public static func hasher() -> HashFunctionState { HashFunctionState(md: EVP_sha256(), size: byteCount) }
    }

    /// SHA-512 (FIPS 180-4).
    public enum SHA512: SHA2.Function {
        /// Digest length in bytes.
        public static let byteCount = 64

        /// A fresh incremental SHA-512 state.
        public static func hasher() -> HashFunctionState { HashFunctionState(md: EVP_sha512(), size: byteCount) }
    }
}

/// Lowercase hexadecimal encoding.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lowercase hex.
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex (either case); nil on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// The value of one hex digit (either case), or nil for any other byte.
    package static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
