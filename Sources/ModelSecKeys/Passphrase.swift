import Foundation
import ModelSecCrypto
import ModelSecIO

/// Where a passphrase comes from. Never from a command-line argument, which
/// other users can see in the process list.
public enum PassphraseSource: Sendable, Equatable {
    /// The first line of a file (a trailing `\n` or `\r\n` is dropped).
    case file(String)
    /// The value of an environment variable.
    case environment(String)

    /// Reads the passphrase into secret storage.
    public func read() throws -> SecretBytes {
        switch self {
        case let .file(path):
            var bytes = try FileIO.readFile(path, limit: 64 * 1024)
            defer { SecureZero.zero(&bytes) }
            var end = bytes.count
            if end > 0, bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
            if end > 0, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            guard end > 0 else { throw FileError(path: path, reason: "the passphrase file is empty") }
            return SecretBytes(copying: bytes[0..<end])
        case let .environment(name):
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw KeyFileError(path: "$\(name)", reason: "the environment variable is not set or empty")
            }
            return SecretBytes(copying: Array(value.utf8))
        }
    }
}
