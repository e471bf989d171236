import Foundation
import ModelSecCrypto
import ModelSecKeys
import PKCS11Keys
import TestSupport
import XCTest

/// Keys generated in and signing through a real PKCS#11 module (SoftHSM2),
/// checked by independent verifiers (modelsec's file-key code and the
/// `openssl` CLI).
final class SoftHSMSigningTests: XCTestCase {
    private var token: SoftHSMToken!

    override func setUpWithError() throws {
        token = try SoftHSMToken.make()
    }

    override func tearDown() {
        token?.remove()
    }

    private func uri(_ object: String, _ extra: String = "") throws -> PKCS11URI {
        try PKCS11URI(parsing: token.uri(object: object, extra: extra))
    }

    /// Verifies `signature` of `message` with `openssl pkeyutl` using the PEM public key.
    private func opensslVerifies(_ key: PKCS11SigningKey, _ message: [UInt8], _ signature: [UInt8]) throws -> Bool {
        let dir = token.directory
        let pub = dir.appendingPathComponent("pub-\(UUID().uuidString).pem")
        let msg = dir.appendingPathComponent("msg.bin")
        let sig = dir.appendingPathComponent("sig.bin")
        try key.publicKeyPEM.write(to: pub, atomically: true, encoding: .utf8)
        try Data(message).write(to: msg)
        try Data(signature).write(to: sig)
        var args = ["pkeyutl", "-verify", "-pubin", "-inkey", pub.path, "-sigfile", sig.path, "-in", msg.path]
        switch key.curve {
        case .ed25519: args.append("-rawin")
        case .p256: args += ["-rawin", "-digest", "sha256"]
        case .p384: args += ["-rawin", "-digest", "sha384"]
        case .p521: args += ["-rawin", "-digest", "sha512"]
        }
        return try TestSupport.run("/usr/bin/openssl", args).status == 0
    }

    func testGeneratedKeysStayInTheTokenAndSignForEveryCurve() throws {
        let message = Array("the model's signed statement".utf8)
        for curve in [PKCS11Curve.ed25519, .p256, .p384] {
            let key = try PKCS11SigningKey.generate(curve, at: uri("signing-\(curve.rawValue)"))
            XCTAssertEqual(key.curve, curve)
            XCTAssertEqual(key.attributes.sensitive, true, "\(curve)")
            XCTAssertEqual(key.attributes.extractable, false, "\(curve)")
            XCTAssertEqual(key.attributes.neverExtractable, true, "\(curve)")
            XCTAssertEqual(key.attributes.label, Array("signing-\(curve.rawValue)".utf8))
            XCTAssertEqual(key.attributes.id.count, 16)

            let signature = try key.signature(for: message)
            XCTAssertTrue(try opensslVerifies(key, message, signature), "openssl rejects the \(curve) signature")
            var tampered = message
            tampered[0] ^= 1
            XCTAssertFalse(try opensslVerifies(key, tampered, signature), "openssl accepts a \(curve) signature of other bytes")

            // Reopened by label alone, it is the same key.
            let reopened = try PKCS11SigningKey(uri: uri("signing-\(curve.rawValue)"))
            XCTAssertEqual(reopened.subjectPublicKeyInfo, key.subjectPublicKeyInfo)
        }
    }

    func testKeyIDIsTheSameRuleAsForKeyFiles() throws {
        for curve in [PKCS11Curve.ed25519, .p256] {
            let key = try PKCS11SigningKey.generate(curve, at: uri("id-\(curve.rawValue)"))
            // modelsec's own file-key code reads the PEM to the same id...
            let parsed = try PublicKey(pem: key.publicKeyPEM)
            XCTAssertEqual(parsed.keyID, key.keyID)
            XCTAssertEqual(parsed.pemRepresentation, key.publicKeyPEM)
            // ...and so does OpenSSL's re-encoding of it.
            let pub = token.directory.appendingPathComponent("k.pem")
            try key.publicKeyPEM.write(to: pub, atomically: true, encoding: .utf8)
            let r = try TestSupport.run("/usr/bin/openssl", ["pkey", "-pubin", "-in", pub.path, "-pubout"])
            XCTAssertEqual(r.stdoutText, key.publicKeyPEM)
            // A file-key verifier accepts the token's signature.
            let message = Array("m".utf8)
            XCTAssertTrue(parsed.isValidSignature(try key.signature(for: message), for: message), "\(curve)")
        }
    }

    func testWrongPINIsALoginErrorWithoutThePIN() throws {
        _ = try PKCS11SigningKey.generate(.ed25519, at: uri("k"))
        let wrong = token.directory.appendingPathComponent("wrong-pin")
        try "999999\n".write(to: wrong, atomically: true, encoding: .utf8)
        let text = "pkcs11:token=\(token.label);object=k?module-path=\(SoftHSMToken.modulePath)&pin-source=file:\(wrong.path)"
        XCTAssertThrowsError(try PKCS11SigningKey(uri: PKCS11URI(parsing: text))) { error in
            guard case PKCS11Error.login = error else { return XCTFail("\(error)") }
            XCTAssertFalse("\(error)".contains("999999"))
        }
    }

    func testPINFromTheEnvironmentWhenTheURINamesNoSource() throws {
        _ = try PKCS11SigningKey.generate(.ed25519, at: uri("env-key"))
        setenv(PKCS11URI.defaultPINEnvironmentVariable, token.pin, 1)
        defer { unsetenv(PKCS11URI.defaultPINEnvironmentVariable) }
        let text = "pkcs11:token=\(token.label);object=env-key?module-path=\(SoftHSMToken.modulePath)"
        XCTAssertNoThrow(try PKCS11SigningKey(uri: PKCS11URI(parsing: text)))
    }

    func testURIsThatMatchNothingOrSeveralKeysAreRefused() throws {
        _ = try PKCS11SigningKey.generate(.ed25519, at: uri("twin", ";id=%01"))
        // Generation never shadows an existing key, by label or by id.
        XCTAssertThrowsError(try PKCS11SigningKey.generate(.p256, at: uri("twin", ";id=%02"))) { error in
            XCTAssertEqual((error as? PKCS11Error)?.code, "pkcs11.key-exists")
        }
        XCTAssertThrowsError(try PKCS11SigningKey.generate(.p256, at: uri("other", ";id=%01"))) { error in
            XCTAssertEqual((error as? PKCS11Error)?.code, "pkcs11.key-exists")
        }
        XCTAssertThrowsError(try PKCS11SigningKey(uri: uri("nosuch"))) { error in
            XCTAssertEqual(error as? PKCS11Error, .object(matching: 0, uri: try! self.uri("nosuch").description))
        }
        let otherToken = "pkcs11:token=staging;object=twin?module-path=\(SoftHSMToken.modulePath)&pin-source=file:\(token.pinFile)"
        XCTAssertThrowsError(try PKCS11SigningKey(uri: PKCS11URI(parsing: otherToken))) { error in
            guard case PKCS11Error.token(matching: 0, _) = error else { return XCTFail("\(error)") }
        }
        // A label that equals another only under Unicode canonical equivalence names nothing.
        _ = try PKCS11SigningKey.generate(.ed25519, at: uri("caf%C3%A9"))
        XCTAssertThrowsError(try PKCS11SigningKey(uri: uri("cafe%CC%81"))) { error in
            guard case PKCS11Error.object(matching: 0, _) = error else { return XCTFail("\(error)") }
        }
    }

    func testAModuleThatIsNotPKCS11IsAClearError() throws {
        let text = "pkcs11:token=a;object=k?module-path=/usr/lib/x86_64-linux-gnu/libc.so.6"
        XCTAssertThrowsError(try PKCS11SigningKey(uri: PKCS11URI(parsing: text))) { error in
            XCTAssertEqual((error as? PKCS11Error)?.code, "pkcs11.module-load")
        }
        let missing = "pkcs11:token=a;object=k?module-path=/nonexistent/libpkcs11.so"
        XCTAssertThrowsError(try PKCS11SigningKey(uri: PKCS11URI(parsing: missing))) { error in
            XCTAssertEqual((error as? PKCS11Error)?.path, "/nonexistent/libpkcs11.so")
        }
    }
}
