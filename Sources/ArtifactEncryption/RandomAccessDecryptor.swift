#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ModelSecCrypto
import ModelSecIO

/// Decrypts any byte range of an encrypted file without reading the rest:
/// chunk offsets follow from the header size and the chunk size.
///
/// Opening authenticates the header and the final chunk (so the plaintext
/// size is known to be genuine and truncation is caught); each ``read(_:)``
/// then authenticates exactly the chunks it touches.
public final class RandomAccessDecryptor {
    /// The authenticated plaintext size.
    public let plaintextSize: UInt64
    /// The header's chunk size.
    public let chunkSize: Int

    private let path: String
    private let fd: Int32
    private let headerSize: UInt64
    private let chunkCount: UInt64
    private let cipher: ParallelChunkCipher

    /// Opens `path` with one of `identities`.
    public init(path: String, identities: [any Identity]) throws {
        let source = try FileDescriptorSource(path: path)
        guard let fileSize = source.regularFileSize else {
            throw FileError(path: path, reason: "random access needs a regular file")
        }
        do {
            let header = try Header.parse { try source.readBytes($0) }
            let keys = try FileKeyExchange.open(header, with: identities)
            headerSize = UInt64(header.encodedSize)
            chunkSize = header.chunkSize
            cipher = try ParallelChunkCipher(key: keys.payloadKey, chunkSize: chunkSize)
            (plaintextSize, chunkCount) = try cipher.layout.plaintextSize(payloadSize: fileSize - headerSize)
        } catch let error as EncryptionError {
            throw error.at(path)
        }
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open: \(FileIO.errnoDescription(errno))") }
        // Authenticate the final chunk now: it proves the size.
        _ = try read(plaintextSize == 0 ? 0..<0 : (plaintextSize - 1)..<plaintextSize, checkingFinalChunk: true)
    }

    deinit { close(fd) }

    /// The plaintext bytes in `range` (clamped to the plaintext size), after
    /// authenticating every chunk they come from.
    public func read(_ range: Range<UInt64>) throws -> [UInt8] {
        try read(range, checkingFinalChunk: false)
    }

    private func read(_ range: Range<UInt64>, checkingFinalChunk: Bool) throws -> [UInt8] {
        let lower = min(range.lowerBound, plaintextSize), upper = min(range.upperBound, plaintextSize)
        guard lower < upper || checkingFinalChunk else { return [] }
        let c = UInt64(chunkSize), sealed = UInt64(cipher.layout.sealedChunkSize)
        let first = lower / c
        let last = upper == 0 ? 0 : (upper - 1) / c
        let count = Int(last - first + 1)
        let isFinal = last == chunkCount - 1
        let start = headerSize + first * sealed
        let length = isFinal ? (headerSize + plaintextSize + chunkCount * 16) - start : UInt64(count) * sealed
        var ciphertext = [UInt8](repeating: 0, count: Int(length))
        let got = ciphertext.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        guard got == Int(length) else {
            throw EncryptionError(.sizeChanged, path: path)
        }
        var plaintext = [UInt8](repeating: 0, count: count * chunkSize)
        let (bytes, authentic) = ciphertext.withUnsafeBytes { c in
            plaintext.withUnsafeMutableBytes { p in cipher.open(c, firstCounter: first, final: isFinal, into: p) }
        }
        guard authentic else {
            SecureZero.zero(&plaintext)
            throw EncryptionError(.chunkAuthenticationFailed(index: first + UInt64(bytes / chunkSize), isFinal: false), path: path)
        }
        let offset = Int(lower - first * c)
        return Array(plaintext[offset..<min(bytes, offset + Int(upper - lower))])
    }
}
