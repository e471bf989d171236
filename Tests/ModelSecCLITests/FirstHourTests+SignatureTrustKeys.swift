import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 8. An encryption key given as signature trust

    func testX25519KeyAsSignatureTrustIsAUsageError() throws {
        try makeRelease()
        try run(["sign", path("model"), "--key", path("release.pem"), "--output", path("m.sig")])
        let v = try run(["verify", path("model"), "--signature", path("m.sig"), "--public-key", path("deploy.pem.pub"), "--json"], expect: 2)
        XCTAssertTrue(v.stderrText.contains("an x25519 key cannot verify signatures"), v.stderrText)
        XCTAssertEqual(errorCode(v), "usage.invalid-arguments")
        let g = try run(["release", "verify", path("rel"), "--public-key", path("deploy.pem.pub"), "--identity", path("deploy.pem"),
                         "--output", path("o1")], expect: 2)
        XCTAssertTrue(g.stderrText.contains("an x25519 key cannot verify signatures"), g.stderrText)
        try FileManager.default.createDirectory(atPath: path("xonly"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path("deploy.pem.pub"), toPath: path("xonly/deploy.pem.pub"))
        let d = try run(["release", "verify", path("rel"), "--trusted-keys", path("xonly"), "--identity", path("deploy.pem"),
                         "--output", path("o2")], expect: 2)
        XCTAssertTrue(d.stderrText.contains("holds only x25519 keys, which cannot verify signatures"), d.stderrText)
        // A signing key trusted beside an x25519 key still works.
        try FileManager.default.copyItem(atPath: path("release.pem.pub"), toPath: path("xonly/release.pem.pub"))
        try run(["release", "verify", path("rel"), "--trusted-keys", path("xonly"), "--identity", path("deploy.pem"), "--output", path("o3")])
    }
}
