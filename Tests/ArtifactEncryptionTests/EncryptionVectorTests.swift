import ArtifactEncryption
import Foundation
import ModelSecCrypto
import ModelSecIO
import TestSupport
import XCTest

/// The published vectors (docs/encryption-vectors/) as three readers see them:
/// the library, the `modelsec decrypt` command and the independent Python
/// reader. Every valid vector decrypts to its plaintext; every must-reject
/// vector is refused with its error kind and exit code, and no plaintext is
/// left behind. The committed files are what the generator writes.
final class EncryptionVectorTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("modelsec-vectors") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testVectorSetCoversEveryRecipientTypeAndRequiredRejection() throws {
        let vectors = try EncryptionVectors.load()
        let valid = vectors.filter(\.isValid)
        let types = Set(valid.flatMap { $0.identities.map(\.type) })
        XCTAssertEqual(types, ["x25519", "symmetric-key", "passphrase"], "a valid vector for every recipient type")
        XCTAssertTrue(valid.contains { $0.expected.plaintextSize == 0 }, "an empty plaintext")
        XCTAssertTrue(valid.contains { ($0.expected.chunkCount ?? 0) >= 3 }, "a plaintext of several chunks")
        XCTAssertTrue(valid.contains { $0.expected.chunkSize == ArtifactEncryption.defaultChunkSize && ($0.expected.chunkCount ?? 0) > 1 },
                      "the default chunk size, with more than one chunk")
        let rejects = vectors.filter { !$0.isValid }
        XCTAssertGreaterThanOrEqual(rejects.count, 12)
        for vector in rejects {
            XCTAssertNotNil(vector.expectedKind, "\(vector.name): unknown expected result \(vector.expected.result)")
            XCTAssertNil(vector.expected.plaintextHex, vector.name)
        }
        // The named classes of damage each have a vector.
        let names = Set(vectors.map(\.name))
        for required in ["reject-truncated-in-stanza", "reject-truncated-after-header", "reject-truncated-final-chunk",
                         "reject-chunks-reordered", "reject-chunk-tag-flipped", "reject-header-mac-flipped",
                         "reject-trailing-byte", "reject-unsupported-version", "reject-stanza-duplicated",
                         "reject-two-passphrase-stanzas", "reject-x25519-low-order-zero", "reject-last-chunk-flag-missing",
                         "reject-empty-final-chunk-after-full-chunk"] {
            XCTAssertTrue(names.contains(required), "missing vector \(required)")
        }
        for kind in [EncryptionError.Kind.malformed, .authenticationFailed, .noMatchingIdentity] {
            XCTAssertTrue(rejects.contains { $0.expectedKind == kind }, "no must-reject vector of kind \(kind)")
        }
    }

    func testLibraryDecryptsEveryValidVectorAndRefusesEveryOther() throws {
        for vector in try EncryptionVectors.load() {
            let identities = try vector.libraryIdentities()
            var released: [UInt8] = []
            do {
                let decryptor = try Decryptor(source: MemorySource(vector.ciphertext), identities: identities)
                try decryptor.decrypt { released.append(contentsOf: $0) }
                XCTAssertTrue(vector.isValid, "\(vector.name): decrypted, but must be refused (\(vector.expected.result))")
                XCTAssertEqual(released, vector.plaintext, vector.name)
                XCTAssertEqual(decryptor.chunkSize, vector.expected.chunkSize, vector.name)
                XCTAssertEqual(decryptor.recipientTypes, vector.expected.recipientTypes, vector.name)
            } catch let error as EncryptionError {
                XCTAssertFalse(vector.isValid, "\(vector.name): refused: \(error)")
                XCTAssertEqual(error.kind, vector.expectedKind, "\(vector.name): \(error)")
                XCTAssertEqual(error.category == .verificationFailed ? 1 : 2, vector.expected.exitCode, vector.name)
            }
        }
    }

    func testRandomAccessAndInspectionAgreeWithValidVectors() throws {
        for vector in try EncryptionVectors.load() where vector.isValid {
            let path = dir.appendingPathComponent(vector.name + ".enc").path
            try AtomicFileWriter.write(vector.ciphertext, to: path)
            let info = try EncryptedFileInfo.inspect(path: path)
            XCTAssertEqual(info.headerSize, vector.expected.headerSize, vector.name)
            XCTAssertEqual(info.chunkCount, vector.expected.chunkCount, vector.name)
            XCTAssertEqual(info.plaintextSize, vector.expected.plaintextSize, vector.name)
            XCTAssertEqual(info.recipients.map(\.type), vector.expected.recipientTypes, vector.name)
            let reader = try RandomAccessDecryptor(path: path, identities: try vector.libraryIdentities())
            XCTAssertEqual(try reader.read(0..<UInt64.max), vector.plaintext, vector.name)
        }
    }

    func testPublishedIntermediatesFollowTheKeySchedule() throws {
        for vector in try EncryptionVectors.load() where vector.isValid {
            let file = vector.ciphertext
            guard let steps = vector.intermediates, let headerSize = vector.expected.headerSize,
                  let chunkSize = vector.expected.chunkSize, let plaintext = vector.plaintext else {
                XCTFail("\(vector.name): a valid vector publishes its intermediates and sizes"); continue
            }
            let fileKey = SecretKey(copying: TestSupport.hex(steps.fileKeyHex))
            let salt = Array(file[14..<46])
            let payloadKey = try HKDFSHA256.deriveKey(inputKeyMaterial: fileKey, salt: salt,
                                                      info: Array("modelsec-encryption/v1/payload".utf8), outputByteCount: 32)
            let headerKey = try HKDFSHA256.deriveKey(inputKeyMaterial: fileKey, salt: salt,
                                                     info: Array("modelsec-encryption/v1/header".utf8), outputByteCount: 32)
            XCTAssertEqual(payloadKey.withUnsafeBytes { Array($0) }, TestSupport.hex(steps.payloadKeyHex), vector.name)
            XCTAssertEqual(headerKey.withUnsafeBytes { Array($0) }, TestSupport.hex(steps.headerKeyHex), vector.name)
            let mac = HMACSHA256.authenticationCode(for: Array(file[0..<(headerSize - 32)]), using: headerKey)
            XCTAssertEqual(mac, Array(file[(headerSize - 32)..<headerSize]), "\(vector.name): header MAC")
            XCTAssertEqual(mac, TestSupport.hex(steps.headerMacHex), vector.name)
            // Chunk 0 opens under the payload key with nonce 0 ‖ (01 when it is the only chunk).
            let sealed = Array(file[headerSize..<min(file.count, headerSize + chunkSize + 16)])
            let nonce = [UInt8](repeating: 0, count: 11) + [vector.expected.chunkCount == 1 ? 1 : 0]
            let box = AES256.GCM.SealedBox(nonce: nonce, ciphertext: Array(sealed.dropLast(16)), tag: Array(sealed.suffix(16)))
            XCTAssertEqual(try AES256.GCM.open(box, using: payloadKey), Array(plaintext.prefix(chunkSize)), vector.name)
        }
    }

    func testDecryptCommandExitCodesAndOutputMatchEveryVector() throws {
        for vector in try EncryptionVectors.load() {
            let work = dir.appendingPathComponent(vector.name)
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: false)
            let input = work.appendingPathComponent("in.enc"), output = work.appendingPathComponent("out.bin")
            try Data(vector.ciphertext).write(to: input)
            let r = try TestSupport.modelsec(["decrypt", input.path, "-o", output.path] + (try vector.identityOptions(in: work)))
            XCTAssertEqual(r.status, vector.expected.exitCode, "\(vector.name): \(r.stderrText)")
            if vector.isValid {
                XCTAssertEqual(try? Data(contentsOf: output), vector.plaintext.map { Data($0) }, vector.name)
            } else {
                XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "\(vector.name): plaintext left behind")
                XCTAssertTrue(r.stderrText.contains(input.path), "\(vector.name): the error names the file: \(r.stderrText)")
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.contains("modelsec-tmp") }
                XCTAssertEqual(leftovers, [], vector.name)
            }
        }
    }

    func testReferenceReaderMatchesEveryVector() throws {
        let python = try TestSupport.python()
        let reader = TestSupport.repositoryRoot.appendingPathComponent("Tests/ArtifactEncryptionTests/reference_reader.py").path
        for vector in try EncryptionVectors.load() {
            let work = dir.appendingPathComponent(vector.name)
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: false)
            let input = work.appendingPathComponent("in.enc"), output = work.appendingPathComponent("out.bin")
            try Data(vector.ciphertext).write(to: input)
            let r = try TestSupport.run(python, [reader, input.path, output.path] + (try vector.identityOptions(in: work)))
            XCTAssertEqual(r.status, vector.expected.exitCode, "\(vector.name): \(r.stderrText)")
            if vector.isValid {
                XCTAssertEqual(try? Data(contentsOf: output), vector.plaintext.map { Data($0) }, vector.name)
            } else {
                XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), vector.name)
            }
        }
    }

    func testGeneratorReproducesTheCommittedVectors() throws {
        // Deterministic generation: the committed files are exactly what the script writes.
        let python = try TestSupport.python()
        let r = try TestSupport.run(python, [EncryptionVectors.generator, "--check"])
        XCTAssertEqual(r.status, 0, "docs/encryption-vectors is out of date; run generate.py: \(r.stderrText)")
    }
}
