import ModelSecCrypto
import TokenService
import XCTest

/// Client secrets at rest: PHC Argon2id strings, parsed strictly and bounded.
final class SecretHashTests: XCTestCase {
    private let cheap = Argon2id.Parameters(iterations: 1, memoryKiB: 64)

    func testRoundTripAndMatch() throws {
        let hash = try SecretHash(hashing: "correct horse", parameters: cheap)
        let parsed = try XCTUnwrap(SecretHash(encoded: hash.encoded))
        XCTAssertEqual(parsed, hash)
        XCTAssertTrue(parsed.matches("correct horse"))
        XCTAssertFalse(parsed.matches("correct horse "))
        XCTAssertFalse(parsed.matches("correct hors\u{0065}\u{0301}"))
        XCTAssertTrue(hash.encoded.hasPrefix("$argon2id$v=19$m=64,t=1,p=1$"))
    }

    func testSameSecretGetsDifferentSalts() throws {
        XCTAssertNotEqual(try SecretHash(hashing: "x", parameters: cheap).encoded, try SecretHash(hashing: "x", parameters: cheap).encoded)
    }

    func testOtherSpellingsAndCostsAreRefused() throws {
        let good = try SecretHash(hashing: "x", parameters: cheap).encoded
        let parts = good.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        func with(_ index: Int, _ value: String) -> String {
            var copy = parts
            copy[index] = value
            return copy.joined(separator: "$")
        }
        XCTAssertNil(SecretHash(encoded: with(1, "argon2i")))
        XCTAssertNil(SecretHash(encoded: with(2, "v=16")))
        XCTAssertNil(SecretHash(encoded: with(3, "m=64,t=1,p=2")))
        XCTAssertNil(SecretHash(encoded: with(3, "m=4194304,t=1,p=1")), "memory above the bound")
        XCTAssertNil(SecretHash(encoded: with(3, "m=064,t=1,p=1")), "leading zero")
        XCTAssertNil(SecretHash(encoded: with(3, "m=64,t=99,p=1")))
        XCTAssertNil(SecretHash(encoded: with(4, parts[4] + "==")), "padding")
        XCTAssertNil(SecretHash(encoded: with(5, String(parts[5].dropLast()))), "short hash")
        XCTAssertNil(SecretHash(encoded: good + "$"))
    }
}
