import ModelSecKeys
import PKCS11Keys
import XCTest

/// RFC 7512 parsing: what a URI names must be unambiguous, and a PIN never
/// travels in one.
final class PKCS11URITests: XCTestCase {
    private let module = "module-path=/usr/lib/softhsm/libsofthsm2.so"

    private func problem(_ text: String) -> PKCS11Error.URIProblem? {
        do {
            _ = try PKCS11URI(parsing: text)
            return nil
        } catch let PKCS11Error.invalidURI(_, reason) {
            return reason
        } catch {
            XCTFail("unexpected \(error)")
            return nil
        }
    }

    func testTheIssueExampleParsesToItsParts() throws {
        let uri = try PKCS11URI(parsing: "pkcs11:token=release;object=model-signing?\(module)&pin-source=file:/run/pin")
        XCTAssertEqual(uri.token, Array("release".utf8))
        XCTAssertEqual(uri.object, Array("model-signing".utf8))
        XCTAssertEqual(uri.modulePath, "/usr/lib/softhsm/libsofthsm2.so")
        XCTAssertEqual(uri.pinSource, .file("/run/pin"))
        XCTAssertEqual(uri.effectivePINSource, .file("/run/pin"))
    }

    func testPercentEncodedIDAndLabelDecodeToExactBytes() throws {
        let uri = try PKCS11URI(parsing: "pkcs11:token=My%20Token;id=%01%ff%00;object=a%2Fb?\(module)")
        XCTAssertEqual(uri.token, Array("My Token".utf8))
        XCTAssertEqual(uri.id, [0x01, 0xFF, 0x00])
        XCTAssertEqual(uri.object, Array("a/b".utf8))
        // Canonical form round-trips.
        XCTAssertEqual(try PKCS11URI(parsing: uri.description), uri)
    }

    func testPINInURIIsRefusedAndNeverRepeated() {
        let text = "pkcs11:token=t;object=k?\(module)&pin-value=hunter2"
        do {
            _ = try PKCS11URI(parsing: text)
            XCTFail("pin-value accepted")
        } catch let error as PKCS11Error {
            XCTAssertEqual(error.code, "pkcs11.pin-in-uri")
            XCTAssertFalse(error.description.contains("hunter2"), error.description)
        } catch { XCTFail("\(error)") }
    }

    func testAPINNeverReachesAnErrorWhateverElseIsWrong() {
        for text in ["pkcs11:token=t;object=k?\(module)&pin-value=hunter2&pin-value=hunter2",
                     "pkcs11:token=t;object=k?\(module)&pin-valu=hunter2",
                     "pkcs11:token=t;object=k?\(module)&hunter2",
                     "pkcs11:token=t%zz;object=k?\(module)&pin-value=hunter2",
                     "pkcs11:token=t;object=k?pin-value=hunter2"] {
            XCTAssertThrowsError(try PKCS11URI(parsing: text)) { error in
                XCTAssertFalse("\(error)".contains("hunter2"), "\(error)")
            }
        }
    }

    func testOnlyTheLettersOfTheSchemeFoldCase() {
        XCTAssertTrue(PKCS11URI.isPKCS11URI("PkCs11:token=a"))
        XCTAssertFalse(PKCS11URI.isPKCS11URI("pkcs\u{11}\u{11}:token=a"))
        XCTAssertFalse(PKCS11URI.isPKCS11URI("pkcs11\u{1A}token=a"))
    }

    func testAmbiguousOrUnknownAttributesAreRefused() {
        XCTAssertEqual(problem("pkcs11:token=a;token=b;object=k?\(module)"), .repeatedAttribute("token"))
        XCTAssertEqual(problem("pkcs11:token=a;object=k?\(module)&\(module)"), .repeatedAttribute("module-path"))
        XCTAssertEqual(problem("pkcs11:tokn=a;object=k?\(module)"), .unknownAttribute("tokn"))
        XCTAssertEqual(problem("pkcs11:token=a;object=k;slot-description=x?\(module)"), .unsupportedAttribute("slot-description"))
        XCTAssertEqual(problem("pkcs11:token;object=k?\(module)"), .attributeWithoutValue("token"))
        XCTAssertEqual(problem("pkcs11:token=a%2;object=k?\(module)"), .badPercentEncoding("token"))
        XCTAssertEqual(problem("pkcs11:token=a%zz;object=k?\(module)"), .badPercentEncoding("token"))
        XCTAssertEqual(problem("pkcs11:token=a;object=k#frag?\(module)"), .fragment)
        XCTAssertEqual(problem("pkcs11:token=a;slot-id=1x;object=k?\(module)"), .badValue("slot-id"))
        XCTAssertEqual(problem("pkcs11:token=a;object=k%00?\(module)"), nil, "a label may hold any byte")
        XCTAssertEqual(problem("pkcs11:token=a;type=secretish;object=k?\(module)"), .badValue("type"))
    }

    func testModuleMustBeAnAbsolutePathAndAKeyMustBeNamed() {
        XCTAssertEqual(problem("pkcs11:token=a;object=k?module-path=libsofthsm2.so"), .relativeModulePath)
        XCTAssertEqual(problem("pkcs11:token=a;object=k?module-path=%00/x"), .badValue("module-path"))
        XCTAssertEqual(problem("pkcs11:token=a;object=k"), .noModulePath)
        XCTAssertEqual(problem("pkcs11:token=a?\(module)"), .noObject)
        XCTAssertEqual(problem("pkcs11:token=a;object=k?\(module)&pin-source=|/bin/cat"), .unsupportedPINSource)
        XCTAssertEqual(problem("file:/x"), .notPKCS11)
    }

    func testPINSourcesFileEnvironmentAndDefault() throws {
        XCTAssertEqual(try PKCS11URI(parsing: "pkcs11:token=a;object=k?\(module)&pin-source=file:///run/p").pinSource, .file("/run/p"))
        XCTAssertEqual(try PKCS11URI(parsing: "pkcs11:token=a;object=k?\(module)&pin-source=env:HSM_PIN").pinSource, .environment("HSM_PIN"))
        XCTAssertEqual(try PKCS11URI(parsing: "pkcs11:token=a;object=k?\(module)").effectivePINSource,
                       .environment(PKCS11URI.defaultPINEnvironmentVariable))
        XCTAssertTrue(PKCS11URI.isPKCS11URI("PKCS11:token=a"))
        XCTAssertFalse(PKCS11URI.isPKCS11URI("keys/release.pem"))
    }
}
