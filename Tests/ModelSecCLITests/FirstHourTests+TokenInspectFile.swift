import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 11. token inspect --token-file

    func testTokenInspectTokenFile() throws {
        func b64(_ s: String) -> String {
            Data(s.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let token = b64("{\"alg\":\"EdDSA\"}") + "." + b64("{\"sub\":\"s\"}") + "." + b64("sig")
        try (token + "\n").write(toFile: path("token"), atomically: true, encoding: .utf8)
        let named = try run(["token", "inspect", "token"], expect: 2)
        XCTAssertTrue(named.stderrText.contains("looks like a file name, not a token; give --token-file token"), named.stderrText)
        XCTAssertEqual(errorCode(named), "usage.token-looks-like-file")
        let r = try run(["token", "inspect", "--token-file", path("token")])
        XCTAssertEqual(((try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["claims"] as? [String: Any])?["sub"] as? String, "s")
    }
}
