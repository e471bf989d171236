import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 6. Flag names

    func testOutputAliasesAndUnknownShortOptions() throws {
        try run(["keygen", "--type", "ed25519", "--output", path("a.pem")])
        try run(["keygen", "--type", "ed25519", "-o", path("b.pem")])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("a.pem.pub")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("b.pem.pub")))
        try run(["token", "jwks", "--public-key", path("a.pem.pub"), "-o", path("jwks.json")])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("jwks.json")))
        let x = try run(["keygen", "--type", "ed25519", "-x", path("c.pem"), "--json"], expect: 2)
        XCTAssertTrue(x.stderrText.contains("keygen has no option '-x'"), x.stderrText)
        XCTAssertEqual(errorCode(x), "usage.unknown-option")
        XCTAssertFalse(x.stderrText.contains("Missing expected argument"), x.stderrText)
        let key = try run(["release", "create", path("m"), "--name", "n", "--version", "1", "--key", path("a.pem"),
                           "--recipient", path("a.pem.pub"), "--output", path("r")], expect: 2)
        XCTAssertTrue(key.stderrText.contains("has no option '--key'; did you mean '--signing-key'?"), key.stderrText)
        // release verify names its token options --token-*: it points there from token verify's names,
        // and token verify takes release verify's names as aliases.
        let gate = try run(["release", "verify", path("r"), "--jwks", path("jwks.json"), "--output", path("out")], expect: 2)
        XCTAssertTrue(gate.stderrText.contains("did you mean '--token-jwks'?"), gate.stderrText)
        let verify = try run(["token", "verify", "-", "--token-issuer", "i"], expect: 2)
        XCTAssertTrue(verify.stderrText.contains("Missing expected argument '--audience <AUD>'"), verify.stderrText)
    }
}
