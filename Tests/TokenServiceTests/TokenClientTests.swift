import Foundation
import TokenService
import XCTest

/// `token fetch`'s client refuses to send credentials in clear off loopback
/// (checked before any connection is made).
final class TokenClientTests: XCTestCase {
    private func client(_ url: String) throws -> TokenClient {
        try TokenClient(server: try XCTUnwrap(URL(string: url)), clientID: "c", credential: .secret("s", post: false), scopes: [])
    }

    func testPlainHTTPOnlyToLoopback() throws {
        for url in ["http://10.0.0.1:8787", "http://tokens.example", "http://0.0.0.0:8787", "http://128.0.0.1"] {
            XCTAssertThrowsError(try client(url), url) { error in
                XCTAssertEqual((error as? TokenFetchError)?.code, "token.fetch-insecure-server")
            }
        }
        for url in ["https://tokens.example", "http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787", "HTTPS://tokens.example"] {
            XCTAssertNoThrow(try client(url), url)
        }
    }
}
