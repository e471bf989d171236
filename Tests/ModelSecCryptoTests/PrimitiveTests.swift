import ModelSecCrypto
import TestSupport
import XCTest

final class PrimitiveTests: XCTestCase {
    func testSHA2KnownAnswersAndIncremental() {
        let abc = Array("abc".utf8)
        XCTAssertEqual(SHA2.SHA256.hash(data: abc).hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA2.SHA512.hash(data: abc).hex,
                       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        XCTAssertEqual(SHA2.SHA256.hash(data: [UInt8]()).hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // Incremental over uneven pieces equals one-shot.
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var h = SHA2.SHA256.hasher()
        var i = 0
        for size in [1, 63, 64, 65, 4096, 1] + Array(repeating: 7919, count: 12) where i < data.count {
            let end = min(i + size, data.count)
            h.update(Array(data[i..<end]))
            i = end
        }
        h.update(Array(data[i...]))
        let incremental = h.finalize()
        XCTAssertEqual(incremental, SHA2.SHA256.hash(data: data))
    }

    func testHexRoundTrip() {
        let bytes: [UInt8] = [0, 1, 0xab, 0xff]
        XCTAssertEqual(Hex.encode(bytes), "0001abff")
        XCTAssertEqual(Hex.decode("0001ABff"), bytes)
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        XCTAssertFalse(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        XCTAssertFalse(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        XCTAssertTrue(ConstantTime.equals([UInt8](), [UInt8]()))
        let a = SecretKey(copying: [UInt8](repeating: 7, count: 32))
        XCTAssertTrue(a.constantTimeEquals(SecretKey(copying: [UInt8](repeating: 7, count: 32))))
        XCTAssertFalse(a.constantTimeEquals(SecretKey(randomByteCount: 32)))
    }

    func testRandomBytesDiffer() {
        let a = SecureRandom.bytes(count: 32), b = SecureRandom.bytes(count: 32)
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b)
        for _ in 0..<1000 { XCTAssertLessThan(SecureRandom.uniform(10), 10) }
    }

    func testChunkCipherMatchesOneShotAcrossManyChunks() throws {
        let key = SecretKey(randomByteCount: 32)
        let cipher = try AES256.GCM.ChunkCipher(key: key)
        var plaintext = [UInt8](repeating: 0, count: 65536)
        var ciphertext = [UInt8](repeating: 0, count: 65536)
        var tag = [UInt8](repeating: 0, count: 16)
        for counter in 0..<5 {
            plaintext.withUnsafeMutableBytes { SecureRandom.fill($0) }
            var nonce = [UInt8](repeating: 0, count: 12)
            nonce[10] = UInt8(counter)
            let aad: [UInt8] = [UInt8(counter)]
            try plaintext.withUnsafeBytes { p in
                try nonce.withUnsafeBytes { n in
                    try aad.withUnsafeBytes { a in
                        try ciphertext.withUnsafeMutableBytes { c in
                            try tag.withUnsafeMutableBytes { t in try cipher.seal(p, nonce: n, authenticating: a, into: c, tag: t) }
                        }
                    }
                }
            }
            let reference = try AES256.GCM.seal(plaintext, using: key, nonce: nonce, authenticating: aad)
            XCTAssertEqual(reference.ciphertext, ciphertext)
            XCTAssertEqual(reference.tag, tag)
            // Open in place with the same context.
            var buffer = ciphertext
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try tag.withUnsafeBytes { t in
                        try buffer.withUnsafeMutableBytes { b in
                            try cipher.open(UnsafeRawBufferPointer(b), nonce: n, authenticating: a, tag: t, into: b)
                        }
                    }
                }
            }
            XCTAssertEqual(buffer, plaintext)
        }
    }

    func testChunkCipherRejectsWrongSizesAndZeroesOnFailure() throws {
        XCTAssertThrowsError(try AES256.GCM.ChunkCipher(key: SecretKey(randomByteCount: 16)))
        let key = SecretKey(randomByteCount: 32)
        let box = try AES256.GCM.seal(Array("secret plaintext".utf8), using: key)
        var tag = box.tag; tag[0] ^= 1
        let cipher = try AES256.GCM.ChunkCipher(key: key)
        var out = [UInt8](repeating: 0xee, count: box.ciphertext.count)
        XCTAssertThrowsError(try box.nonce.withUnsafeBytes { n in
            try box.ciphertext.withUnsafeBytes { c in
                try tag.withUnsafeBytes { t in
                    try out.withUnsafeMutableBytes { o in try cipher.open(c, nonce: n, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), tag: t, into: o) }
                }
            }
        })
        XCTAssertEqual(out, [UInt8](repeating: 0, count: out.count), "no unauthenticated plaintext may be left in the buffer")
        XCTAssertThrowsError(try AES256.GCM.seal([1, 2, 3] as [UInt8], using: key, nonce: [0, 1, 2]))
    }

    func testP256SignVerifyAndEncodings() throws {
        let key = ECDSA.PrivateKey(curve: .p256)
        let message = Array("model manifest".utf8)
        let der = try key.signature(for: message)
        XCTAssertTrue(key.publicKey.isValidSignature(der, for: message))
        XCTAssertFalse(key.publicKey.isValidSignature(der, for: message + [0]))
        let raw = try XCTUnwrap(ECDSASignatureEncoding.raw(fromDER: der))
        XCTAssertEqual(raw.count, 64)
        XCTAssertEqual(ECDSASignatureEncoding.der(fromRaw: raw), der)
        XCTAssertTrue(key.publicKey.isValidSignature(rawSignature: raw, for: message))
        XCTAssertTrue(key.publicKey.isValidSignature(rawSignature: try key.rawSignature(for: message), for: message))
        // Round trip of the public key through its x9.63 form.
        let again = try ECDSA.PublicKey(x963Representation: key.publicKey.x963Representation, curve: .p256)
        XCTAssertTrue(again.isValidSignature(der, for: message))
        // A point that is not on the curve is refused.
        var bad = key.publicKey.x963Representation
        bad[64] ^= 1
        XCTAssertThrowsError(try ECDSA.PublicKey(x963Representation: bad, curve: .p256))
    }

    func testEd25519AndX25519RoundTrips() throws {
        let signer = Ed25519.PrivateKey()
        let sig = signer.signature(for: Array("hello".utf8))
        XCTAssertTrue(signer.publicKey.isValidSignature(sig, for: Array("hello".utf8)))
        XCTAssertFalse(Ed25519.PrivateKey().publicKey.isValidSignature(sig, for: Array("hello".utf8)))
        let again = Ed25519.PrivateKey(seed: signer.seed)
        XCTAssertEqual(again.publicKey, signer.publicKey)

        let a = X25519.PrivateKey(), b = X25519.PrivateKey()
        XCTAssertTrue(try a.sharedSecret(with: b.publicKey).constantTimeEquals(try b.sharedSecret(with: a.publicKey)))
        XCTAssertThrowsError(try a.sharedSecret(with: X25519.PublicKey(rawRepresentation: [UInt8](repeating: 0, count: 32)))) {
            XCTAssertEqual($0 as? CryptoBackendError, .lowOrderPoint)
        }
    }

    /// Argon2id through libsodium agrees with Python's `cryptography` (an
    /// independent implementation of RFC 9106) on the same inputs.
    func testArgon2idMatchesPythonCryptography() throws {
        let salt = Array("0123456789abcdef".utf8)
        let params = Argon2id.Parameters(iterations: 2, memoryKiB: 8192)
        let key = try Argon2id.deriveKey(password: SecretBytes(copying: Array("correct horse".utf8)), salt: salt, parameters: params)
        let script = """
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
        print(Argon2id(salt=b"0123456789abcdef", length=32, iterations=2, lanes=1, memory_cost=8192).derive(b"correct horse").hex())
        """
        let result = try TestSupport.run("python3", ["-c", script])
        if result.status != 0, result.stderrText.contains("No module named") || result.stderrText.contains("cannot import") {
            throw XCTSkip("python cryptography without Argon2id: \(result.stderrText)")
        }
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertEqual(key.withUnsafeBytes { Hex.encode($0) }, result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertThrowsError(try Argon2id.deriveKey(password: SecretBytes(copying: [1]), salt: [1, 2, 3], parameters: params))
        XCTAssertThrowsError(try Argon2id.deriveKey(password: SecretBytes(copying: [1]), salt: salt, parameters: .init(iterations: 0, memoryKiB: 8192)))
    }

    /// Found by fuzz-keys (LeakSanitizer): a SubjectPublicKeyInfo followed by
    /// extra bytes was rejected but its parsed key was never freed. Under
    /// `make test-asan` this test fails again if the leak comes back.
    func testSPKIWithTrailingBytesIsRejectedAndReleased() throws {
        let key = ECDSA.PrivateKey(curve: .p256).publicKey
        for extra in [[0x00], [0x30, 0x00], [UInt8](repeating: 0xff, count: 40)] as [[UInt8]] {
            XCTAssertThrowsError(try ECDSA.PublicKey(derRepresentation: key.derRepresentation + extra)) {
                XCTAssertTrue("\($0)".contains("trailing bytes"), "\($0)")
            }
            XCTAssertThrowsError(try PublicKey(spkiDER: key.derRepresentation + extra))
        }
        XCTAssertNoThrow(try ECDSA.PublicKey(derRepresentation: key.derRepresentation))
    }
}
