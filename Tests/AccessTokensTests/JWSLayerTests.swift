import AccessTokens
import ModelSecCrypto
import XCTest

final class JWSLayerTests: XCTestCase {
    /// RFC 8037 appendix A.4 with the A.1 key: the exact JWS bytes.
    func testRFC8037EdDSAVector() throws {
        let d = try XCTUnwrap(Base64URL.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"))
        let x = try XCTUnwrap(Base64URL.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
        let key = try Ed25519.PrivateKey(seedBytes: d)
        XCTAssertEqual(key.publicKey.rawRepresentation, x)
        let jws = try CompactJWS.sign(header: Array(#"{"alg":"EdDSA"}"#.utf8),
                                      payload: Array("Example of Ed25519 signing".utf8), with: SigningPrivateKey.ed25519(key))
        XCTAssertEqual(jws, "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")

        let parsed = try CompactJWS(parsing: jws)
        XCTAssertEqual(parsed.header, Array(#"{"alg":"EdDSA"}"#.utf8))
        XCTAssertEqual(parsed.payload, Array("Example of Ed25519 signing".utf8))
        XCTAssertTrue(key.publicKey.isValidSignature(parsed.signature, for: parsed.signingInput))
    }

    func testBase64URLIsStrict() {
        XCTAssertEqual(Base64URL.encode(Array("f".utf8)), "Zg")
        XCTAssertEqual(Base64URL.encode(Array("fo".utf8)), "Zm8")
        XCTAssertEqual(Base64URL.encode(Array("foo".utf8)), "Zm9v")
        XCTAssertEqual(Base64URL.encode([0xFB, 0xFF]), "-_8")
        XCTAssertEqual(Base64URL.decode("-_8"), [0xFB, 0xFF])
        XCTAssertEqual(Base64URL.decode(""), [])
        XCTAssertNil(Base64URL.decode("Zg=="), "padding")
        XCTAssertNil(Base64URL.decode("+/8"), "standard alphabet")
        XCTAssertNil(Base64URL.decode("Zm 8"), "whitespace")
        XCTAssertNil(Base64URL.decode("Z"), "impossible length")
        XCTAssertNil(Base64URL.decode("Zh"), "non-zero spare bits (non-canonical)")
        XCTAssertNil(Base64URL.decode("Zm9"), "non-zero spare bits (non-canonical)")
        for length in 0..<40 {
            let bytes = SecureRandom.bytes(count: length)
            XCTAssertEqual(Base64URL.decode(Base64URL.encode(bytes)), bytes)
        }
    }

    func testCompactParsingRejectsMalformedShapes() {
        for bad in ["", "a", "a.b", "a.b.c.d", "..", "eyJhbGciOiJFZERTQSJ9...", "eyJ=.e30.AA",
                    #"{"payload":"e30","signatures":[]}"#] {
            XCTAssertThrowsError(try CompactJWS(parsing: bad), bad) { error in
                guard case TokenRejection.malformed = error else { return XCTFail("\(bad): \(error)") }
            }
        }
    }

    func testDurations() {
        XCTAssertEqual(TokenDuration(parsing: "30s")?.seconds, 30)
        XCTAssertEqual(TokenDuration(parsing: "15m")?.seconds, 900)
        XCTAssertEqual(TokenDuration(parsing: "24h")?.seconds, 86400)
        XCTAssertEqual(TokenDuration(parsing: "1h30m")?.seconds, 5400)
        XCTAssertEqual(TokenDuration(parsing: "2d")?.seconds, 172800)
        for bad in ["", "15", "m", "-5m", "1.5h", "15 m", "1w", "99999999999999999999h"] {
            XCTAssertNil(TokenDuration(parsing: bad), bad)
        }
        XCTAssertEqual(TokenDuration(seconds: 86400).description, "24h")
        XCTAssertEqual(TokenDuration(seconds: 5430).description, "1h30m30s")
    }

    func testScopeParsingAndMatching() throws {
        let exact = try ModelScope(parsing: "model:deploy:resnet@2.1.0")
        XCTAssertEqual(exact.action, "deploy")
        XCTAssertEqual(exact.name, "resnet")
        XCTAssertEqual(exact.version, "2.1.0")
        XCTAssertEqual(exact.description, "model:deploy:resnet@2.1.0")
        XCTAssertNoThrow(try ModelScope(parsing: "model:pull:org/llama-2_7b@1.0.0+build.5"))

        for bad in ["deploy:resnet@2.1.0", "model:deploy:resnet", "model:deploy:resnet@", "model:*:resnet@1",
                    "model:Deploy:resnet@1", "model:deploy:res*@1", "model:deploy:resnet@2.*", "model:deploy:a@b@c",
                    "model:deploy:res net@1", "model:deploy:resnet@1:2", "model::resnet@1", "model:pull:@1"] {
            XCTAssertThrowsError(try ModelScope(parsing: bad), bad)
        }

        let anyVersion = try ModelScope(parsing: "model:pull:resnet@*")
        let anyModel = try ModelScope(parsing: "model:pull:*@*")
        let pull21 = try ModelScope(parsing: "model:pull:resnet@2.1.0")
        XCTAssertTrue(anyVersion.covers(pull21))
        XCTAssertTrue(anyModel.covers(pull21))
        XCTAssertTrue(anyModel.covers(anyVersion))
        XCTAssertFalse(anyVersion.covers(try ModelScope(parsing: "model:pull:bert@2.1.0")), "other name")
        XCTAssertFalse(anyVersion.covers(try ModelScope(parsing: "model:deploy:resnet@2.1.0")), "other action")
        XCTAssertFalse(pull21.covers(anyVersion), "a required * needs a granted *")
        XCTAssertFalse(pull21.covers(try ModelScope(parsing: "model:pull:resnet@2.1.01")), "no prefix matching")
        XCTAssertTrue(exact.covers(exact))
    }
}
