import Foundation
import ModelSecCrypto
import ModelSecIO

/// Where a passphrase comes from. Never from a command-line argument, which
/// other users can see in the process list.
public enum PassphraseSource: Sendable, Equatable {
    /// The first line of a file, read as `openssl -passin file:` reads it
    /// (the bytes before the first `\n`). A first line that OpenSSL would
    /// read differently is refused: empty, holding a `\r` (OpenSSL keeps it),
    /// a NUL (OpenSSL stops there) or longer than 1023 bytes (OpenSSL cuts it).
    case file(String)
    /// The value of an environment variable.
    case environment(String)

    /// Reads the passphrase into secret storage.
    public func read() throws -> SecretBytes {
        switch self {
        case let .file(path):
            var bytes = try FileIO.readFile(path, limit: 64 * 1024)
            defer { SecureZero.zero(&bytes) }
            let end = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let line = bytes[0..<end]
            // The reason never quotes the passphrase.
            guard !line.isEmpty else { throw FileError(path: path, reason: "the passphrase file's first line is empty") }
            guard !line.contains(UInt8(ascii: "\r")) else {
                throw FileError(path: path, reason: "the passphrase file's first line ends with a Windows line ending (\\r\\n); openssl would keep the \\r as part of the passphrase, so save the file with Unix line endings")
            }
            guard !line.contains(0) else { throw FileError(path: path, reason: "the passphrase file's first line contains a zero byte") }
            guard line.count <= 1023 else { throw FileError(path: path, reason: "the passphrase file's first line is longer than 1023 bytes (openssl would cut it)") }
            return SecretBytes(copying: line)
        case let .environment(name):
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw KeyFileError(path: "$\(name)", problem: .passphraseVariableUnset)
            }
            return SecretBytes(copying: Array(value.utf8))
        }
    }
}
