import ArtifactEncryption
import Foundation
import ModelSecCrypto
import XCTest

/// Helpers shared by the encryption tests: in-memory encrypt/decrypt and
/// offsets of a file's regions (computed from docs/encryption-format.md).
enum Fixtures {
    /// Cheap Argon2id parameters so passphrase tests stay fast.
    static let fastArgon2 = Argon2id.Parameters(iterations: 1, memoryKiB: 64)

    /// Deterministic-looking but random plaintext.
    static func plaintext(_ count: Int) -> [UInt8] { SecureRandom.bytes(count: count) }

    /// Encrypts in memory through the streaming ``Encryptor``.
    static func encrypt(_ plaintext: [UInt8], to recipients: [Recipient], chunkSize: Int = 4096) throws -> [UInt8] {
        var out: [UInt8] = []
        let encryptor = try Encryptor(recipients: recipients, chunkSize: chunkSize) { out.append(contentsOf: $0) }
        try encryptor.write(from: MemorySource(plaintext))
        try encryptor.finish()
        return out
    }

    /// Decrypts in memory through the streaming ``Decryptor``.
    static func decrypt(_ ciphertext: [UInt8], with identities: [Identity]) throws -> [UInt8] {
        var out: [UInt8] = []
        let decryptor = try Decryptor(source: MemorySource(ciphertext), identities: identities)
        try decryptor.decrypt { out.append(contentsOf: $0) }
        return out
    }

    /// The header size of a file: 47 fixed bytes, each stanza (3 + body), 32 MAC bytes.
    static func headerSize(_ file: [UInt8]) -> Int {
        var pos = 47
        for _ in 0..<Int(file[46]) {
            pos += 3 + (Int(file[pos + 1]) << 8 | Int(file[pos + 2]))
        }
        return pos + 32
    }

    /// Start offsets of each stanza.
    static func stanzaOffsets(_ file: [UInt8]) -> [Int] {
        var pos = 47
        var out: [Int] = []
        for _ in 0..<Int(file[46]) {
            out.append(pos)
            pos += 3 + (Int(file[pos + 1]) << 8 | Int(file[pos + 2]))
        }
        return out
    }

    /// The chunk size recorded in the header.
    static func chunkSize(_ file: [UInt8]) -> Int {
        Int(file[10]) << 24 | Int(file[11]) << 16 | Int(file[12]) << 8 | Int(file[13])
    }

    /// Byte ranges of each sealed chunk (ciphertext and tag).
    static func chunkRanges(_ file: [UInt8]) -> [Range<Int>] {
        let start = headerSize(file), sealed = chunkSize(file) + 16
        var out: [Range<Int>] = []
        var pos = start
        while pos < file.count {
            out.append(pos..<min(pos + sealed, file.count))
            pos += sealed
        }
        return out
    }

    /// A copy of `file` with bit 0 of byte `offset` flipped.
    static func flipping(_ file: [UInt8], at offset: Int, bit: UInt8 = 1) -> [UInt8] {
        var copy = file
        copy[offset] ^= bit
        return copy
    }
}

/// Asserts `body` throws an ``EncryptionError`` and returns it.
@discardableResult
func assertEncryptionError<T>(_ body: @autoclosure () throws -> T, _ message: String = "",
                              file: StaticString = #filePath, line: UInt = #line) -> EncryptionError? {
    do {
        _ = try body()
        XCTFail("expected an EncryptionError: \(message)", file: file, line: line)
        return nil
    } catch let error as EncryptionError {
        return error
    } catch {
        XCTFail("expected an EncryptionError, got \(error): \(message)", file: file, line: line)
        return nil
    }
}
