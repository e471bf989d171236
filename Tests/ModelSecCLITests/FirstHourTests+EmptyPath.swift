import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 14. Empty path arguments

    func testEmptyPathArgumentsNameTheFlag() throws {
        try makeRelease()
        for (flag, arguments) in [
            ("--key", ["sign", path("model"), "--key", "", "--output", path("s.sig")]),
            ("--signature", ["verify", path("model"), "--signature", "", "--public-key", path("release.pem.pub")]),
            ("--output", ["encrypt", path("model/weights.safetensors"), "--output", "", "--recipient", path("deploy.pem.pub")]),
            ("--trusted-keys", ["release", "verify", path("rel"), "--trusted-keys", "", "--identity", path("deploy.pem"), "--output", path("o")]),
            ("--token-file", ["token", "verify", "--token-file", "", "--public-key", path("release.pem.pub"), "--issuer", "i", "--audience", "a"]),
            ("--key", ["sign", path("model"), "--key=", "--output", path("s.sig")]),
        ] {
            let r = try run(arguments + ["--json"], expect: 2)
            XCTAssertTrue(r.stderrText.contains("modelsec: error: \(flag) is empty: give a path"), r.stderrText)
            XCTAssertEqual(errorCode(r), "usage.missing-argument")
        }
    }
}
