import ArtifactEncryption
import Foundation
import ModelSecCrypto
import ModelSecIO
import TestSupport
import XCTest

/// A reader rejects unknown versions, over-large headers and out-of-range
/// parameters as malformed (exit 2), before allocating anything large.
final class HeaderValidationTests: XCTestCase {
    let key = SecretKey(randomByteCount: 32)

    func malformed(_ bytes: [UInt8], identities: [Identity]? = nil, _ expect: EncryptionError.Problem,
                   file: StaticString = #filePath, line: UInt = #line) {
        let error = assertEncryptionError(try Fixtures.decrypt(bytes, with: identities ?? [.symmetricKey(key)]), file: file, line: line)
        XCTAssertEqual(error?.kind, .malformed, error?.description ?? "", file: file, line: line)
        XCTAssertEqual(error?.category, .invalidInput, file: file, line: line)
        XCTAssertEqual(error?.problem, expect, file: file, line: line)
    }

    func testRejectsWhatIsNotAnEncryptedFile() {
        malformed([], .badMagic)
        malformed(Array("hello, this is plain text, not an encrypted model at all".utf8), .badMagic)
        malformed(Array("MSECENC".utf8) + [0, 1], .headerTruncated(part: nil))
    }

    func testRejectsUnknownVersionAndFlags() throws {
        let file = try Fixtures.encrypt([1, 2, 3], to: [.symmetricKey(key)])
        for version: UInt8 in [0, 2, 255] {
            var f = file; f[8] = version
            malformed(f, .unsupportedVersion(version))
        }
        var f = file; f[9] = 1
        malformed(f, .unknownFlags(1))
    }

    func testRejectsChunkSizesOutOfRange() throws {
        let file = try Fixtures.encrypt([1, 2, 3], to: [.symmetricKey(key)])
        for size: UInt32 in [0, 1, 4095, 4097, 2 << 20, 0xFFFF_FFFF, 3 * 4096] {
            var f = file
            f.replaceSubrange(10..<14, with: withUnsafeBytes(of: size.bigEndian, Array.init))
            malformed(f, .chunkSizeOutOfRange(Int(size)))
        }
    }

    func testRejectsRecipientCountsOutOfRange() throws {
        let file = try Fixtures.encrypt([1, 2, 3], to: [.symmetricKey(key)])
        for count: UInt8 in [0, 33, 255] {
            var f = file; f[46] = count
            malformed(f, .recipientCountOutOfRange(Int(count)))
        }
    }

    func testStanzaSizesAreCheckedExactly() throws {
        let file = try Fixtures.encrypt([1, 2, 3], to: [.symmetricKey(key)])
        for length: UInt16 in [0, 63, 65, 0xFFFF] {
            var f = file
            f.replaceSubrange(48..<50, with: withUnsafeBytes(of: length.bigEndian, Array.init))
            malformed(f, .stanzaSize(index: 1, type: "symmetric-key", size: Int(length), expected: 64))
        }
        var f = file; f[47] = 9
        malformed(f, .unknownStanzaType(index: 1, type: 9))
        // A stanza claiming to be X25519 with a key-file-sized body.
        f = file; f[47] = 1
        malformed(f, .stanzaSize(index: 1, type: "x25519", size: 64, expected: 80))
    }

    func testPassphraseMustBeAloneAndItsParametersBounded() throws {
        let pass = SecretBytes(copying: Array("pw".utf8))
        let file = try Fixtures.encrypt([1, 2, 3], to: [.passphrase(pass, Fixtures.fastArgon2)])
        XCTAssertEqual(file[47], 3)
        // Two passphrase stanzas.
        var twice = Array(file[0..<47]) + Array(file[47..<(47 + 75)]) + Array(file[47..<(47 + 75)]) + Array(file[(47 + 75)...])
        twice[46] = 2
        malformed(twice, identities: [.passphrase(pass)], .passphraseNotAlone)
        // Huge memory or passes: refused before Argon2id runs (this would otherwise need 4 TiB).
        let cost = Fixtures.fastArgon2
        let memoryOffset = 47 + 3 + 20, iterationsOffset = 47 + 3 + 16
        let cases: [(offset: Int, value: UInt32)] = [
            (memoryOffset, .max), (memoryOffset, 2 * 1024 * 1024), (memoryOffset, 7), (iterationsOffset, 17), (iterationsOffset, 0),
        ]
        for (offset, value) in cases {
            var f = file
            f.replaceSubrange(offset..<(offset + 4), with: withUnsafeBytes(of: value.bigEndian, Array.init))
            let iterations = offset == iterationsOffset ? value : cost.iterations
            let memory = offset == memoryOffset ? value : cost.memoryKiB
            malformed(f, identities: [.passphrase(pass)], .argon2ParametersOutOfRange(iterations: iterations, memoryKiB: memory))
        }
    }

    func testInspectionReportsHeaderWithoutKeys() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("x.enc").path
        let file = try Fixtures.encrypt(Fixtures.plaintext(10_000), to: [.x25519(X25519.PrivateKey().publicKey), .symmetricKey(key)])
        try ModelSecIO.AtomicFileWriter.write(file, to: path)
        let info = try EncryptedFileInfo.inspect(path: path)
        XCTAssertEqual(info.formatVersion, 1)
        XCTAssertEqual(info.chunkSize, 4096)
        XCTAssertEqual(info.recipients.map(\.type), ["x25519", "symmetric-key"])
        XCTAssertEqual(info.plaintextSize, 10_000)
        XCTAssertEqual(info.chunkCount, 3)
        XCTAssertEqual(info.encryptedSize, UInt64(file.count))
    }
}
