import ArtifactEncryption
import Foundation
import ModelSecCrypto
import ModelSecIO
import TestSupport
import XCTest

final class RoundTripTests: XCTestCase {
    let key = SecretKey(randomByteCount: 32)

    func testSizesAroundChunkBoundaries() throws {
        // Empty, 1 byte, exactly one chunk, one byte longer than a chunk, several chunks.
        for size in [0, 1, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 7] {
            let plain = Fixtures.plaintext(size)
            let file = try Fixtures.encrypt(plain, to: [.symmetricKey(key)])
            let chunks = max(1, (size + 4095) / 4096)
            XCTAssertEqual(file.count, Fixtures.headerSize(file) + size + 16 * chunks, "size \(size)")
            XCTAssertEqual(try Fixtures.decrypt(file, with: [.symmetricKey(key)]), plain, "size \(size)")
        }
    }

    func testDefaultChunkSizeIsRecordedInHeader() throws {
        var out: [UInt8] = []
        let encryptor = try Encryptor(recipients: [.symmetricKey(key)]) { out.append(contentsOf: $0) }
        try encryptor.write(Fixtures.plaintext(70_000))
        try encryptor.finish()
        XCTAssertEqual(Fixtures.chunkSize(out), 65_536)
        XCTAssertEqual(Array(out[0..<8]), Array("MSECENC".utf8) + [0])
        XCTAssertEqual(out[8], 1)
    }

    func testBatchBoundariesAndCarry() throws {
        // The streaming code works in batches (Encryptor.batchBytes, 4 MiB): test sizes at and around them.
        let batch = 4 * 1024 * 1024
        for size in [batch, batch + 1, 2 * batch + 4096 + 5] {
            let plain = Fixtures.plaintext(size)
            let file = try Fixtures.encrypt(plain, to: [.symmetricKey(key)])
            XCTAssertEqual(try Fixtures.decrypt(file, with: [.symmetricKey(key)]), plain, "size \(size)")
        }
    }

    func testPushWritesOfOddSizesMatchOneShot() throws {
        let plain = Fixtures.plaintext(50_000)
        var out: [UInt8] = []
        let encryptor = try Encryptor(recipients: [.symmetricKey(key)], chunkSize: 4096) { out.append(contentsOf: $0) }
        var offset = 0
        var step = 1
        while offset < plain.count {
            let end = min(plain.count, offset + step)
            try encryptor.write(Array(plain[offset..<end]))
            offset = end
            step = step * 3 + 1
        }
        try encryptor.finish()
        XCTAssertEqual(encryptor.plaintextByteCount, UInt64(plain.count))
        // Read back through the pull API in small pieces.
        let decryptor = try Decryptor(source: MemorySource(out), identities: [.symmetricKey(key)])
        var back: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1000)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try decryptor.read(into: $0) }
            if n == 0 { break }
            back += buffer[0..<n]
        }
        XCTAssertEqual(back, plain)
    }

    func testPushWritesAcrossBatches() throws {
        let plain = Fixtures.plaintext(2 * 4 * 1024 * 1024 + 12_345)
        var out: [UInt8] = []
        let encryptor = try Encryptor(recipients: [.symmetricKey(key)], chunkSize: 65_536) { out.append(contentsOf: $0) }
        for start in stride(from: 0, to: plain.count, by: 1_000_003) {
            try encryptor.write(Array(plain[start..<min(plain.count, start + 1_000_003)]))
        }
        try encryptor.finish()
        XCTAssertEqual(try Fixtures.decrypt(out, with: [.symmetricKey(key)]), plain)
    }

    func testEveryRecipientTypeOpensTheFile() throws {
        let a = X25519.PrivateKey(), b = X25519.PrivateKey()
        let plain = Fixtures.plaintext(9000)
        let file = try Fixtures.encrypt(plain, to: [.x25519(a.publicKey), .x25519(b.publicKey), .symmetricKey(key)])
        XCTAssertEqual(try Fixtures.decrypt(file, with: [.x25519(a)]), plain)
        XCTAssertEqual(try Fixtures.decrypt(file, with: [.x25519(b)]), plain)
        XCTAssertEqual(try Fixtures.decrypt(file, with: [.symmetricKey(key)]), plain)
        // Unrelated identities first do not get in the way.
        XCTAssertEqual(try Fixtures.decrypt(file, with: [.x25519(X25519.PrivateKey()), .x25519(b)]), plain)
    }

    func testPassphraseRoundTripAndWrongPassphrase() throws {
        let pass = SecretBytes(copying: Array("correct horse battery staple".utf8))
        let plain = Fixtures.plaintext(5000)
        let file = try Fixtures.encrypt(plain, to: [.passphrase(pass, Fixtures.fastArgon2)])
        XCTAssertEqual(try Fixtures.decrypt(file, with: [.passphrase(pass)]), plain)
        let wrong = SecretBytes(copying: Array("correct horse battery stapler".utf8))
        let error = assertEncryptionError(try Fixtures.decrypt(file, with: [.passphrase(wrong)]))
        XCTAssertEqual(error?.kind, .noMatchingIdentity)
        XCTAssertEqual(error?.category, .verificationFailed)
        XCTAssertFalse(error?.description.contains("correct horse") ?? true, "no passphrase in messages")
    }

    func testWrongKeysAreRejected() throws {
        let file = try Fixtures.encrypt(Fixtures.plaintext(100), to: [.symmetricKey(key), .x25519(X25519.PrivateKey().publicKey)])
        XCTAssertEqual(assertEncryptionError(try Fixtures.decrypt(file, with: [.symmetricKey(SecretKey(randomByteCount: 32))]))?.kind, .noMatchingIdentity)
        XCTAssertEqual(assertEncryptionError(try Fixtures.decrypt(file, with: [.x25519(X25519.PrivateKey())]))?.kind, .noMatchingIdentity)
        XCTAssertEqual(assertEncryptionError(try Fixtures.decrypt(file, with: [.passphrase(SecretBytes(copying: [1, 2, 3]))]))?.kind, .noMatchingIdentity)
    }

    func testRecipientRules() throws {
        let pass = SecretBytes(copying: Array("pw".utf8))
        XCTAssertEqual(assertEncryptionError(try Fixtures.encrypt([], to: []))?.kind, .invalidRequest)
        XCTAssertEqual(assertEncryptionError(try Fixtures.encrypt([], to: [.passphrase(pass, Fixtures.fastArgon2), .symmetricKey(key)]))?.kind, .invalidRequest)
        let many: [any Recipient] = (0...ArtifactEncryption.maximumRecipients).map { _ in SymmetricKeyRecipient(SecretKey(randomByteCount: 32)) }
        XCTAssertEqual(assertEncryptionError(try Fixtures.encrypt([], to: many))?.kind, .invalidRequest)
        // Exactly the maximum works, and the last recipient can decrypt.
        let keys = (0..<ArtifactEncryption.maximumRecipients).map { _ in SecretKey(randomByteCount: 32) }
        let file = try Fixtures.encrypt([7, 7, 7], to: keys.map { .symmetricKey($0) })
        XCTAssertEqual(try Fixtures.decrypt(file, with: [.symmetricKey(keys.last!)]), [7, 7, 7])
        for bad in [0, 1000, 4097, 2 * 1024 * 1024] {
            XCTAssertEqual(assertEncryptionError(try Fixtures.encrypt([], to: [.symmetricKey(key)], chunkSize: bad))?.kind, .invalidRequest)
        }
        XCTAssertEqual(assertEncryptionError(try Fixtures.encrypt([], to: [.passphrase(pass, .init(iterations: 100, memoryKiB: 64))]))?.kind, .invalidRequest)
    }

    func testFreshFileKeyAndSaltEveryTime() throws {
        let plain = Fixtures.plaintext(4096)
        let a = try Fixtures.encrypt(plain, to: [.symmetricKey(key)])
        let b = try Fixtures.encrypt(plain, to: [.symmetricKey(key)])
        XCTAssertNotEqual(Array(a[14..<46]), Array(b[14..<46]), "salt")
        XCTAssertNotEqual(Array(a[Fixtures.chunkRanges(a)[0]]), Array(b[Fixtures.chunkRanges(b)[0]]), "payload")
    }

    func testRandomAccessReadsAnyRange() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = Fixtures.plaintext(5 * 4096 + 123)
        let path = dir.appendingPathComponent("f.enc").path
        try AtomicFileWriter.write(try Fixtures.encrypt(plain, to: [.symmetricKey(key)]), to: path)
        let reader = try RandomAccessDecryptor(path: path, identities: [.symmetricKey(key)])
        XCTAssertEqual(reader.plaintextSize, UInt64(plain.count))
        let ranges: [Range<Int>] = [0..<1, 0..<4096, 4095..<4097, 100..<9000, 5 * 4096..<plain.count, 20_000..<plain.count, 7..<7]
        for r in ranges {
            XCTAssertEqual(try reader.read(UInt64(r.lowerBound)..<UInt64(r.upperBound)), Array(plain[r]), "\(r)")
        }
        XCTAssertEqual(try reader.read(0..<UInt64.max), plain, "clamped to the end")
    }

    func testRandomAccessDetectsTamperingAndTruncation() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = Fixtures.plaintext(4 * 4096 + 10)
        let file = try Fixtures.encrypt(plain, to: [.symmetricKey(key)])
        let chunks = Fixtures.chunkRanges(file)
        let tampered = dir.appendingPathComponent("t.enc").path
        try AtomicFileWriter.write(Fixtures.flipping(file, at: chunks[2].lowerBound + 5), to: tampered)
        let reader = try RandomAccessDecryptor(path: tampered, identities: [.symmetricKey(key)])
        XCTAssertEqual(try reader.read(0..<8192), Array(plain[0..<8192]), "untouched chunks still read")
        XCTAssertEqual(assertEncryptionError(try reader.read(8192..<8193))?.kind, .authenticationFailed)
        // Truncated at a chunk boundary: the final-chunk check at open catches it.
        let truncated = dir.appendingPathComponent("c.enc").path
        try AtomicFileWriter.write(Array(file[0..<chunks[3].upperBound]), to: truncated)
        XCTAssertEqual(assertEncryptionError(try RandomAccessDecryptor(path: truncated, identities: [.symmetricKey(key)]))?.kind, .authenticationFailed)
    }
}
