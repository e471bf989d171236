import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: second walkthrough, 12. A trailing slash on a model path

    /// `model/` is the model `model`: paths print as `model/x` (not
    /// `model//x`), and a symbolic link given as `link/` is still a link
    /// (a trailing slash made lstat follow it, so signing took a linked
    /// model that `link` alone is refused for).
    func testATrailingSlashNamesTheSameModel() throws {
        let model = path("tm")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: URL(fileURLWithPath: model + "/model.safetensors.txt"))
        try Data("[1]".utf8).write(to: URL(fileURLWithPath: model + "/config.json"))
        let scan = try run(["scan", "tm/", "--json"])
        XCTAssertFalse(scan.stdoutText.contains("tm//"), scan.stdoutText)
        XCTAssertTrue(scan.stdoutText.contains("tm/config.json"), scan.stdoutText)

        try run(["keygen", "--type", "ed25519", "--out", "k.pem"])
        try FileManager.default.createSymbolicLink(atPath: path("link"), withDestinationPath: "tm")
        let plain = try run(["sign", "link", "--key", "k.pem", "--output", "a.sig"], expect: 2)
        let slashed = try run(["sign", "link/", "--key", "k.pem", "--output", "b.sig"], expect: 2)
        XCTAssertEqual(slashed.stderrText.replacingOccurrences(of: "link/", with: "link"),
                       plain.stderrText.replacingOccurrences(of: "link/", with: "link"))
        try run(["sign", "tm/", "--key", "k.pem", "--output", "c.sig"])
        try run(["verify", "tm", "--signature", "c.sig", "--public-key", "k.pem.pub"])
    }
}
