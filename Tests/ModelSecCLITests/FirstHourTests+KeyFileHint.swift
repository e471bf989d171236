import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 7. A .pub given to --key-file

    func testPublicKeyGivenToKeyFileAsksForAnAES256Key() throws {
        try run(["keygen", "--type", "x25519", "--out", path("r.pem")])
        try Data("x".utf8).write(to: URL(fileURLWithPath: path("f.bin")))
        let r = try run(["encrypt", path("f.bin"), "--output", path("f.enc"), "--key-file", path("r.pem.pub"), "--json"], expect: 2)
        XCTAssertTrue(r.stderrText.contains("--key-file needs an aes256 key file (made with: modelsec keygen --type aes256)"), r.stderrText)
        XCTAssertFalse(r.stderrText.contains("give the private key"), r.stderrText)
        XCTAssertEqual(errorCode(r), "usage.public-key-given")
        let d = try run(["decrypt", path("f.bin"), "--output", path("f.out"), "--key-file", path("r.pem.pub")], expect: 2)
        XCTAssertTrue(d.stderrText.contains("needs an aes256 key file"), d.stderrText)
    }
}
