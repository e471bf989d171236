import Foundation
import ModelSecCrypto

/// Client secrets at rest: Argon2id (libsodium `crypto_pwhash`) in the PHC
/// string format `$argon2id$v=19$m=<KiB>,t=<passes>,p=1$<salt>$<hash>`, salt
/// and hash in standard base64 without padding (the format libsodium's
/// `crypto_pwhash_str` and the reference argon2 CLI write). Only the hash is
/// stored; the secret is shown once when the client is registered.
public struct SecretHash: Sendable, Equatable {
    /// OWASP's Argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    public static let defaultParameters = Argon2id.Parameters(iterations: 2, memoryKiB: 19 * 1024)
    /// The most memory a stored hash may ask for (a hostile config must not
    /// make every authentication allocate gigabytes).
    public static let maximumMemoryKiB: UInt32 = 256 * 1024
    /// The most passes a stored hash may ask for.
    public static let maximumIterations: UInt32 = 10

    /// The cost parameters.
    public let parameters: Argon2id.Parameters
    /// The 16-byte salt.
    public let salt: [UInt8]
    /// The 32-byte hash.
    public let hash: [UInt8]

    /// Hashes `secret` with a fresh random salt.
    public init(hashing secret: String, parameters: Argon2id.Parameters = SecretHash.defaultParameters) throws {
        let salt = SecureRandom.bytes(count: Argon2id.saltByteCount)
        self.parameters = parameters
        self.salt = salt
        self.hash = try Self.derive(secret, salt: salt, parameters: parameters)
    }

    /// Parses the PHC string; nil when it is not exactly the form above with
    /// bounded parameters.
    public init?(encoded text: String) {
        let parts = Array(text.utf8).split(separator: UInt8(ascii: "$"), omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].isEmpty,
              parts[1].elementsEqual("argon2id".utf8), parts[2].elementsEqual("v=19".utf8) else { return nil }
        let params = String(decoding: parts[3], as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false)
        guard params.count == 3, params[0].hasPrefix("m="), params[1].hasPrefix("t="), params[2] == "p=1",
              let m = Self.decimal(params[0].dropFirst(2)), let t = Self.decimal(params[1].dropFirst(2)),
              m >= 8, m <= Self.maximumMemoryKiB, t >= 1, t <= Self.maximumIterations,
              let salt = Self.base64(parts[4]), salt.count == Argon2id.saltByteCount,
              let hash = Self.base64(parts[5]), hash.count == 32 else { return nil }
        self.parameters = Argon2id.Parameters(iterations: t, memoryKiB: m)
        self.salt = salt
        self.hash = hash
    }

    /// The PHC string.
    public var encoded: String {
        "$argon2id$v=19$m=\(parameters.memoryKiB),t=\(parameters.iterations),p=1$"
            + Self.unpadded(salt) + "$" + Self.unpadded(hash)
    }

    /// True when `secret` hashes to this hash (constant-time comparison).
    public func matches(_ secret: String) -> Bool {
        guard let derived = try? Self.derive(secret, salt: salt, parameters: parameters) else { return false }
        return ConstantTime.equals(derived, hash)
    }

    private static func derive(_ secret: String, salt: [UInt8], parameters: Argon2id.Parameters) throws -> [UInt8] {
        let key = try Argon2id.deriveKey(password: SecretBytes(copying: Array(secret.utf8)), salt: salt,
                                         parameters: parameters, outputByteCount: 32)
        return key.withUnsafeBytes { Array($0) }
    }

    /// A decimal without sign or leading zeros, at most 10 digits.
    private static func decimal(_ text: Substring) -> UInt32? {
        guard !text.isEmpty, text.count <= 10, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
              text == "0" || !text.hasPrefix("0") else { return nil }
        return UInt32(text)
    }

    /// Standard base64 without padding, decoded strictly (re-encoding must
    /// give the same text, so no second spelling of a hash is accepted).
    private static func base64(_ part: ArraySlice<UInt8>) -> [UInt8]? {
        let text = String(decoding: part, as: UTF8.self)
        guard !text.contains("=") else { return nil }
        let padded = text + String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: padded), unpadded(Array(data)) == text else { return nil }
        return Array(data)
    }

    private static func unpadded(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}
