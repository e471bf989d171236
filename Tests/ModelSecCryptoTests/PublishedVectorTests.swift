import ModelSecCrypto
import TestSupport
import XCTest

/// RFC 8032 §7.1 (Ed25519), RFC 5869 appendix A (HKDF-SHA-256) and the AES-256
/// GCM test cases 13-16 of McGrew and Viega's GCM specification.
final class PublishedVectorTests: XCTestCase {
    struct EdVector { let name, secret, publicKey, message, signature: String }

    static let rfc8032: [EdVector] = [
        EdVector(name: "TEST 1",
                 secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                 publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                 message: "",
                 signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        EdVector(name: "TEST 2",
                 secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                 publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                 message: "72",
                 signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        EdVector(name: "TEST 3",
                 secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
                 publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                 message: "af82",
                 signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
        EdVector(name: "TEST SHA(abc)",
                 secret: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
                 publicKey: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
                 message: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
                 signature: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
    ]

    func testRFC8032Ed25519() throws {
        for v in Self.rfc8032 {
            let key = try Ed25519.PrivateKey(seedBytes: TestSupport.hex(v.secret))
            XCTAssertEqual(Hex.encode(key.publicKey.rawRepresentation), v.publicKey, v.name)
            let sig = key.signature(for: TestSupport.hex(v.message))
            XCTAssertEqual(Hex.encode(sig), v.signature, v.name)
            XCTAssertTrue(key.publicKey.isValidSignature(sig, for: TestSupport.hex(v.message)), v.name)
            var bad = sig
            bad[0] ^= 1
            XCTAssertFalse(key.publicKey.isValidSignature(bad, for: TestSupport.hex(v.message)), v.name)
        }
    }

    /// TEST 1024 of RFC 8032 §7.1: a 1023-byte message. Its digest is checked
    /// against the RFC's published message prefix/suffix and the signature.
    func testRFC8032Test1024() throws {
        let url = TestSupport.repositoryRoot.appendingPathComponent("Tests/ModelSecCryptoTests/Resources/rfc8032-test1024.txt")
        let fields = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").reduce(into: [String: String]()) { dict, line in
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { dict[String(parts[0])] = String(parts[1]) }
        }
        let message = TestSupport.hex(fields["message"]!)
        XCTAssertEqual(message.count, 1023)
        let key = try Ed25519.PrivateKey(seedBytes: TestSupport.hex(fields["secret"]!))
        XCTAssertEqual(Hex.encode(key.publicKey.rawRepresentation), fields["public"])
        XCTAssertEqual(Hex.encode(key.signature(for: message)), fields["signature"])
    }

    func testRFC5869HKDF() throws {
        struct V { let ikm, salt, info: String; let length: Int; let prk, okm: String }
        let vectors = [
            V(ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", salt: "000102030405060708090a0b0c", info: "f0f1f2f3f4f5f6f7f8f9", length: 42,
              prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
              okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
            V(ikm: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
              salt: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
              info: "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
              length: 82,
              prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
              okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"),
            V(ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", salt: "", info: "", length: 42,
              prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
              okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
        ]
        for v in vectors {
            let ikm = SecretKey(copying: TestSupport.hex(v.ikm))
            let prk = try HKDFSHA256.extract(inputKeyMaterial: ikm, salt: TestSupport.hex(v.salt))
            XCTAssertEqual(prk.withUnsafeBytes { Hex.encode($0) }, v.prk)
            let okm = try HKDFSHA256.expand(pseudoRandomKey: prk, info: TestSupport.hex(v.info), outputByteCount: v.length)
            XCTAssertEqual(okm.withUnsafeBytes { Hex.encode($0) }, v.okm)
            let oneShot = try HKDFSHA256.deriveKey(inputKeyMaterial: ikm, salt: TestSupport.hex(v.salt), info: TestSupport.hex(v.info), outputByteCount: v.length)
            XCTAssertTrue(oneShot.constantTimeEquals(okm))
        }
        XCTAssertThrowsError(try HKDFSHA256.expand(pseudoRandomKey: SecretKey(randomByteCount: 32), info: [UInt8](), outputByteCount: 255 * 32 + 1))
    }

    struct GCMVector { let name, key, iv, plaintext, aad, ciphertext, tag: String }

    static let gcmKey = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
    static let gcmPlaintext = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
    static let gcm: [GCMVector] = [
        GCMVector(name: "Test Case 13", key: String(repeating: "0", count: 64), iv: String(repeating: "0", count: 24), plaintext: "", aad: "",
                  ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"),
        GCMVector(name: "Test Case 14", key: String(repeating: "0", count: 64), iv: String(repeating: "0", count: 24),
                  plaintext: String(repeating: "0", count: 32), aad: "",
                  ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"),
        GCMVector(name: "Test Case 15", key: gcmKey, iv: "cafebabefacedbaddecaf888",
                  plaintext: gcmPlaintext + "1aafd255", aad: "",
                  ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
                  tag: "b094dac5d93471bdec1a502270e3cc6c"),
        GCMVector(name: "Test Case 16", key: gcmKey, iv: "cafebabefacedbaddecaf888",
                  plaintext: gcmPlaintext, aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                  ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                  tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
    ]

    func testGCMSpecificationCases13To16() throws {
        for v in Self.gcm {
            let key = SecretKey(copying: TestSupport.hex(v.key))
            let sealed = try AES256.GCM.seal(TestSupport.hex(v.plaintext), using: key, nonce: TestSupport.hex(v.iv), authenticating: TestSupport.hex(v.aad))
            XCTAssertEqual(Hex.encode(sealed.ciphertext), v.ciphertext, v.name)
            XCTAssertEqual(Hex.encode(sealed.tag), v.tag, v.name)
            XCTAssertEqual(try AES256.GCM.open(sealed, using: key, authenticating: TestSupport.hex(v.aad)), TestSupport.hex(v.plaintext), v.name)

            // A changed tag, nonce or associated data is rejected.
            var tag = sealed.tag; tag[15] ^= 0x80
            XCTAssertThrowsError(try AES256.GCM.open(.init(nonce: sealed.nonce, ciphertext: sealed.ciphertext, tag: tag), using: key,
                                                  authenticating: TestSupport.hex(v.aad)), v.name) { XCTAssertEqual($0 as? CryptoBackendError, .authenticationFailure) }
            var nonce = sealed.nonce; nonce[0] ^= 1
            XCTAssertThrowsError(try AES256.GCM.open(.init(nonce: nonce, ciphertext: sealed.ciphertext, tag: sealed.tag), using: key,
                                                  authenticating: TestSupport.hex(v.aad)), v.name)
            XCTAssertThrowsError(try AES256.GCM.open(sealed, using: key, authenticating: TestSupport.hex(v.aad) + [0]), v.name)
            if !sealed.ciphertext.isEmpty {
                var ct = sealed.ciphertext; ct[ct.count - 1] ^= 1
                XCTAssertThrowsError(try AES256.GCM.open(.init(nonce: sealed.nonce, ciphertext: ct, tag: sealed.tag), using: key,
                                                      authenticating: TestSupport.hex(v.aad)), v.name)
            }
        }
    }
}
