@testable import AccessTokens
import Foundation
import ModelSecCrypto
import XCTest

/// The issuer writes a token's claims directly instead of through a
/// `JSONEncoder` per token: the bytes must be what the encoder (sorted keys,
/// slashes unescaped) wrote, for every string a claim can hold.
final class IssuerClaimsEncodingTests: XCTestCase {
    private func encoderBytes(_ claims: AccessTokenClaims) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(claims))
    }

    func testClaimsAreTheBytesJSONEncoderWrites() throws {
        var hostile = "a\"b\\c/d é \u{2028}\u{2029} 😀 \u{7F}\u{80}\u{9F}\u{FEFF}"
        for scalar in 0..<0x20 { hostile.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        let strings = ["", "plain", "https://issuer.example/path?q=1&r=2", hostile, String(repeating: "x", count: 300)]
        var cases = 0
        for text in strings {
            for audience in [[text], ["deploy-gate", text], [text, "", "third"]] {
                for (iat, notBefore) in [(Int64(1_764_585_600), nil), (0, Int64(-1)), (Int64.max - 1, Int64.min)] as [(Int64, Int64?)] {
                    let claims = AccessTokenClaims(issuer: text, subject: text + "s", audience: audience, expiresAt: iat &+ 1,
                                                   issuedAt: iat, notBefore: notBefore, tokenID: text + "j", clientID: "c" + text,
                                                   scope: text + " model:pull:x@1")
                    let direct = AccessTokenIssuer.claimsJSON(claims)
                    XCTAssertEqual(String(decoding: direct, as: UTF8.self), String(decoding: try encoderBytes(claims), as: UTF8.self))
                    XCTAssertEqual(try JSONDecoder().decode(AccessTokenClaims.self, from: Data(direct)), claims, "reads back")
                    cases += 1
                }
            }
        }
        XCTAssertEqual(cases, strings.count * 9)
    }

    /// An issued token's payload segment is those bytes.
    func testIssuedTokenPayloadIsTheClaimsJSON() throws {
        let issuer = try AccessTokenIssuer(signingKey: SigningPrivateKey.ed25519(try Ed25519.PrivateKey(seedBytes: [UInt8](repeating: 7, count: 32))),
                                           issuer: "https://issuer.example/")
        let issued = try issuer.issue(.init(subject: "deployer", audiences: ["gate-a", "gate-b"],
                                            scopes: [try ModelScope(parsing: "model:deploy:resnet@2.1.0")]))
        let parsed = try CompactJWS(parsing: issued.token)
        XCTAssertEqual(parsed.payload, try encoderBytes(issued.claims))
    }
}
