import Dispatch
import ModelSecCrypto

/// Decrypts a stream: pull plaintext out of a ``ByteSource`` of ciphertext.
/// Like age's `Decrypt`.
///
/// The initialiser reads the header, finds the file key with one of the
/// identities and checks the header MAC (in constant time) before any chunk is
/// touched. Chunks are then opened a batch (4 MiB) at a time on every
/// core. Only authenticated plaintext is ever returned; if a chunk fails, the
/// plaintext of the chunks before it is returned and the next call throws.
/// The end of the stream is only reported after the chunk flagged "last" has
/// authenticated, so truncation is always detected.
public final class Decryptor {
    /// The header's plaintext chunk size.
    public let chunkSize: Int
    /// The recipient types in the header, in order ("x25519", "symmetric-key", "passphrase").
    public let recipientTypes: [String]

    private let source: ByteSource
    private let cipher: ParallelChunkCipher
    private var input: UnsafeMutableRawBufferPointer
    /// The buffer the next batch is read into while the current one is opened.
    private var spare: UnsafeMutableRawBufferPointer
    private var prefetch: BackgroundRead?
    private let plain: UnsafeMutableRawBufferPointer
    private var counter: UInt64 = 0
    private var available = 0..<0
    private var ended = false
    private var pendingError: EncryptionError?

    /// Total authenticated plaintext bytes produced so far.
    public private(set) var plaintextByteCount: UInt64 = 0
    /// Called with the plaintext byte count of each authenticated batch (for progress).
    public var onBatch: ((Int) -> Void)?

    /// Reads and authenticates the header from `source`.
    public init(source: ByteSource, identities: [any Identity]) throws {
        let header = try Header.parse { try source.readBytes($0) }
        let keys = try FileKeyExchange.open(header, with: identities)
        self.source = source
        chunkSize = header.chunkSize
        recipientTypes = header.stanzas.map(\.kind.name)
        let chunks = max(1, Encryptor.batchBytes / chunkSize)
        cipher = try ParallelChunkCipher(key: keys.payloadKey, chunkSize: chunkSize)
        // One extra byte: it tells whether the batch's last chunk is the file's last.
        input = .allocate(byteCount: chunks * cipher.layout.sealedChunkSize + 1, alignment: 64)
        spare = .allocate(byteCount: chunks * cipher.layout.sealedChunkSize + 1, alignment: 64)
        plain = .allocate(byteCount: chunks * chunkSize, alignment: 64)
    }

    deinit {
        _ = try? prefetch?.wait()
        SecureZero.zero(plain)
        plain.deallocate()
        input.deallocate()
        spare.deallocate()
    }

    /// Copies up to `buffer.count` authenticated plaintext bytes into `buffer`.
    /// Returns 0 once the final chunk has authenticated; throws on tampering.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while available.isEmpty {
            if let pendingError { throw pendingError }
            if ended { return 0 }
            try nextBatch()
        }
        let n = min(buffer.count, available.count)
        buffer.baseAddress!.copyMemory(from: plain.baseAddress! + available.lowerBound, byteCount: n)
        available = (available.lowerBound + n)..<available.upperBound
        return n
    }

    /// Decrypts the rest of the stream into `output`, a batch at a time. It
    /// only ever receives authenticated plaintext; when the stream was
    /// tampered with or ends early this throws after the last good chunk.
    public func decrypt(to output: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            if !available.isEmpty {
                try output(UnsafeRawBufferPointer(rebasing: plain[available]))
                available = available.upperBound..<available.upperBound
            }
            if let pendingError { throw pendingError }
            if ended { return }
            try nextBatch()
        }
    }

    /// Reads one batch of sealed chunks and opens it.
    private func nextBatch() throws {
        let sealedSize = cipher.layout.sealedChunkSize
        let batchSize = input.count - 1
        let total: Int
        if let prefetch {
            self.prefetch = nil
            let read = Result { try prefetch.wait() }
            swap(&input, &spare)
            total = 1 + (try read.get())
        } else {
            total = try source.readFully(into: input)
        }
        let final = total <= batchSize
        if !final {
            // Read the next batch on another thread while this one is opened
            // and handed out. It starts with this batch's extra byte.
            spare[0] = input[batchSize]
            prefetch = BackgroundRead(source: source, into: UnsafeMutableRawBufferPointer(rebasing: spare[1...]))
        }
        let ciphertext = UnsafeRawBufferPointer(rebasing: input[0..<min(total, batchSize)])
        if final && total == 0 {
            pendingError = EncryptionError(.truncated)
            return
        }
        let (bytes, authentic) = cipher.open(ciphertext, firstCounter: counter, final: final, into: plain)
        available = 0..<bytes
        plaintextByteCount += UInt64(bytes)
        if bytes > 0 { onBatch?(bytes) }
        if !authentic {
            let failed = counter + UInt64(bytes / chunkSize)
            let lastIndex = counter + UInt64((ciphertext.count + sealedSize - 1) / sealedSize) - 1
            if final && failed >= lastIndex {
                pendingError = EncryptionError(.chunkAuthenticationFailed(index: failed, isFinal: true))
            } else {
                pendingError = EncryptionError(.chunkAuthenticationFailed(index: failed, isFinal: false))
            }
            return
        }
        if final {
            ended = true
        } else {
            counter += UInt64(batchSize / sealedSize)
        }
    }
}

