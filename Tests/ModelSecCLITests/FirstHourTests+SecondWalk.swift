import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: second walkthrough, small messages

    /// An X25519 private key given where an aes256 key file is needed points
    /// at --identity; a --log-key file that does not exist is named as such.
    func testMessagesNameTheRightFlagAndFile() throws {
        try run(["keygen", "--type", "x25519", "--out", "deploy.pem"])
        try Data("plain".utf8).write(to: URL(fileURLWithPath: path("plain.txt")))
        let wrongKey = try run(["encrypt", "plain.txt", "--output", "p.enc", "--key-file", "deploy.pem"], expect: 2)
        XCTAssertTrue(wrongKey.stderrText.contains("--identity"), wrongKey.stderrText)

        try FileManager.default.createDirectory(atPath: path("tlog"), withIntermediateDirectories: true)
        let missing = try run(["log", "verify", "tlog", "--log-key", "log.vkey", "--json"], expect: 2)
        XCTAssertTrue(missing.stdoutText.contains("log.vkey: no such file"), missing.stdoutText)
    }
}
