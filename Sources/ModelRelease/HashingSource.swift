import ArtifactEncryption
import ModelSecCrypto
import ModelSecIO

/// A ``ByteSource`` that hashes (SHA-256) every byte it hands out, so a file
/// is hashed and encrypted in one read: the digest is over exactly the bytes
/// that were encrypted, even if the file changes meanwhile.
final class HashingSource: ByteSource {
    private let source: ByteSource
    private var hasher: HashFunctionState? = SHA2.SHA256.hasher()
    private let progress: ProgressReporter?
    /// Bytes handed out so far.
    private(set) var byteCount: UInt64 = 0

    init(_ source: ByteSource, progress: ProgressReporter?) {
        self.source = source
        self.progress = progress
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try source.read(into: buffer)
        if n > 0 {
            hasher!.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            byteCount += UInt64(n)
            progress?.advance(bytes: Int64(n))
        }
        return n
    }

    /// The digest of everything read; call once, at the end.
    func finalize() -> SHA2.Digest {
        hasher.take()!.finalize()
    }
}
