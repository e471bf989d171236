import AccessTokens
import Foundation
import ModelSecCrypto
import XCTest

/// Swift's `String ==` is Unicode canonical equivalence (NFC `é` equals NFD
/// `e` + U+0301; U+212A KELVIN SIGN equals `K`). Every JWT library on the
/// other side compares bytes, so each claim and header the verifier matches
/// must match on exact UTF-8 bytes.
final class UnicodeEquivalenceClassTests: XCTestCase {
    typealias F = TokenFixtures

    let key = Ed25519.PrivateKey()
    var signer: SigningPrivateKey { .ed25519(key) }

    static let nfc = "caf\u{E9}"      // café, precomposed
    static let nfd = "cafe\u{301}"    // café, e + combining acute

    func testSpellingsDifferInBytesButNotToSwift() {
        XCTAssertEqual(Self.nfc, Self.nfd, "the premise: Swift String == says equal")
        XCTAssertNotEqual(Array(Self.nfc.utf8), Array(Self.nfd.utf8))
        XCTAssertEqual("\u{212A}", "K", "the premise: KELVIN SIGN == K to Swift")
    }

    func verifier(issuer: String = F.issuer, audience: String = F.audience, keyID: String? = nil,
                  revoked: [String] = [], scopes: [String] = []) throws -> AccessTokenVerifier {
        try AccessTokenVerifier(keys: [try VerificationKey(signer.publicKey, keyID: keyID)], issuer: issuer, audience: audience,
                                revocations: RevocationList(Set(revoked)), requiredScopes: scopes.map { try ModelScope(parsing: $0) })
    }

    func token(kid: String? = nil, claims: [String: Any?] = [:]) throws -> String {
        try F.forge(header: F.header(alg: "EdDSA", kid: kid ?? signer.publicKey.keyID), payload: F.claimsJSON(claims), key: signer)
    }

    func assertRejected(_ token: String, by verifier: AccessTokenVerifier, code: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try verifier.verify(token, now: F.now), file: file, line: line) { error in
            XCTAssertEqual((error as? TokenRejection)?.code, code, "\(error)", file: file, line: line)
        }
    }

    func testUnicodeEquivalenceClass_issuerNFDvsNFC() throws {
        let v = try verifier(issuer: "https://\(Self.nfc).example")
        XCTAssertNoThrow(try v.verify(try token(claims: ["iss": "https://\(Self.nfc).example"]), now: F.now))
        assertRejected(try token(claims: ["iss": "https://\(Self.nfd).example"]), by: v, code: "wrong_issuer")
    }

    func testUnicodeEquivalenceClass_audienceNFDvsNFC() throws {
        let v = try verifier(audience: "deploy-\(Self.nfc)")
        XCTAssertNoThrow(try v.verify(try token(claims: ["aud": ["other", "deploy-\(Self.nfc)"]]), now: F.now))
        assertRejected(try token(claims: ["aud": "deploy-\(Self.nfd)"]), by: v, code: "wrong_audience")
        assertRejected(try token(claims: ["aud": ["other", "deploy-\(Self.nfd)"]]), by: v, code: "wrong_audience")
    }

    func testUnicodeEquivalenceClass_kidNFDvsNFC() throws {
        let v = try verifier(keyID: "key-\(Self.nfc)")
        XCTAssertNoThrow(try v.verify(try token(kid: "key-\(Self.nfc)"), now: F.now))
        assertRejected(try token(kid: "key-\(Self.nfd)"), by: v, code: "unknown_kid")
    }

    func testUnicodeEquivalenceClass_kidKelvinSign() throws {
        let v = try verifier(keyID: "K1")
        assertRejected(try token(kid: "\u{212A}1"), by: v, code: "unknown_kid")
    }

    /// A `jti` is an opaque id: the list revokes exactly the ids it spells.
    func testUnicodeEquivalenceClass_revocationListMatchesExactBytes() throws {
        let listed = try verifier(revoked: ["token-\(Self.nfc)"])
        assertRejected(try token(claims: ["jti": "token-\(Self.nfc)"]), by: listed, code: "revoked")
        XCTAssertNoThrow(try listed.verify(try token(claims: ["jti": "token-\(Self.nfd)"]), now: F.now),
                         "an NFD jti is another token id than the NFC one listed")
        XCTAssertFalse(RevocationList(text: "token-\(Self.nfc)\n").contains("token-\(Self.nfd)"))
        XCTAssertTrue(RevocationList(text: "token-\(Self.nfd)\n").contains("token-\(Self.nfd)"))
    }

    /// RFC 6749 §3.3: scopes are separated by the byte 0x20. A space followed
    /// by a combining mark is one `Character`, but still a separator.
    func testUnicodeEquivalenceClass_scopeListSplitOnSpaceByte() throws {
        let v = try verifier(scopes: ["model:deploy:resnet@2.1.0"])
        XCTAssertNoThrow(try v.verify(try token(claims: ["scope": "model:deploy:resnet@2.1.0 \u{301}model:pull:x@1"]), now: F.now))
        let claims = AccessTokenClaims(issuer: "i", subject: "s", audience: ["a"], expiresAt: 1, issuedAt: 0, tokenID: "j", clientID: "c",
                                       scope: "model:pull:a@1 \u{301}model:pull:b@1 model:pull:c@1")
        XCTAssertEqual(claims.modelScopes.map(\.description), ["model:pull:a@1", "model:pull:c@1"])
    }

    /// Scope parts are split on the bytes `:` and `@`, and only ASCII is admitted.
    func testScopePartsAreAsciiAndSplitOnBytes() {
        for bad in ["model:pull:resnet@\u{301}1", "model:pull:\u{212A}@1", "model:\u{301}pull:a@1", "model:pull:a@1\u{301}", "m\u{301}odel:pull:a@1"] {
            XCTAssertThrowsError(try ModelScope(parsing: bad), bad)
        }
    }

    func testTypFoldsAsciiCaseOnlyAndAlgIsExact() throws {
        let v = try verifier()
        let kid = signer.publicKey.keyID
        let upper = try F.forge(header: F.header(alg: "EdDSA", kid: kid, typ: "AT+JWT"), payload: F.claimsJSON(), key: signer)
        XCTAssertNoThrow(try v.verify(upper, now: F.now), "typ is a media type: ASCII case does not matter")
        // U+0130 lowercases to "i" + U+0307 and U+212A to "k" under Unicode case
        // mapping; only ASCII letters fold.
        let dotted = try F.forge(header: F.header(alg: "EdDSA", kid: kid, typ: "appl\u{130}cation/at+jwt"), payload: F.claimsJSON(), key: signer)
        assertRejected(dotted, by: v, code: "wrong_typ")
        let accented = try F.forge(header: F.header(alg: "EdDSA\u{301}", kid: kid), payload: F.claimsJSON(), key: signer)
        assertRejected(accented, by: v, code: "alg_unsupported")
    }

    func testUnicodeEquivalenceClass_jwksKeyTypeAndKidExact() throws {
        let x = Base64URL.encode(key.publicKey.rawRepresentation)
        func keys(_ members: String) throws -> [VerificationKey] {
            try JSONWebKeySet.keys(from: Array("{\"keys\":[\(members)]}".utf8), source: "jwks.json")
        }
        XCTAssertEqual(try keys(#"{"kty":"OKP","crv":"Ed25519","kid":"a","x":"\#(x)"}"#).map(\.keyID), ["a"])
        // KELVIN SIGN in kty: jwt-kit's enum reads it as OKP; as bytes it is no key type we know.
        XCTAssertThrowsError(try keys(#"{"kty":"O\u212AP","crv":"Ed25519","kid":"a","x":"\#(x)"}"#))
        // Two kids equal to Swift but not in bytes are two keys, each found by its own bytes.
        let both = try keys(#"{"kty":"OKP","crv":"Ed25519","kid":"\#(Self.nfc)","x":"\#(x)"},{"kty":"OKP","crv":"Ed25519","kid":"\#(Self.nfd)","x":"\#(x)"}"#)
        XCTAssertEqual(both.map { Array($0.keyID.utf8) }, [Array(Self.nfc.utf8), Array(Self.nfd.utf8)])
    }
}
