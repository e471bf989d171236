import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 10. Invalid choices

    func testInvalidChoiceIsOneCleanLine() throws {
        let r = try run(["keygen", "--type", "ed2551", "--out", path("k2.pem"), "--json"], expect: 2)
        XCTAssertTrue(r.stderrText.contains("'ed2551' is not one of ed25519, p256, p384, p521, x25519, aes256; did you mean 'ed25519'?"), r.stderrText)
        XCTAssertFalse(r.stderrText.contains("\\u{a}"), r.stderrText)
        XCTAssertEqual(r.stderrText.components(separatedBy: "p384").count, 2, "choices listed once: \(r.stderrText)")
        XCTAssertEqual(errorCode(r), "usage.invalid-value")
        let s = try run(["dp", "release", "--input", path("x.csv"), "--column", "a", "--statistic", "meen", "--epsilon", "1"], expect: 2)
        XCTAssertTrue(s.stderrText.contains("did you mean 'mean'?"), s.stderrText)
        XCTAssertFalse(s.stderrText.contains("\\u{a}"), s.stderrText)
    }
}
