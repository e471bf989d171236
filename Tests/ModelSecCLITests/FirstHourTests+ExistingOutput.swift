import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 5. One existing-output rule

    func testExistingOutputsAreRefusedWithOneCode() throws {
        try makeRelease()
        try gate(output: "dep1", expect: 0)
        for extra in [[], ["--force"]] {
            let r = try gate(output: "dep1", extra: extra, expect: 2)
            XCTAssertEqual(errorCode(r), "output.exists", r.stdoutText)
            XCTAssertTrue(r.stderrText.contains("already exists and is not empty; release verify never replaces it, --force or not"), r.stderrText)
        }
        // log monitor --save-checkpoint: output.exists, and --force replaces it.
        try run(["keygen", "--type", "ed25519", "--out", path("log.pem")])
        let vkey = try run(["log", "init", "--origin", "example.com/m", "--key", path("log.pem"), path("log")]).stdoutText
        try vkey.write(toFile: path("log.vkey"), atomically: true, encoding: .utf8)
        try "x".write(toFile: path("other.cp"), atomically: true, encoding: .utf8)
        let monitor = ["log", "monitor", path("log"), "--log-key", path("log.vkey"), "--key-id", String(repeating: "a", count: 64),
                       "--save-checkpoint", path("other.cp")]
        let refused = try run(monitor + ["--json"], expect: 2)
        XCTAssertEqual(errorCode(refused), "output.exists", refused.stdoutText)
        XCTAssertTrue(refused.stderrText.contains("already exists; give --force to overwrite it"), refused.stderrText)
        try run(monitor + ["--force"])
        // log init over an existing log: output.exists, never replaced.
        let again = try run(["log", "init", "--origin", "example.com/m", "--key", path("log.pem"), path("log"), "--force", "--json"], expect: 2)
        XCTAssertEqual(errorCode(again), "output.exists", again.stdoutText)
    }
}
