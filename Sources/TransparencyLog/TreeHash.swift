import Foundation
import ModelSecCrypto

/// A SHA-256 Merkle tree hash (32 bytes), as RFC 6962 / RFC 9162 define them.
public struct TreeHash: Hashable, Sendable, CustomStringConvertible {
    /// The hash size in bytes.
    public static let byteCount = 32

    /// The 32 hash bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Wraps a SHA-256 digest.
    init(digest: SHA2.Digest) { bytes = digest.bytes }

    /// Parses standard base64 (RFC 4648 section 4, padded) of exactly 32
    /// bytes, accepting only the canonical encoding.
    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64), data.count == Self.byteCount,
              data.base64EncodedString() == base64 else { return nil }
        bytes = Array(data)
    }

    /// Standard padded base64.
    public var base64: String { Data(bytes).base64EncodedString() }

    /// Lowercase hex.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

    /// The root of the empty tree: SHA-256 of nothing.
    public static let empty = TreeHash(digest: SHA2.SHA256.hash(data: [UInt8]()))
}
