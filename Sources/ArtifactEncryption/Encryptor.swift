import Foundation
import ModelSecCrypto

/// Encrypts a stream: write plaintext in, ciphertext comes out through the
/// `output` closure, in order, in large pieces. Like age's `Encrypt`.
///
/// Plaintext is gathered into batches of whole chunks (4 MiB); each
/// batch is sealed on every core at once and written while the next batch
/// is read. Memory use is three batch buffers (12 MiB) whatever the input
/// size. Call ``finish()`` at the end: the
/// last chunk is only sealed then, with the last-chunk flag.
///
///     let encryptor = try Encryptor(recipients: [.x25519(key)]) { try out.write($0) }
///     try encryptor.write(from: FileDescriptorSource(path: "model.bin"))
///     try encryptor.finish()
public final class Encryptor {
    /// Receives ciphertext, in order.
    public typealias Output = (UnsafeRawBufferPointer) throws -> Void

    /// The target plaintext bytes per batch.
    static let batchBytes = 4 * 1024 * 1024

    private let output: Output
    private let cipher: ParallelChunkCipher
    private let chunkSize: Int
    private var plain: UnsafeMutableRawBufferPointer
    /// The buffer the next batch is read into while the current one is sealed.
    private var spare: UnsafeMutableRawBufferPointer
    private let sealed: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var counter: UInt64 = 0
    private var finished = false

    /// Total plaintext bytes written so far.
    public private(set) var plaintextByteCount: UInt64 = 0
    /// Called with the plaintext byte count of each batch once it is sealed (for progress).
    public var onBatch: ((Int) -> Void)?

    /// Starts a file for `recipients` (at most ``ArtifactEncryption/maximumRecipients``;
    /// a passphrase only alone) and writes its header to `output` at once.
    public init(recipients: [any Recipient], chunkSize: Int = ArtifactEncryption.defaultChunkSize,
                output: @escaping Output) throws {
        let (header, keys) = try FileKeyExchange.seal(for: recipients, chunkSize: chunkSize)
        self.output = output
        self.chunkSize = chunkSize
        let chunks = max(1, Encryptor.batchBytes / chunkSize)
        cipher = try ParallelChunkCipher(key: keys.payloadKey, chunkSize: chunkSize)
        plain = .allocate(byteCount: chunks * chunkSize, alignment: 64)
        spare = .allocate(byteCount: chunks * chunkSize, alignment: 64)
        sealed = .allocate(byteCount: chunks * cipher.layout.sealedChunkSize, alignment: 64)
        try header.encoded.withUnsafeBytes { try output($0) }
    }

    deinit {
        // The plaintext buffer may hold secrets: wipe it before release.
        SecureZero.zero(plain)
        SecureZero.zero(spare)
        plain.deallocate()
        spare.deallocate()
        sealed.deallocate()
    }

    /// Encrypts `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "Encryptor.write after finish")
        var offset = 0
        while offset < bytes.count {
            if filled == plain.count { try flush(final: false) }
            let n = min(bytes.count - offset, plain.count - filled)
            (plain.baseAddress! + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            filled += n
            offset += n
        }
    }

    /// Encrypts `bytes`.
    public func write<D: ContiguousBytes>(_ bytes: D) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Encrypts everything `source` yields until its end, reading straight
    /// into the batch buffers (no extra copy). The next batch is read on
    /// another thread while the current one is sealed and written, so input,
    /// sealing and output overlap. Call ``finish()`` afterwards.
    public func write(from source: ByteSource) throws {
        precondition(!finished, "Encryptor.write after finish")
        filled += try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: plain[filled...]))
        while filled == plain.count {
            // Only seal a full batch as non-final once more input exists.
            var next: UInt8 = 0
            let n = try withUnsafeMutableBytes(of: &next) { try source.readFully(into: $0) }
            if n == 0 { return }
            spare[0] = next
            let reading = BackgroundRead(source: source, into: UnsafeMutableRawBufferPointer(rebasing: spare[1...]))
            let flushResult = Result { try flush(final: false) }
            let read = Result { try reading.wait() }
            try flushResult.get()
            swap(&plain, &spare)
            filled = 1 + (try read.get())
        }
    }

    /// Seals the final chunk and writes it. Nothing may be written afterwards.
    public func finish() throws {
        guard !finished else { return }
        try flush(final: true)
        finished = true
    }

    private func flush(final: Bool) throws {
        let input = UnsafeRawBufferPointer(rebasing: plain[0..<filled])
        let size = try cipher.seal(input, firstCounter: counter, final: final, into: sealed)
        counter += UInt64(max(1, (filled + chunkSize - 1) / chunkSize))
        plaintextByteCount += UInt64(filled)
        let batch = filled
        filled = 0
        try output(UnsafeRawBufferPointer(rebasing: sealed[0..<size]))
        onBatch?(batch)
    }
}
