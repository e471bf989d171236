import ArtifactEncryption
import Foundation
import ModelSecCrypto
import XCTest

/// Every region of a file, altered, truncated, extended, reordered or mixed
/// with another file, must fail to decrypt, and never yield altered plaintext.
final class TamperTests: XCTestCase {
    let key = SecretKey(randomByteCount: 32)
    let x25519 = X25519.PrivateKey()
    lazy var plain = Fixtures.plaintext(4 * 4096 + 1000)   // 5 chunks of 4096
    lazy var file = try! Fixtures.encrypt(plain, to: [.x25519(x25519.publicKey), .symmetricKey(key)])

    /// Decrypting `bytes` must fail; streamed output must be a chunk-aligned
    /// prefix of the plaintext (only authenticated chunks are released).
    @discardableResult
    func assertRejected(_ bytes: [UInt8], _ what: String, identities: [Identity]? = nil,
                        file: StaticString = #filePath, line: UInt = #line) -> EncryptionError? {
        var released: [UInt8] = []
        do {
            let decryptor = try Decryptor(source: MemorySource(bytes), identities: identities ?? [.symmetricKey(key)])
            try decryptor.decrypt { released.append(contentsOf: $0) }
            XCTFail("\(what): decrypted without error", file: file, line: line)
            return nil
        } catch let error as EncryptionError {
            XCTAssertTrue(released.count % 4096 == 0 && released.count < plain.count, "\(what): released \(released.count) bytes", file: file, line: line)
            XCTAssertEqual(released, Array(plain.prefix(released.count)), "\(what): released altered plaintext", file: file, line: line)
            return error
        } catch {
            XCTFail("\(what): unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    func testBitFlipInEveryHeaderByte() {
        let header = Fixtures.headerSize(file)
        for offset in 0..<header {
            for bit: UInt8 in [0x01, 0x80] {
                let error = assertRejected(Fixtures.flipping(file, at: offset, bit: bit), "header byte \(offset) bit \(bit)")
                XCTAssertNotNil(error)
            }
        }
    }

    func testBitFlipInEachRecipientAndMACIsAnAuthenticationFailure() {
        let stanzas = Fixtures.stanzaOffsets(file)
        XCTAssertEqual(stanzas.count, 2)
        let macStart = Fixtures.headerSize(file) - 32
        // Salt, every stanza body byte, every MAC byte: the structure stays valid,
        // so these must be reported as authentication failures (exit 1), not malformed.
        var offsets = Array(14..<46) + Array(macStart..<(macStart + 32))
        for s in stanzas { offsets += Array((s + 3)..<(s + 3 + (Int(file[s + 1]) << 8 | Int(file[s + 2])))) }
        for offset in offsets {
            for identities: [Identity] in [[.symmetricKey(key)], [.x25519(x25519)]] {
                let error = assertRejected(Fixtures.flipping(file, at: offset), "byte \(offset)", identities: identities)
                XCTAssertEqual(error?.category, .verificationFailed, "byte \(offset): \(error?.description ?? "")")
            }
        }
    }

    func testBitFlipInFirstMiddleLastChunkAndEachTag() {
        let chunks = Fixtures.chunkRanges(file)
        XCTAssertEqual(chunks.count, 5)
        for (index, range) in chunks.enumerated() {
            let tag = range.upperBound - 16
            for offset in [range.lowerBound, (range.lowerBound + tag) / 2, tag - 1, tag, range.upperBound - 1] {
                let error = assertRejected(Fixtures.flipping(file, at: offset), "chunk \(index) byte \(offset)")
                XCTAssertEqual(error?.kind, .authenticationFailed)
            }
        }
    }

    func testTruncationAtAndBetweenChunkBoundaries() {
        let header = Fixtures.headerSize(file)
        let chunks = Fixtures.chunkRanges(file)
        var cuts = [0, 8, 46, header - 1, header, header + 1, header + 15, header + 16]
        for range in chunks.dropLast() { cuts += [range.upperBound, range.upperBound - 1, range.upperBound - 16, range.upperBound + 1] }
        cuts += [file.count - 1, file.count - 16, file.count - 17]
        for cut in cuts {
            let error = assertRejected(Array(file[0..<cut]), "truncated to \(cut)")
            if cut >= header { XCTAssertEqual(error?.kind, .authenticationFailed, "cut \(cut)") }
        }
    }

    func testAppendedData() {
        let chunks = Fixtures.chunkRanges(file)
        for extra in [[0], [UInt8](repeating: 0, count: 16), Array(file[chunks[4]]), Array(file[chunks[1]])] {
            XCTAssertEqual(assertRejected(file + extra, "appended \(extra.count)")?.kind, .authenticationFailed)
        }
    }

    func testAppendingAfterAnExactMultipleOfTheChunkSize() throws {
        // A file whose last chunk is full: appending a valid-looking empty final chunk must fail.
        let plain = Fixtures.plaintext(2 * 4096)
        let f = try Fixtures.encrypt(plain, to: [.symmetricKey(key)])
        XCTAssertEqual(Fixtures.chunkRanges(f).count, 2)
        XCTAssertThrowsError(try Fixtures.decrypt(f + [UInt8](repeating: 0, count: 16), with: [.symmetricKey(key)]))
        XCTAssertThrowsError(try Fixtures.decrypt(Array(f.dropLast(4096 + 16)), with: [.symmetricKey(key)]))
    }

    func testSwappedAndDuplicatedChunks() {
        let c = Fixtures.chunkRanges(file)
        var swapped = file
        swapped.replaceSubrange(c[1], with: file[c[2]])
        swapped.replaceSubrange(c[2], with: file[c[1]])
        XCTAssertEqual(assertRejected(swapped, "chunks 1 and 2 swapped")?.kind, .authenticationFailed)
        var duplicated = file
        duplicated.replaceSubrange(c[2], with: file[c[1]])
        XCTAssertEqual(assertRejected(duplicated, "chunk 1 copied over chunk 2")?.kind, .authenticationFailed)
        var dropped = file
        dropped.removeSubrange(c[1])
        XCTAssertEqual(assertRejected(dropped, "chunk 1 removed")?.kind, .authenticationFailed)
    }

    func testChunkFromAnotherFileWithTheSameKeyFile() throws {
        let other = try Fixtures.encrypt(plain, to: [.x25519(x25519.publicKey), .symmetricKey(key)])
        XCTAssertEqual(Fixtures.headerSize(other), Fixtures.headerSize(file))
        let c = Fixtures.chunkRanges(file)
        for index in [0, 2, 4] {
            var mixed = file
            mixed.replaceSubrange(c[index], with: other[c[index]])
            XCTAssertEqual(assertRejected(mixed, "chunk \(index) from another file")?.kind, .authenticationFailed)
        }
        // The other file's header with this file's payload.
        let header = Fixtures.headerSize(file)
        XCTAssertEqual(assertRejected(Array(other[0..<header]) + file[header...], "header from another file")?.kind, .authenticationFailed)
    }

    func testStanzaFromAnotherFileIsCaughtByTheHeaderMAC() throws {
        // Replacing this file's key-file stanza with one (for the same key) from
        // another file unwraps a different file key: the header MAC must fail.
        let other = try Fixtures.encrypt(plain, to: [.x25519(x25519.publicKey), .symmetricKey(key)])
        let s = Fixtures.stanzaOffsets(file)[1]
        var mixed = file
        mixed.replaceSubrange(s..<(s + 67), with: other[s..<(s + 67)])
        XCTAssertEqual(assertRejected(mixed, "stanza from another file")?.kind, .authenticationFailed)
    }
}
