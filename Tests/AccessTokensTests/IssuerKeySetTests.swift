import AccessTokens
import Foundation
import ModelSecCrypto
import XCTest

/// An outside issuer's JWK Set (``IssuerKeySet``): which keys are used,
/// skipped or refused. The RSA moduli are made-up odd numbers of the right
/// size (reading a key checks its shape, not that it was ever generated).
final class IssuerKeySetTests: XCTestCase {
    private let n2048 = Base64URL.encode([0xC3] + [UInt8](repeating: 0x5A, count: 254) + [0x01])
    private let n1024 = Base64URL.encode([0xC3] + [UInt8](repeating: 0x5A, count: 126) + [0x01])
    private let e = Base64URL.encode([0x01, 0x00, 0x01])

    private func read(_ keys: [[String: Any]]) throws -> [IssuerKey] {
        let document = try JSONSerialization.data(withJSONObject: ["keys": keys])
        return try IssuerKeySet.keys(from: Array(document), source: "jwks.json")
    }

    private func assertRefused(_ keys: [[String: Any]], _ code: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try read(keys), file: file, line: line) {
            XCTAssertEqual(($0 as? TokenInputError)?.code, code, "\($0)", file: file, line: line)
        }
    }

    func testRSAKeysGetOneAlgorithmAndOthersAreSkipped() throws {
        let ec = try JSONSerialization.jsonObject(with: Data(try JSONWebKeySet.document(
            for: [VerificationKey(.ecdsa(ECDSA.PrivateKey(curve: .p256).publicKey), keyID: "ec")]).utf8)) as? [String: Any]
        let ecKey = try XCTUnwrap((ec?["keys"] as? [[String: Any]])?.first)
        let keys = try read([
            ["kty": "RSA", "kid": "plain", "n": n2048, "e": e],
            ["kty": "RSA", "kid": "rs", "alg": "RS256", "use": "sig", "n": n2048, "e": e],
            ["kty": "RSA", "kid": "ps", "alg": "PS256", "n": n2048, "e": e],
            ["kty": "RSA", "kid": "rs512", "alg": "RS512", "n": n2048, "e": e],
            ["kty": "RSA", "kid": "enc", "use": "enc", "n": n2048, "e": e],
            ["kty": "RSA", "kid": "wrap", "key_ops": ["wrapKey"], "n": n2048, "e": e],
            ["kty": "oct", "kid": "hmac", "k": "c2VjcmV0"],
            ecKey,
        ])
        XCTAssertEqual(keys.map(\.keyID), ["plain", "rs", "ps", "ec"])
        XCTAssertEqual(keys.map(\.algorithm), ["RS256", "RS256", "PS256", "ES256"])
    }

    func testUnusableRSAKeysAreRefusedWithTheirReason() {
        assertRefused([["kty": "RSA", "kid": "weak", "n": n1024, "e": e]], "token.jwks-invalid-rsa-key")
        assertRefused([["kty": "RSA", "kid": "even-e", "n": n2048, "e": Base64URL.encode([0x01, 0x00])]], "token.jwks-invalid-rsa-key")
        assertRefused([["kty": "RSA", "kid": "no-e", "n": n2048]], "token.jwks-invalid-rsa-key")
        assertRefused([["kty": "RSA", "kid": "padded", "n": n2048 + "=", "e": e]], "token.jwks-invalid-rsa-key")
        assertRefused([["kty": "RSA", "kid": "private", "n": n2048, "e": e, "d": "AQAB"]], "token.jwks-private-key")
        assertRefused([["kty": "RSA", "n": n2048, "e": e]], "token.jwks-key-without-id")
        assertRefused([["kty": "RSA", "kid": "same", "n": n2048, "e": e], ["kty": "RSA", "kid": "same", "n": n2048, "e": e]],
                      "token.duplicate-key-id")
        assertRefused([["kty": "RSA", "kid": "only-512", "alg": "RS512", "n": n2048, "e": e]], "token.jwks-no-usable-keys")
        assertRefused(Array(repeating: ["kty": "oct", "kid": "x"], count: IssuerKeySet.maximumKeyCount + 1), "token.jwks-malformed")
        XCTAssertThrowsError(try IssuerKeySet.keys(from: [UInt8](repeating: 0x20, count: IssuerKeySet.maximumDocumentSize + 1),
                                                   source: "big.json")) {
            XCTAssertEqual(($0 as? TokenInputError)?.code, "token.jwks-malformed")
        }
    }

    func testTheOwnJWKSReaderStillSkipsRSA() throws {
        // token verify's reader (modelsec's own tokens) is unchanged: RSA keys are not token keys there.
        let document = try JSONSerialization.data(withJSONObject: ["keys": [["kty": "RSA", "kid": "rs", "n": n2048, "e": e]]])
        XCTAssertThrowsError(try JSONWebKeySet.keys(from: Array(document), source: "jwks.json")) {
            XCTAssertEqual(($0 as? TokenInputError)?.code, "token.jwks-no-usable-keys")
        }
    }
}
