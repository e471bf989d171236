import ModelSecCrypto
import TestSupport
import XCTest

/// Every Wycheproof case for the parameters modelsec supports: `valid` cases
/// must pass, `invalid` ones must be rejected.
final class WycheproofTests: XCTestCase {
    func testAES256GCM() throws {
        let file = try WycheproofFile<AEADGroup>.load("aes_gcm_test.json")
        var checked = 0
        for group in file.testGroups where group.keySize == 256 && group.ivSize == 96 && group.tagSize == 128 {
            for t in group.tests {
                let key = SecretKey(copying: TestSupport.hex(t.key))
                let box = AES256.GCM.SealedBox(nonce: TestSupport.hex(t.iv), ciphertext: TestSupport.hex(t.ct), tag: TestSupport.hex(t.tag))
                let opened = try? AES256.GCM.open(box, using: key, authenticating: TestSupport.hex(t.aad))
                if t.result == "valid" {
                    XCTAssertEqual(opened, TestSupport.hex(t.msg), "tcId \(t.tcId) should open")
                    let sealed = try AES256.GCM.seal(TestSupport.hex(t.msg), using: key, nonce: TestSupport.hex(t.iv), authenticating: TestSupport.hex(t.aad))
                    XCTAssertEqual(sealed.ciphertext, TestSupport.hex(t.ct), "tcId \(t.tcId) ciphertext")
                    XCTAssertEqual(sealed.tag, TestSupport.hex(t.tag), "tcId \(t.tcId) tag")
                } else {
                    XCTAssertNil(opened, "tcId \(t.tcId) is invalid and must be rejected")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 60)
    }

    func testEd25519() throws {
        let file = try WycheproofFile<SignatureGroup>.load("ed25519_test.json")
        var checked = 0
        for group in file.testGroups {
            let key = try Ed25519.PublicKey(rawRepresentation: TestSupport.hex(group.publicKey.pk!))
            let viaSPKI = try PublicKey(spkiDER: TestSupport.hex(group.publicKeyDer))
            guard case let .ed25519(spkiKey) = viaSPKI else { return XCTFail("SPKI did not decode as Ed25519") }
            XCTAssertEqual(spkiKey.rawRepresentation, key.rawRepresentation)
            for t in group.tests {
                let ok = key.isValidSignature(TestSupport.hex(t.sig), for: TestSupport.hex(t.msg))
                XCTAssertEqual(ok, t.result == "valid", "tcId \(t.tcId) \(t.flags)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, file.numberOfTests)
    }

    func testECDSAP256SHA256() throws {
        let file = try WycheproofFile<SignatureGroup>.load("ecdsa_secp256r1_sha256_test.json")
        var checked = 0
        for group in file.testGroups {
            let key = try ECDSA.PublicKey(derRepresentation: TestSupport.hex(group.publicKeyDer))
            XCTAssertEqual(key.x963Representation, TestSupport.hex(group.publicKey.uncompressed!))
            for t in group.tests {
                let ok = key.isValidSignature(TestSupport.hex(t.sig), for: TestSupport.hex(t.msg))
                XCTAssertEqual(ok, t.result == "valid", "tcId \(t.tcId) \(t.flags)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, file.numberOfTests)
    }

    func testX25519() throws {
        let file = try WycheproofFile<XDHGroup>.load("x25519_test.json")
        var checked = 0
        for group in file.testGroups {
            for t in group.tests {
                let priv = try X25519.PrivateKey(rawBytes: TestSupport.hex(t.private))
                let pub = try X25519.PublicKey(rawRepresentation: TestSupport.hex(t.public))
                let expected = TestSupport.hex(t.shared)
                do {
                    let shared = try priv.sharedSecret(with: pub)
                    XCTAssertEqual(shared.withUnsafeBytes { Array($0) }, expected, "tcId \(t.tcId)")
                    XCTAssertNotEqual(t.result, "invalid", "tcId \(t.tcId)")
                } catch CryptoBackendError.lowOrderPoint {
                    // Rejecting the all-zero result is allowed (RFC 7748 §6.1); only for those cases.
                    XCTAssertEqual(expected, [UInt8](repeating: 0, count: 32), "tcId \(t.tcId) rejected a non-zero result")
                    XCTAssertNotEqual(t.result, "valid", "tcId \(t.tcId) is valid")
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, file.numberOfTests)
    }

    func testHKDFSHA256() throws {
        let file = try WycheproofFile<HKDFGroup>.load("hkdf_sha256_test.json")
        var checked = 0
        for group in file.testGroups {
            for t in group.tests {
                let ikm = TestSupport.hex(t.ikm)
                let result: [UInt8]?
                if ikm.isEmpty {
                    result = nil
                } else {
                    result = try? HKDFSHA256.deriveKey(inputKeyMaterial: SecretKey(copying: ikm), salt: TestSupport.hex(t.salt),
                                                       info: TestSupport.hex(t.info), outputByteCount: t.size).withUnsafeBytes { Array($0) }
                }
                if t.result == "valid" {
                    XCTAssertEqual(result, TestSupport.hex(t.okm), "tcId \(t.tcId)")
                } else {
                    XCTAssertNil(result, "tcId \(t.tcId) must be rejected")
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, file.numberOfTests)
    }

    func testHMACSHA256FullLengthTags() throws {
        let file = try WycheproofFile<MACGroup>.load("hmac_sha256_test.json")
        var checked = 0
        for group in file.testGroups where group.tagSize == 256 {
            for t in group.tests {
                let key = SecretKey(copying: TestSupport.hex(t.key))
                let ok = HMACSHA256.isValidAuthenticationCode(TestSupport.hex(t.tag), authenticating: TestSupport.hex(t.msg), using: key)
                XCTAssertEqual(ok, t.result == "valid", "tcId \(t.tcId)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 80)
    }
}
