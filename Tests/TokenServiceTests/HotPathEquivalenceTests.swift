import AccessTokens
import Foundation
@testable import TokenService
import XCTest

/// The token endpoint's hot path reads plain inputs without Foundation
/// (JSONDecoder, CharacterSet): each shortcut must give what the general
/// path gives, and leave everything else to it.
final class HotPathEquivalenceTests: XCTestCase {
    private func members(_ json: String) throws -> [JSONObjectScanner.Member] {
        try XCTUnwrap(JSONObjectScanner.members(Array(json.utf8)), json)
    }

    /// Where the plain reading answers, JSONDecoder reads the same claims;
    /// where it does not (escapes, arrays, floats, nulls, leading zeros,
    /// wrong types, missing members), it leaves the document to JSONDecoder.
    func testPlainClaimsAreWhatJSONDecoderReads() throws {
        let plain = [
            #"{"iss":"c","sub":"c","aud":"https://as.example/token","iat":1764585600,"exp":1764585880,"jti":"a1"}"#,
            #" { "iss" : "c" , "sub":"c","aud":"x","exp":0,"jti":"j","extra":true,"more":null,"n":12,"f":false } "#,
            #"{"iss":"c d","sub":"c d","aud":"x","exp":99,"nbf":5,"jti":"~!#$%&'()*+,-./:;<=>?@[]^_`{|}"}"#,
        ]
        for json in plain {
            let direct = try XCTUnwrap(ClientAssertion.plainClaims(try members(json)), json)
            XCTAssertEqual(direct, try JSONDecoder().decode(ClientAssertion.Claims.self, from: Data(json.utf8)), json)
        }
        let general = [
            #"{"iss":"c\u0041","sub":"cA","aud":"x","exp":1,"jti":"j"}"#, // an escape
            #"{"iss":"c","sub":"c","aud":["x","y"],"exp":1,"jti":"j"}"#, // an array
            #"{"iss":"c","sub":"c","aud":"x","exp":1.0,"jti":"j"}"#, // not an integer literal
            #"{"iss":"c","sub":"c","aud":"x","exp":01,"jti":"j"}"#, // a leading zero
            #"{"iss":"c","sub":"c","aud":"x","exp":-1,"jti":"j"}"#, // a sign
            #"{"iss":"c","sub":"c","aud":"x","exp":1,"iat":null,"jti":"j"}"#, // null
            #"{"iss":"c","sub":"c","aud":"x","exp":1,"jti":"j","o":{"a":1}}"#, // an object
            #"{"iss":"caf\#u{E9}","sub":"c","aud":"x","exp":1,"jti":"j"}"#, // non-ASCII
            #"{"iss":"c","sub":"c","aud":"x","exp":1,"jti":7}"#, // a number for a string
            #"{"iss":"c","sub":"c","aud":"x","exp":"1","jti":"j"}"#, // a string for a number
            #"{"iss":"c","sub":"c","aud":"x","jti":"j"}"#, // no exp
            #"{"iss":"c","sub":"c","aud":"x","exp":1,"jti":"j","x":tru}"#, // not JSON
            #"{"iss":"c","sub":"c","aud":"x","exp":1234567890123456789,"jti":"j"}"#, // 19 digits
        ]
        for json in general {
            XCTAssertNil(ClientAssertion.plainClaims(try members(json)), json)
        }
        XCTAssertThrowsError(try JSONDecoder().decode(ClientAssertion.Claims.self, from: Data(general[11].utf8)), "really not JSON")
    }

    func testPlainHeaderIsWhatJSONDecoderReads() throws {
        let plain = [#"{"alg":"ES256","typ":"JWT"}"#, #"{"typ":"JWT","alg":"EdDSA","kid":"k-1"}"#, #"{"alg":"ES256"}"#,
                     #"{"alg":"ES256","crit":null}"#, #"{"alg":"ES256","x5u":"https://a.example/k","b64":false}"#]
        for json in plain {
            let direct = try XCTUnwrap(ClientAssertion.plainHeader(try members(json)), json)
            XCTAssertEqual(direct, try JSONDecoder().decode(JOSEHeader.self, from: Data(json.utf8)), json)
        }
        for json in [#"{"typ":"JWT"}"#, #"{"alg":1}"#, #"{"alg":"ES256","kid":null}"#, #"{"alg":"ES256","typ":7}"#,
                     #"{"alg":"ES\u0032\u0035\u0036"}"#, #"{"alg":"ES256","crit":["exp"]}"#, #"{"alg":"ES256","jwk":{"kty":"EC"}}"#] {
            XCTAssertNil(ClientAssertion.plainHeader(try members(json)), json)
        }
        XCTAssertEqual(try XCTUnwrap(ClientAssertion.plainHeader(try members(#"{"alg":"ES256","crit":null}"#))).hasCritical, true)
    }

    /// The content type check on bytes gives the CharacterSet/lowercased
    /// answer for ASCII values (non-ASCII ones still take that path).
    func testFormContentTypeCheckMatchesTheGeneralOne() {
        func reference(_ value: String) -> Bool {
            let parts = value.split(separator: ";", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.first == "application/x-www-form-urlencoded" else { return false }
            return parts.dropFirst().allSatisfy { $0 == "charset=utf-8" || $0 == "charset=\"utf-8\"" }
        }
        let values = [
            "application/x-www-form-urlencoded", "Application/X-WWW-Form-URLEncoded", " application/x-www-form-urlencoded\t",
            "application/x-www-form-urlencoded;charset=utf-8", "application/x-www-form-urlencoded; Charset=\"UTF-8\" ",
            "application/x-www-form-urlencoded;", "application/x-www-form-urlencoded; charset=latin1",
            "application/x-www-form-urlencoded; charset=utf-8; charset=utf-8", "application/x-www-form-urlencoded ; charset=utf-8",
            "application/json", "", ";", "application/x-www-form-urlencodedx", "application/x-www-form-urlencode",
            "application/x-www-form-urlencoded\n", "\u{B}application/x-www-form-urlencoded", "application/x-www-form-urlencoded;charset = utf-8",
            "\u{A0}application/x-www-form-urlencoded", "application/x-www-form-urlencoded;\u{3000}charset=utf-8",
            "APPLICATION/X-WWW-FORM-URLENCODED;CHARSET=UTF-8",
        ]
        for value in values {
            XCTAssertEqual(TokenEndpoint.isFormContentType(value), reference(value), value.debugDescription)
        }
        XCTAssertFalse(TokenEndpoint.isFormContentType(nil))
        XCTAssertTrue(TokenEndpoint.isFormContentType("\u{A0}application/x-www-form-urlencoded"), "non-ASCII spaces: the general path")
    }
}
