import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import TestSupport
import XCTest

/// Key files, key ids and trust directories are matched on exact UTF-8 bytes,
/// as OpenSSL and the file system match them, never with Swift's canonical
/// equivalence (NFC `é` == NFD `e` + U+0301; U+212A KELVIN SIGN == `K`).
final class UnicodeEquivalenceClassTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory("keys-unicode") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// `-----BEGIN PUBLIC \u{212A}EY-----` is not a public key to OpenSSL; it is not one to modelsec.
    func testUnicodeEquivalenceClass_pemLabelKelvinSign() throws {
        let pem = PrivateKey.generate(.ed25519).publicKey.pemRepresentation
        let kelvin = pem.replacingOccurrences(of: "PUBLIC KEY", with: "PUBLIC \u{212A}EY")
        XCTAssertNotEqual(Array(kelvin.utf8), Array(pem.utf8))
        try kelvin.write(toFile: path("k.pub"), atomically: true, encoding: .utf8)
        let openssl = try TestSupport.run("openssl", ["pkey", "-pubin", "-in", path("k.pub"), "-noout"])
        XCTAssertNotEqual(openssl.status, 0, "the premise: OpenSSL refuses the label")
        XCTAssertThrowsError(try KeyFile.loadPublicKey(path("k.pub"))) { error in
            XCTAssertEqual((error as? KeyFileError)?.path, path("k.pub"), "\(error)")
        }
        try pem.write(toFile: path("ok.pub"), atomically: true, encoding: .utf8)
        XCTAssertNoThrow(try KeyFile.loadPublicKey(path("ok.pub")))
    }

    /// A trust directory holds the files whose names end in the bytes `.pub`
    /// or `.pem`, as the shell's `*.pub` matches them. U+0600 is a "prepend"
    /// character: it joins the following `.` into one `Character`, so
    /// `String.hasSuffix(".pub")` is false for `a\u{600}.pub`.
    func testUnicodeEquivalenceClass_trustDirectoryNamesAsBytes() throws {
        let a = PrivateKey.generate(.ed25519).publicKey, b = PrivateKey.generate(.ed25519).publicKey
        try a.pemRepresentation.write(toFile: path("a\u{600}.pub"), atomically: true, encoding: .utf8)
        try b.pemRepresentation.write(toFile: path("b.pub\u{301}"), atomically: true, encoding: .utf8)
        let trusted = try TrustedKeys(directory: dir.path)
        XCTAssertEqual(trusted.keys.map(\.keyID), [a.keyID], "a\\u{600}.pub ends in .pub; b.pub\\u{301} does not")
    }

    func testKeyIDLookupIsByteExact() {
        let key = PrivateKey.generate(.ed25519).publicKey
        let trusted = TrustedKeys([key])
        XCTAssertNotNil(trusted.key(withID: key.keyID))
        XCTAssertNil(trusted.key(withID: key.keyID.uppercased()))
        XCTAssertNil(trusted.key(withID: key.keyID + "\u{301}"))
    }

    func testExactStringComparesHashesAndSortsBytes() {
        let nfc = ExactString("caf\u{E9}"), nfd = ExactString("cafe\u{301}")
        XCTAssertEqual(nfc.string, nfd.string, "the premise")
        XCTAssertNotEqual(nfc, nfd)
        XCTAssertEqual(Set([nfc, nfd, ExactString("caf\u{E9}")]).count, 2)
        var byKey: [ExactString: Int] = [nfc: 1]
        byKey[nfd] = 2
        XCTAssertEqual(byKey[ExactString("caf\u{E9}")], 1)
        XCTAssertEqual("\u{212A}", "K", "the premise")
        XCTAssertNotEqual(ExactString("\u{212A}"), "K")
        XCTAssertNotEqual("\u{212A}ey", "key", "KELVIN SIGN is a capital K")
        XCTAssertEqual(ExactString("ABC-\u{212A}-\u{130}").asciiLowercased, ExactString("abc-\u{212A}-\u{130}"))
        XCTAssertEqual([ExactString("b"), "a\u{301}", "a", "B"].sorted(), ["B", "a", "a\u{301}", "b"])
        XCTAssertEqual(KeyType(exactRawValue: "ed25519"), .ed25519)
        XCTAssertNil(KeyType(exactRawValue: "aes256\u{301}"))
    }

    func testListFileSplitsOnScalarsNotCharacters() {
        // "#" and a line break followed by a combining mark still end the entry.
        let text = "AA #\u{301} comment\n\u{301}\nbb\u{2028}cc\r\n  dd\t\n# whole-line comment\nee#x\n"
        XCTAssertEqual(ListFile.entries(text, comments: .anywhere), ["AA", "\u{301}", "bb", "cc", "dd", "ee"])
        XCTAssertEqual(ListFile.entries(text, comments: .wholeLine),
                       ["AA #\u{301} comment", "\u{301}", "bb", "cc", "dd", "ee#x"])
    }
}
