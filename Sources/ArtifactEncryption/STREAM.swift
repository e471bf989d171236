import Dispatch
import Foundation
import ModelSecCrypto
import ModelSecIO

/// The STREAM construction over AES-256-GCM (docs/encryption-format.md,
/// "Payload"): chunk `i` is sealed under the payload key with the nonce
/// `i` as an 11-byte big-endian counter ‖ last-chunk flag (0x01 on the final
/// chunk, else 0x00), no associated data. Every chunk but the last holds
/// exactly `chunkSize` plaintext bytes; the last holds 1...chunkSize, or 0 when
/// it is the only chunk (empty plaintext).
struct ChunkLayout {
    let chunkSize: Int
    var sealedChunkSize: Int { chunkSize + AES256.GCM.tagByteCount }

    /// Writes the nonce for chunk `counter` into a 12-byte buffer.
    static func writeNonce(_ buffer: UnsafeMutableRawBufferPointer, counter: UInt64, last: Bool) {
        buffer[0] = 0; buffer[1] = 0; buffer[2] = 0
        for i in 0..<8 { buffer[3 + i] = UInt8(truncatingIfNeeded: counter >> (56 - 8 * UInt64(i))) }
        buffer[11] = last ? 1 : 0
    }

    /// Plaintext size and chunk count for a payload of `payloadSize` bytes
    /// (everything after the header), or an authentication error when no
    /// valid file has that size (it was truncated or extended).
    func plaintextSize(payloadSize: UInt64) throws -> (plaintext: UInt64, chunks: UInt64) {
        let tag = UInt64(AES256.GCM.tagByteCount)
        let sealed = UInt64(sealedChunkSize)
        guard payloadSize >= tag else {
            throw EncryptionError(.truncated)
        }
        let chunks = (payloadSize + sealed - 1) / sealed
        let lastSealed = payloadSize - (chunks - 1) * sealed
        guard lastSealed >= tag, chunks == 1 || lastSealed > tag else {
            throw EncryptionError(.sizeNotOnChunkBoundary)
        }
        return (payloadSize - chunks * tag, chunks)
    }
}

/// Seals and opens batches of consecutive chunks in parallel, one
/// ``AES/GCM/ChunkCipher`` per core (each used by one thread at a time), no
/// allocation per chunk.
final class ParallelChunkCipher {
    let layout: ChunkLayout
    private let ciphers: [AES256.GCM.ChunkCipher]

    /// Worker count: every core.
    static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    init(key: SecretKey, chunkSize: Int, workers: Int = ParallelChunkCipher.defaultWorkers) throws {
        layout = ChunkLayout(chunkSize: chunkSize)
        ciphers = try (0..<max(1, workers)).map { _ in try AES256.GCM.ChunkCipher(key: key) }
    }

    /// Runs `body(chunkIndex, cipher)` for `count` chunks spread over the
    /// workers. The batch is cut into a few more stripes than workers so a
    /// worker that the scheduler delays does not hold up the whole batch;
    /// each lane has its own cipher context (a lane runs one stripe at a time).
    private func forEachChunk(_ count: Int, _ body: (Int, AES256.GCM.ChunkCipher) -> Void) {
        let workers = min(ciphers.count, count)
        if workers <= 1 {
            for i in 0..<count { body(i, ciphers[0]) }
            return
        }
        let stripes = min(count, workers * 4)
        // The stripes never throw, so neither does the loop.
        try? ParallelWork.forEach(count: stripes, lanes: workers) { s, lane in
            let start = s * count / stripes, end = (s + 1) * count / stripes
            let cipher = ciphers[lane.index]
            for i in start..<end { body(i, cipher) }
        }
    }

    /// Seals `plaintext` as chunks `firstCounter...`; the final chunk is
    /// flagged when `final`. A non-final batch must be whole chunks. Returns
    /// the number of bytes written to `output`.
    func seal(_ plaintext: UnsafeRawBufferPointer, firstCounter: UInt64, final: Bool,
              into output: UnsafeMutableRawBufferPointer) throws -> Int {
        let c = layout.chunkSize, sealed = layout.sealedChunkSize, n = plaintext.count
        let count = max(1, (n + c - 1) / c)
        precondition(final || n % c == 0, "non-final batch must be whole chunks")
        precondition(n > 0 || firstCounter == 0, "an empty chunk can only be the only chunk")
        let outputSize = n + count * AES256.GCM.tagByteCount
        precondition(output.count >= outputSize)
        var failures = 0
        let lock = NSLock()
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        forEachChunk(count) { i, cipher in
            let start = i * c, length = min(c, n - start)
            var nonceBytes = (UInt64(0), UInt32(0))
            withUnsafeMutableBytes(of: &nonceBytes) { raw in
                let nonce = UnsafeMutableRawBufferPointer(rebasing: raw[0..<12])
                ChunkLayout.writeNonce(nonce, counter: firstCounter + UInt64(i), last: final && i == count - 1)
                let out = output.baseAddress! + i * sealed
                let input = UnsafeRawBufferPointer(start: length > 0 ? plaintext.baseAddress! + start : nil, count: length)
                do {
                    try cipher.seal(input, nonce: UnsafeRawBufferPointer(nonce), authenticating: empty,
                                    into: UnsafeMutableRawBufferPointer(start: out, count: length),
                                    tag: UnsafeMutableRawBufferPointer(start: out + length, count: AES256.GCM.tagByteCount))
                } catch {
                    lock.lock(); failures += 1; lock.unlock()
                }
            }
        }
        if failures > 0 { throw EncryptionError(.sealingFailed) }
        return outputSize
    }

    /// Opens the sealed chunks in `ciphertext` (chunks `firstCounter...`, the
    /// final one flagged when `final`; a non-final batch must be whole
    /// chunks). Returns the plaintext bytes written to `output` for the
    /// chunks that authenticated before the first failure, and whether all did.
    func open(_ ciphertext: UnsafeRawBufferPointer, firstCounter: UInt64, final: Bool,
              into output: UnsafeMutableRawBufferPointer) -> (bytes: Int, authentic: Bool) {
        let c = layout.chunkSize, sealed = layout.sealedChunkSize, tag = AES256.GCM.tagByteCount, m = ciphertext.count
        guard m > 0 else { return (0, !final) }
        let count = (m + sealed - 1) / sealed
        let lastSealed = m - (count - 1) * sealed
        if !final { precondition(m % sealed == 0, "non-final batch must be whole chunks") }
        // A final chunk must hold a tag, and may be empty only as the very first chunk.
        if final && (lastSealed < tag || (lastSealed == tag && (count > 1 || firstCounter > 0))) {
            // Authenticate what precedes it so the caller can release it.
            let before = open(UnsafeRawBufferPointer(rebasing: ciphertext[0..<((count - 1) * sealed)]),
                              firstCounter: firstCounter, final: false, into: output)
            return (before.bytes, false)
        }
        // Lowest failing chunk index, shared by the workers.
        var firstFailure = Int.max
        let lock = NSLock()
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        forEachChunk(count) { i, cipher in
            let length = (i == count - 1 ? lastSealed : sealed) - tag
            var nonceBytes = (UInt64(0), UInt32(0))
            withUnsafeMutableBytes(of: &nonceBytes) { raw in
                let nonce = UnsafeMutableRawBufferPointer(rebasing: raw[0..<12])
                ChunkLayout.writeNonce(nonce, counter: firstCounter + UInt64(i), last: final && i == count - 1)
                let input = ciphertext.baseAddress! + i * sealed
                do {
                    try cipher.open(UnsafeRawBufferPointer(start: length > 0 ? input : nil, count: length),
                                    nonce: UnsafeRawBufferPointer(nonce), authenticating: empty,
                                    tag: UnsafeRawBufferPointer(start: input + length, count: tag),
                                    into: UnsafeMutableRawBufferPointer(start: output.baseAddress! + i * c, count: length))
                } catch {
                    lock.lock(); firstFailure = min(firstFailure, i); lock.unlock()
                }
            }
        }
        if firstFailure == Int.max { return ((count - 1) * c + lastSealed - tag, true) }
        return (firstFailure * c, false)
    }
}
