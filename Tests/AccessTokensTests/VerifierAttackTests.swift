import AccessTokens
import Foundation
import ModelSecCrypto
import XCTest

/// Each verification rule, with a token that tries to get past it.
final class VerifierAttackTests: XCTestCase {
    typealias F = TokenFixtures

    let edKey = Ed25519.PrivateKey()
    let ecKey = ECDSA.PrivateKey(curve: .p256)
    var edSigner: SigningPrivateKey { .ed25519(edKey) }
    var ecSigner: SigningPrivateKey { .ecdsa(ecKey) }
    var edKid: String { PublicKey.ed25519(edKey.publicKey).keyID }
    var ecKid: String { PublicKey.ecdsa(ecKey.publicKey).keyID }

    func verifier(keys: [SigningPrivateKey]? = nil, leeway: Int64 = 30, revoked: Set<String> = [],
                  scopes: [String] = []) throws -> AccessTokenVerifier {
        let trusted = try (keys ?? [edSigner, ecSigner]).map { try VerificationKey($0.publicKey) }
        return try AccessTokenVerifier(keys: trusted, issuer: F.issuer, audience: F.audience,
                                       leeway: TokenDuration(seconds: leeway), revocations: RevocationList(revoked),
                                       requiredScopes: scopes.map { try ModelScope(parsing: $0) })
    }

    func assertRejected(_ token: String, by verifier: AccessTokenVerifier? = nil, code: String,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let v = try verifier ?? self.verifier()
        XCTAssertThrowsError(try v.verify(token, now: F.now), file: file, line: line) { error in
            guard let rejection = error as? TokenRejection else { return XCTFail("not a rejection: \(error)", file: file, line: line) }
            XCTAssertEqual(rejection.code, code, rejection.reason, file: file, line: line)
            XCTAssertEqual(rejection.category, .verificationFailed, file: file, line: line)
        }
    }

    func good(alg: String = "EdDSA", key: SigningPrivateKey? = nil, claims: [String: Any?] = [:]) throws -> String {
        let signer = key ?? edSigner
        let kid = signer.publicKey.keyID
        return try F.forge(header: F.header(alg: alg, kid: kid), payload: F.claimsJSON(claims), key: signer)
    }

    // MARK: baseline

    func testWellFormedTokensOfBothKeyTypesVerify() throws {
        let v = try verifier()
        let ed = try v.verify(try good(), now: F.now)
        XCTAssertEqual(ed.claims.subject, "ci-pipeline")
        XCTAssertEqual(ed.header.keyID, edKid)
        let ec = try v.verify(try good(alg: "ES256", key: ecSigner), now: F.now)
        XCTAssertEqual(ec.claims.tokenID, "token-1")
    }

    func testIssuedTokensVerifyAndCarryTheProfile() throws {
        let issuer = try AccessTokenIssuer(signingKey: ecSigner, issuer: F.issuer)
        let issued = try issuer.issue(.init(subject: "alice", audiences: [F.audience, "registry"],
                                            scopes: [try ModelScope(parsing: "model:pull:resnet@*")],
                                            lifetime: TokenDuration(seconds: 900)), now: F.now)
        let verified = try verifier(scopes: ["model:pull:resnet@3.0"]).verify(issued.token, now: F.now)
        XCTAssertEqual(verified.header, JOSEHeader(algorithm: "ES256", keyID: ecKid, type: "at+jwt"))
        XCTAssertEqual(verified.claims, issued.claims)
        XCTAssertEqual(verified.claims.issuedAt, F.nowSeconds)
        XCTAssertEqual(verified.claims.expiresAt, F.nowSeconds + 900)
        XCTAssertEqual(verified.claims.clientID, "alice", "client_id defaults to the subject")
        // Integer NumericDates on the wire, typ at+jwt in the header.
        let jws = try CompactJWS(parsing: issued.token)
        let payload = String(decoding: jws.payload, as: UTF8.self)
        XCTAssertTrue(payload.contains("\"exp\":\(F.nowSeconds + 900),"), payload)
        XCTAssertTrue(payload.contains("\"aud\":[\"deploy-gateway\",\"registry\"]"), payload)
        XCTAssertEqual(String(decoding: jws.header, as: UTF8.self), "{\"alg\":\"ES256\",\"kid\":\"\(ecKid)\",\"typ\":\"at+jwt\"}")
        // Distinct random jti per token.
        let second = try issuer.issue(.init(subject: "alice", audiences: [F.audience], scopes: [try ModelScope(parsing: "model:pull:a@1")]), now: F.now)
        XCTAssertNotEqual(second.claims.tokenID, issued.claims.tokenID)
        XCTAssertEqual(Base64URL.decode(second.claims.tokenID)?.count, 16)
    }

    func testIssuerRefusesLifetimeAboveMaximum() throws {
        let scopes = [try ModelScope(parsing: "model:pull:resnet@1")]
        let issuer = try AccessTokenIssuer(signingKey: edSigner, issuer: F.issuer)
        XCTAssertNoThrow(try issuer.issue(.init(subject: "s", audiences: ["a"], scopes: scopes, lifetime: TokenDuration(seconds: 86400))))
        XCTAssertThrowsError(try issuer.issue(.init(subject: "s", audiences: ["a"], scopes: scopes, lifetime: TokenDuration(seconds: 86401))))
        let strict = try AccessTokenIssuer(signingKey: edSigner, issuer: F.issuer, maximumLifetime: TokenDuration(seconds: 300))
        XCTAssertThrowsError(try strict.issue(.init(subject: "s", audiences: ["a"], scopes: scopes, lifetime: TokenDuration(seconds: 301)))) { error in
            XCTAssertEqual((error as? TokenInputError)?.category, .invalidInput)
        }
        XCTAssertThrowsError(try issuer.issue(.init(subject: "s", audiences: ["a"], scopes: [])))
        XCTAssertThrowsError(try issuer.issue(.init(subject: "s", audiences: ["a"], scopes: scopes, lifetime: TokenDuration(seconds: 0))))
    }

    // MARK: size and form

    func testOversizedTokenIsRejectedBeforeParsing() throws {
        let big = try good(claims: ["pad": String(repeating: "x", count: 9000)])
        try assertRejected(big, code: "too_large")
        // Garbage of the same size is refused the same way: nothing is parsed.
        try assertRejected(String(repeating: "!", count: 8193), code: "too_large")
    }

    func testMalformedTokensAreCleanErrors() throws {
        let valid = try good()
        let parts = valid.split(separator: ".").map(String.init)
        let cases = [
            "", "not a token", parts[0] + "." + parts[1], valid + ".AAAA",
            parts[0] + "=." + parts[1] + "." + parts[2],                          // padding
            parts[0] + "." + parts[1].replacingOccurrences(of: "_", with: "/") + "+." + parts[2], // std alphabet
            try F.forge(header: "not json", payload: F.claimsJSON(), key: edSigner),
            try F.forge(header: "[\"EdDSA\"]", payload: F.claimsJSON(), key: edSigner),
            try F.forge(header: #"{"alg":5,"typ":"at+jwt"}"#, payload: F.claimsJSON(), key: edSigner),
            try F.forge(header: #"{"typ":"at+jwt"}"#, payload: F.claimsJSON(), key: edSigner),
            #"{"protected":"\#(parts[0])","payload":"\#(parts[1])","signature":"\#(parts[2])"}"#, // JSON serialization
        ]
        for token in cases { try assertRejected(token, code: "malformed") }
        // Claims that are not JSON, or not an object, after a valid signature.
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: edKid), payload: "Example of Ed25519 signing", key: edSigner), code: "malformed")
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: edKid), payload: "[1,2]", key: edSigner), code: "malformed")
    }

    func testRandomMutationsNeverCrashOrPass() throws {
        let v = try verifier()
        let valid = Array(try good().utf8)
        var generator = SystemRandomGenerator()
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...127, using: &generator)
            }
            guard bytes != valid else { continue }
            let text = String(decoding: bytes, as: UTF8.self)
            if let accepted = try? v.verify(text, now: F.now) {
                // Strict base64url gives each byte string one encoding, so any change alters the signed bytes or the signature.
                XCTFail("mutated token accepted: \(text) \(accepted)")
            }
        }
    }

    // MARK: algorithm

    func testAlgNoneIsRejectedInAnyCase() throws {
        for alg in ["none", "None", "NONE", "nOnE"] {
            try assertRejected(try F.forge(header: F.header(alg: alg, kid: edKid), payload: F.claimsJSON(), key: nil, signature: []), code: "alg_none")
            try assertRejected(try F.forge(header: F.header(alg: alg, kid: nil), payload: F.claimsJSON(), key: nil, signature: []),
                               by: try verifier(keys: [edSigner]), code: "alg_none")
        }
    }

    func testHMACWithThePublicKeyAsSecretIsRejected() throws {
        // The classic confusion: HS256 keyed with the verifier's public key (PEM text or raw bytes).
        for secret in [Array(PublicKey.ed25519(edKey.publicKey).pemRepresentation.utf8), edKey.publicKey.rawRepresentation] {
            let header = F.header(alg: "HS256", kid: edKid)
            let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(F.claimsJSON().utf8))
            let mac = HMACSHA256.authenticationCode(for: Array(input.utf8), using: SecretKey(copying: secret))
            try assertRejected(input + "." + Base64URL.encode(mac), code: "alg_hmac")
        }
        for alg in ["HS384", "HS512", "hs256"] {
            try assertRejected(try F.forge(header: F.header(alg: alg, kid: edKid), payload: F.claimsJSON(), key: nil, signature: [1, 2, 3]), code: "alg_hmac")
        }
    }

    func testAlgorithmMustMatchTheKeyType() throws {
        // ES256 header naming the Ed25519 key (jwt-kit would accept a mismatch).
        try assertRejected(try F.forge(header: F.header(alg: "ES256", kid: edKid), payload: F.claimsJSON(), key: edSigner), code: "alg_mismatch")
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: ecKid), payload: F.claimsJSON(), key: ecSigner), code: "alg_mismatch")
        // Another ECDSA curve's alg under the Ed25519 key, or under the P-256 key.
        try assertRejected(try F.forge(header: F.header(alg: "ES384", kid: edKid), payload: F.claimsJSON(), key: edSigner), code: "alg_mismatch")
        try assertRejected(try F.forge(header: F.header(alg: "ES512", kid: ecKid), payload: F.claimsJSON(), key: ecSigner), code: "alg_mismatch")
        // Algorithms outside the profile.
        for alg in ["RS256", "es384", "PS256", "Ed25519", "eddsa", "ES256K", "ES384 ", ""] {
            try assertRejected(try F.forge(header: F.header(alg: alg, kid: edKid), payload: F.claimsJSON(), key: edSigner), code: "alg_unsupported")
        }
    }

    // MARK: typ and crit

    func testTypMustBeAccessTokenType() throws {
        for typ in [nil, "JWT", "jwt", "at+jwt ", "application/jwt", "at+jwt; q=1", "dpop+jwt"] as [String?] {
            try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: edKid, typ: typ), payload: F.claimsJSON(), key: edSigner), code: "wrong_typ")
        }
        let v = try verifier()
        for typ in ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"] {
            XCTAssertNoThrow(try v.verify(try F.forge(header: F.header(alg: "EdDSA", kid: edKid, typ: typ), payload: F.claimsJSON(), key: edSigner), now: F.now), typ)
        }
        try assertRejected(try F.forge(header: #"{"alg":"EdDSA","kid":"\#(edKid)","typ":1}"#, payload: F.claimsJSON(), key: edSigner), code: "malformed")
    }

    func testAnyCritHeaderIsRejected() throws {
        for crit in [#""crit":["exp"],"exp":1"#, #""crit":[]"#, #""crit":["b64"],"b64":false"#, #""crit":null"#] {
            try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: edKid, extra: crit), payload: F.claimsJSON(), key: edSigner), code: "crit_header")
        }
    }

    // MARK: key selection

    func testUnknownKidHasNoFallback() throws {
        // Signed by a trusted key but naming a kid nobody has: jwt-kit would fall back to its default key.
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: "other"), payload: F.claimsJSON(), key: edSigner), code: "unknown_kid")
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: "other"), payload: F.claimsJSON(), key: edSigner),
                           by: try verifier(keys: [edSigner]), code: "unknown_kid")
        // Case or whitespace variants of a real kid are different kids.
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: edKid.uppercased()), payload: F.claimsJSON(), key: edSigner), code: "unknown_kid")
    }

    func testMissingKidOnlyWithASingleTrustedKey() throws {
        let token = try F.forge(header: F.header(alg: "EdDSA", kid: nil), payload: F.claimsJSON(), key: edSigner)
        try assertRejected(token, code: "missing_kid")
        XCTAssertNoThrow(try verifier(keys: [edSigner]).verify(token, now: F.now))
    }

    func testKeysEmbeddedInTheTokenAreNeverTrusted() throws {
        let attacker = Ed25519.PrivateKey()
        let jwk = #""jwk":{"kty":"OKP","crv":"Ed25519","x":"\#(Base64URL.encode(attacker.publicKey.rawRepresentation))"}"#
        let others = #""jku":"https://attacker.example/jwks.json","x5u":"https://attacker.example/cert.pem","x5c":["MIIB"]"#
        // Naming a trusted kid: the signature is checked with the trusted key and fails.
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: edKid, extra: jwk + "," + others), payload: F.claimsJSON(), key: .ed25519(attacker)), code: "signature_invalid")
        // Naming the attacker's own kid: unknown.
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: "attacker", extra: jwk), payload: F.claimsJSON(), key: .ed25519(attacker)), code: "unknown_kid")
        // Without kid and a single trusted key: still the trusted key.
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: nil, extra: jwk), payload: F.claimsJSON(), key: .ed25519(attacker)),
                           by: try verifier(keys: [edSigner]), code: "signature_invalid")
    }

    // MARK: signature

    func testTamperedOrForeignSignaturesAreRejected() throws {
        let valid = try good()
        let parts = valid.split(separator: ".").map(String.init)
        // Payload swapped for one granting more.
        let greedy = Base64URL.encode(Array(F.claimsJSON(["scope": "model:deploy:*@*"]).utf8))
        try assertRejected(parts[0] + "." + greedy + "." + parts[2], code: "signature_invalid")
        // Empty and truncated signatures.
        try assertRejected(parts[0] + "." + parts[1] + ".", code: "signature_invalid")
        try assertRejected(parts[0] + "." + parts[1] + "." + String(parts[2].prefix(84)), code: "signature_invalid")
        // Signed by an untrusted key under the trusted kid.
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: edKid), payload: F.claimsJSON(), key: .ed25519(Ed25519.PrivateKey())), code: "signature_invalid")
        try assertRejected(try F.forge(header: F.header(alg: "ES256", kid: ecKid), payload: F.claimsJSON(), key: .ecdsa(ECDSA.PrivateKey(curve: .p256))), code: "signature_invalid")
        // A DER ECDSA signature (not JOSE's raw r||s) is refused.
        let header = F.header(alg: "ES256", kid: ecKid)
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(F.claimsJSON().utf8))
        let der = try ecKey.signature(for: Array(input.utf8))
        try assertRejected(input + "." + Base64URL.encode(der), code: "signature_invalid")
    }

    // MARK: claims

    func testClaimTypesAndPresence() throws {
        for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"] {
            try assertRejected(try good(claims: [claim: nil]), code: "missing_claim")
        }
        try assertRejected(try good(claims: ["exp": Double(F.nowSeconds) + 600.5]), code: "invalid_claim")
        try assertRejected(try good(claims: ["iat": "\(F.nowSeconds)"]), code: "invalid_claim")
        try assertRejected(try good(claims: ["nbf": true]), code: "invalid_claim")
        try assertRejected(try good(claims: ["aud": [String]()]), code: "invalid_claim")
        try assertRejected(try good(claims: ["aud": [1, 2]]), code: "invalid_claim")
        try assertRejected(try good(claims: ["iss": ["https://registry.example"]]), code: "invalid_claim")
        // A fractional date written as text (jwt-kit's habit) is refused.
        let fractional = F.claimsJSON().replacingOccurrences(of: "\"exp\":\(F.nowSeconds + 600)", with: "\"exp\":\(F.nowSeconds + 600).54")
        XCTAssertTrue(fractional.contains(".54"))
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: edKid), payload: fractional, key: edSigner), code: "invalid_claim")
    }

    func testIntegerLookingDatesMustBeWrittenAsIntegers() throws {
        // JSONDecoder would read these as integers; the profile requires integer literals.
        for spelling in ["\(F.nowSeconds + 600).0", "1.8000006e9", "18000006E2", "\(F.nowSeconds + 600).54"] {
            let claims = F.claimsJSON().replacingOccurrences(of: "\"exp\":\(F.nowSeconds + 600)", with: "\"exp\":\(spelling)")
            XCTAssertTrue(claims.contains(spelling))
            try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: edKid), payload: claims, key: edSigner), code: "invalid_claim")
        }
        let negativeNbf = F.claimsJSON(["nbf": -5])
        XCTAssertNoThrow(try verifier().verify(try F.forge(header: F.header(alg: "EdDSA", kid: edKid), payload: negativeNbf, key: edSigner), now: F.now))
    }

    func testDuplicateMembersAreRejected() throws {
        // JSONDecoder keeps the first duplicate, most JWT libraries the last: refuse the ambiguity.
        let dupHeader = #"{"alg":"EdDSA","kid":"\#(edKid)","typ":"at+jwt","typ":"JWT"}"#
        try assertRejected(try F.forge(header: dupHeader, payload: F.claimsJSON(), key: edSigner), code: "malformed")
        let escaped = #"{"alg":"EdDSA","kid":"\#(edKid)","typ":"at+jwt","\u0074yp":"JWT"}"#
        try assertRejected(try F.forge(header: escaped, payload: F.claimsJSON(), key: edSigner), code: "malformed")
        let claims = F.claimsJSON()
        let dupClaims = String(claims.dropLast()) + #","aud":"somewhere-else"}"#
        try assertRejected(try F.forge(header: F.header(alg: "EdDSA", kid: edKid), payload: dupClaims, key: edSigner), code: "malformed")
        // Nested objects may repeat names that appear at the top level.
        let nested = String(claims.dropLast()) + #","cnf":{"aud":"x","exp":1.5}}"#
        XCTAssertNoThrow(try verifier().verify(try F.forge(header: F.header(alg: "EdDSA", kid: edKid), payload: nested, key: edSigner), now: F.now))
    }

    func testIssuerIsComparedExactly() throws {
        for iss in ["https://registry.example/", "HTTPS://registry.example", "https://registry.example.evil", " https://registry.example", ""] {
            try assertRejected(try good(claims: ["iss": iss]), code: "wrong_issuer")
        }
    }

    func testAudienceMustContainTheExpectedOne() throws {
        try assertRejected(try good(claims: ["aud": "other-service"]), code: "wrong_audience")
        try assertRejected(try good(claims: ["aud": ["other", "deploy-gateway-2"]]), code: "wrong_audience")
        try assertRejected(try good(claims: ["aud": "Deploy-Gateway"]), code: "wrong_audience")
        XCTAssertNoThrow(try verifier().verify(try good(claims: ["aud": ["registry", F.audience]]), now: F.now))
        let rejection = TokenRejection.wrongAudience
        XCTAssertEqual(rejection.reason, "wrong audience")
    }

    func testExpiryWithLeeway() throws {
        // exp is exclusive: rejected once now - leeway >= exp.
        try assertRejected(try good(claims: ["exp": F.nowSeconds - 30]), code: "expired")
        try assertRejected(try good(claims: ["exp": F.nowSeconds - 3600]), code: "expired")
        XCTAssertNoThrow(try verifier().verify(try good(claims: ["exp": F.nowSeconds - 29]), now: F.now))
        try assertRejected(try good(claims: ["exp": F.nowSeconds]), by: try verifier(leeway: 0), code: "expired")
        XCTAssertNoThrow(try verifier(leeway: 0).verify(try good(claims: ["exp": F.nowSeconds + 1]), now: F.now))
        XCTAssertTrue(TokenRejection.expired(exp: 1, now: 2).reason.hasPrefix("expired"))
    }

    func testNotBeforeAndIssuedAtInTheFuture() throws {
        try assertRejected(try good(claims: ["nbf": F.nowSeconds + 31]), code: "not_yet_valid")
        XCTAssertNoThrow(try verifier().verify(try good(claims: ["nbf": F.nowSeconds + 30]), now: F.now))
        try assertRejected(try good(claims: ["iat": F.nowSeconds + 31]), code: "issued_in_future")
        XCTAssertNoThrow(try verifier().verify(try good(claims: ["iat": F.nowSeconds + 30]), now: F.now))
        try assertRejected(try good(claims: ["iat": F.nowSeconds + 1]), by: try verifier(leeway: 0), code: "issued_in_future")
    }

    func testRevokedTokenIDs() throws {
        try assertRejected(try good(), by: try verifier(revoked: ["token-1"]), code: "revoked")
        XCTAssertNoThrow(try verifier(revoked: ["token-2", "token-10"]).verify(try good(), now: F.now))
        let list = RevocationList(text: "# revoked after incident 42\n\n  token-1  \r\ntoken-3\n")
        XCTAssertEqual(list.tokenIDs, ["token-1", "token-3"])
    }

    func testRequiredScopes() throws {
        // Granted: model:deploy:resnet@2.1.0 model:pull:resnet@*
        XCTAssertNoThrow(try verifier(scopes: ["model:deploy:resnet@2.1.0", "model:pull:resnet@9.9"]).verify(try good(), now: F.now))
        try assertRejected(try good(), by: try verifier(scopes: ["model:deploy:resnet@2.1.1"]), code: "missing_scope")
        try assertRejected(try good(), by: try verifier(scopes: ["model:deploy:resnet@*"]), code: "missing_scope")
        try assertRejected(try good(), by: try verifier(scopes: ["model:pull:bert@1.0"]), code: "missing_scope")
        try assertRejected(try good(), by: try verifier(scopes: ["model:sign:resnet@2.1.0"]), code: "missing_scope")
        // Junk scope entries grant nothing; they do not break the token either.
        let junk = try good(claims: ["scope": "openid model:deploy:res*@2 model:deploy:resnet@2.1.0"])
        XCTAssertNoThrow(try verifier(scopes: ["model:deploy:resnet@2.1.0"]).verify(junk, now: F.now))
        try assertRejected(junk, by: try verifier(scopes: ["model:deploy:resnet2@2"]), code: "missing_scope")
        do {
            _ = try verifier(scopes: ["model:deploy:resnet@2.1.0"]).verify(try good(claims: ["scope": "model:pull:resnet@*"]), now: F.now)
            XCTFail("accepted")
        } catch let rejection as TokenRejection {
            XCTAssertEqual(rejection.reason, "missing scope model:deploy:resnet@2.1.0")
        }
    }

    func testVerifierConfigurationErrors() throws {
        XCTAssertThrowsError(try AccessTokenVerifier(keys: [], issuer: F.issuer, audience: F.audience))
        let key = try VerificationKey(edSigner.publicKey)
        XCTAssertThrowsError(try AccessTokenVerifier(keys: [key, key], issuer: F.issuer, audience: F.audience))
        XCTAssertThrowsError(try VerificationKey(.x25519(X25519.PrivateKey().publicKey)))
    }
}
