import COpenSSL
import Foundation

/// HMAC-SHA-256 (RFC 2104) through OpenSSL.
public enum HMACSHA256 {
    /// Tag length in bytes.
    public static let byteCount = 32

    /// The HMAC-SHA-256 of `message` under `key`.
    public static func authenticationCode<M: ContiguousBytes>(for message: M, using key: SecretKey) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(k.count),
                         m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count,
                         o.baseAddress, &length) != nil
                }
            }
        }
        guard ok, Int(length) == byteCount else { fatalError("modelsec: HMAC-SHA-256 failed") }
        return out
    }

    /// True when `tag` is the HMAC-SHA-256 of `message` under `key`, compared in constant time.
    public static func isValidAuthenticationCode<T: ContiguousBytes, M: ContiguousBytes>(
        _ tag: T, authenticating message: M, using key: SecretKey
    ) -> Bool {
        var expected = authenticationCode(for: message, using: key)
        defer { SecureZero.zero(&expected) }
        return ConstantTime.equals(expected, tag)
    }
}
