import AccessTokens
import Foundation
import ModelSecCrypto
import XCTest

/// The verifier reads a token's header and claims once, with a bounded
/// parser: every spelling the earlier two-pass reading (a boundary scanner,
/// then `JSONDecoder`) refused is still refused with the same code (and, for
/// claim and header member checks, the same reason), what it accepted is
/// accepted, and nesting is bounded.
final class SinglePassDecodingTests: XCTestCase {
    typealias F = TokenFixtures

    let key = Ed25519.PrivateKey()
    var signer: SigningPrivateKey { .ed25519(key) }
    var kid: String { PublicKey.ed25519(key.publicKey).keyID }

    func verifier() throws -> AccessTokenVerifier {
        try AccessTokenVerifier(keys: [try VerificationKey(signer.publicKey)], issuer: F.issuer, audience: F.audience)
    }

    func token(header: String? = nil, claims: String) throws -> String {
        try F.forge(header: header ?? F.header(alg: "EdDSA", kid: kid), payload: claims, key: signer)
    }

    /// The rejection's code and reason, or "accepted".
    func outcome(header: String? = nil, claims: String) throws -> String {
        do {
            _ = try verifier().verify(try token(header: header, claims: claims), now: F.now)
            return "accepted"
        } catch let rejection as TokenRejection {
            return rejection.code + " | " + rejection.reason
        }
    }

    /// The valid claims with the member `name` (written last) replaced by `raw` JSON text.
    func claims(_ name: String, raw: String) -> String {
        var base = F.claimsJSON([name: nil])
        base.removeLast()
        return base + ",\"\(name)\":" + raw + "}"
    }

    func testDeeplyNestedClaimsAreRefusedWithinTheBound() throws {
        func nested(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        // 20 levels of an unknown claim are read (and ignored); 100 are refused
        // before the signature would matter (JSONDecoder read up to 512).
        XCTAssertEqual(try outcome(claims: claims("x", raw: nested(20))), "accepted")
        XCTAssertTrue(try outcome(claims: claims("x", raw: nested(100))).hasPrefix("malformed | malformed token: claims are not valid JSON"))
        let deepObject = String(repeating: "{\"a\":", count: 100) + "1" + String(repeating: "}", count: 100)
        XCTAssertTrue(try outcome(claims: claims("x", raw: deepObject)).hasPrefix("malformed |"))
        XCTAssertTrue(try outcome(header: #"{"alg":"EdDSA","kid":"\#(kid)","typ":"at+jwt","x":\#(nested(100))}"#, claims: F.claimsJSON())
            .hasPrefix("malformed | malformed token: header is not valid JSON"))
    }

    func testEveryRefusalKeepsItsAnswer() throws {
        let cases: [(String, String, String)] = [
            ("not an object", "[1,2]", "malformed | malformed token: claims are not a JSON object"),
            ("trailing bytes", F.claimsJSON() + "x", "malformed |"),
            ("trailing comma", String(F.claimsJSON().dropLast()) + ",}", "malformed |"),
            ("leading zero", claims("nbf", raw: "01"), "malformed | malformed token: claims are not valid JSON"),
            ("bare word", claims("x", raw: "tru"), "malformed | malformed token: claims are not valid JSON"),
            ("unescaped control", claims("x", raw: "\"a\u{01}b\""), "malformed | malformed token: claims are not valid JSON"),
            ("lone surrogate", claims("x", raw: #""\ud800""#), "malformed | malformed token: claims are not valid JSON"),
            ("bad escape", claims("x", raw: #""\q""#), "malformed | malformed token: claims are not valid JSON"),
            ("duplicate", String(F.claimsJSON().dropLast()) + #","jti":"other"}"#, "malformed | malformed token: claims have the member jti more than once"),
            ("escaped duplicate", String(F.claimsJSON().dropLast()) + #","\u006ati":"other"}"#, "malformed | malformed token: claims have the member jti more than once"),
            ("fraction", claims("exp", raw: "\(F.nowSeconds + 600).0"), "invalid_claim"),
            ("exponent", claims("exp", raw: "1.8000006e9"), "invalid_claim"),
            ("past Int64", claims("exp", raw: "99999999999999999999"), "invalid_claim"),
            ("null date", claims("nbf", raw: "null"), "invalid_claim"),
            ("string date", claims("iat", raw: "\"1\""), "invalid_claim"),
            ("aud of numbers", claims("aud", raw: "[1]"), "invalid_claim"),
            ("empty aud", claims("aud", raw: "[]"), "invalid_claim"),
            ("iss array", claims("iss", raw: #"["x"]"#), "invalid_claim"),
            ("no scope", F.claimsJSON(["scope": nil]), "missing_claim"),
        ]
        for (label, text, expected) in cases {
            let got = try outcome(claims: text)
            XCTAssertTrue(got.hasPrefix(expected), "\(label): \(got)")
        }
        // Escapes are decoded: an escaped issuer is the issuer.
        let escapedIssuer = claims("iss", raw: #""https:\/\/registry.\u0065xample""#)
        XCTAssertEqual(try outcome(claims: escapedIssuer), "accepted")
        // A surrogate pair decodes to its scalar (here in an ignored claim).
        XCTAssertEqual(try outcome(claims: claims("x", raw: #""\ud83d\ude00""#)), "accepted")
        // Whitespace around every token, as JSON allows.
        let spaced = F.claimsJSON().replacingOccurrences(of: ",\"", with: " ,\n\t\"").replacingOccurrences(of: "\":", with: "\" : ")
        XCTAssertEqual(try outcome(claims: " " + spaced + "\r\n"), "accepted")
    }

    func testHeaderRefusalsKeepTheirAnswers() throws {
        let claims = F.claimsJSON()
        XCTAssertEqual(try outcome(header: #"{"kid":"\#(kid)","typ":"at+jwt"}"#, claims: claims), "malformed | malformed token: header has no alg")
        XCTAssertEqual(try outcome(header: #"{"alg":1,"kid":"\#(kid)","typ":"at+jwt"}"#, claims: claims), "malformed | malformed token: header alg is not a string")
        XCTAssertEqual(try outcome(header: #"{"alg":"EdDSA","kid":null,"typ":"at+jwt"}"#, claims: claims), "malformed | malformed token: header kid is not a string")
        XCTAssertEqual(try outcome(header: #"{"alg":"EdDSA","kid":"\#(kid)","typ":7}"#, claims: claims), "malformed | malformed token: header typ is not a string")
        XCTAssertEqual(try outcome(header: #"["alg"]"#, claims: claims), "malformed | malformed token: header is not a JSON object")
        XCTAssertEqual(try outcome(header: #"{"alg":"EdDSA",}"#, claims: claims), "malformed | malformed token: header is not valid JSON")
        XCTAssertTrue(try outcome(header: #"{"alg":"EdDSA","kid":"\#(kid)","typ":"at+jwt","crit":null}"#, claims: claims)
            .hasPrefix("crit_header"))
        XCTAssertEqual(try outcome(header: #"{"alg":"EdDSA","kid":"\#(kid)","typ":"at+jwt","jwk":{"kty":"OKP"}}"#, claims: claims), "accepted")
    }

    func testStringsAreValidUTF8() throws {
        // Non-ASCII text is read as what it says; bytes that are not UTF-8 are refused.
        XCTAssertEqual(try outcome(claims: claims("x", raw: "\"d\u{E9}ploiement \u{1F680}\"")), "accepted")
        let sub = try verifier().verify(try token(claims: claims("sub", raw: "\"pipeline-\u{E9}t\u{E9}\"")), now: F.now).claims.subject
        XCTAssertEqual(Array(sub.utf8), Array("pipeline-\u{E9}t\u{E9}".utf8))
        for bad: [UInt8] in [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xE2, 0x82]] {
            var payload = Array(claims("x", raw: "\"ab\"").utf8)
            let insert = payload.lastIndex(of: UInt8(ascii: "b"))!
            payload.insert(contentsOf: bad, at: insert)
            let forged = try CompactJWS.sign(header: Array(F.header(alg: "EdDSA", kid: kid).utf8), payload: payload, with: signer)
            XCTAssertThrowsError(try verifier().verify(forged, now: F.now), "\(bad)") {
                XCTAssertEqual(($0 as? TokenRejection)?.reason, "malformed token: claims are not valid JSON", "\(bad)")
            }
        }
    }
}
