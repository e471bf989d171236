import TokenService
import XCTest

/// The strict form decoder: repeated parameters, bad escapes and control
/// bytes are refused rather than resolved one way or another.
final class FormBodyTests: XCTestCase {
    private func form(_ text: String) throws -> FormBody { try FormBody(Array(text.utf8)) }

    func testDecodesPlusAndPercentEscapes() throws {
        let body = try form("grant_type=client_credentials&scope=model%3Adeploy%3Aresnet%402.1.0+model:pull:a@b")
        XCTAssertEqual(body["grant_type"], "client_credentials")
        XCTAssertEqual(body["scope"], "model:deploy:resnet@2.1.0 model:pull:a@b")
        XCTAssertNil(body["client_id"])
    }

    func testEmptyBodyHasNoParameters() throws {
        XCTAssertEqual(try form("").parameters.count, 0)
    }

    func testParserDifferentialRepeatedParameterIsRefused() {
        XCTAssertThrowsError(try form("scope=a&scope=b"))
        XCTAssertThrowsError(try form("scope=a&sc%6Fpe=b"), "a repeat spelled with an escape is still a repeat")
    }

    func testMalformedEncodingsAreRefused() {
        for bad in ["a=1&&b=2", "a=1&", "novalue", "=x", "a=%4", "a=%zz", "a=%", "a=%00", "a=%ff", "a=\u{7F}"] {
            XCTAssertThrowsError(try form(bad), bad)
        }
    }

    func testParameterCountIsBounded() {
        let many = (0...FormBody.maximumParameterCount).map { "p\($0)=v" }.joined(separator: "&")
        XCTAssertThrowsError(try form(many))
    }
}
