import Foundation
import ModelSecIO
import TestSupport
import XCTest

/// The one strict JSON check every signed or policy-read document passes
/// (release.json, signature bundles and statements, evidence files, DP
/// reports): what it refuses, and that it builds no tree.
final class UnambiguousJSONTests: XCTestCase {
    private func refusal(_ text: String) -> String? {
        do { try UnambiguousJSON.check(Array(text.utf8)) } catch { return "\(error)" }
        return nil
    }

    /// JSONDecoder matches names by Unicode equivalence: a key spelled with
    /// U+212A KELVIN SIGN is read as `publicKey`, an NFD key as its NFC
    /// twin. Every key must be in NFC, so different bytes are different text.
    func testKeysNotInNFCAreRefused() {
        for key in ["public\u{212A}ey", "caf" + "e\u{301}", "\u{212B}ngstr\u{F6}m"] {
            let why = refusal("{\"\(key)\": 1}")
            XCTAssertTrue(why?.contains("not in Unicode NFC") == true, "\(key.unicodeScalars.map(\.value)): \(why ?? "accepted")")
        }
        for accepted in ["{\"caf\u{E9}\": 1}", "{\"publicKey\": \"e\u{301}\"}", "{\"k\": [\"\u{212A}\"]}", "{\"\u{301}\": 1}"] {
            XCTAssertNil(refusal(accepted), accepted)
        }
        // Keys in NFC to Foundation's (older) tables that Swift's String,
        // and so JSONDecoder, takes as equal (review13b: Unicode 16 composites
        // and combining classes): both spellings pass the NFC test, the pair is refused.
        for (a, b) in [("\u{113C5}", "\u{113C2}\u{113C2}"), ("\u{16121}", "\u{1611E}\u{1611E}"), ("x\u{0897}\u{0323}", "x\u{0323}\u{0897}")] {
            XCTAssertTrue(a == b, "Swift's String takes them as equal")
            let why = refusal("{\"\(a)\": 1, \"\(b)\": 2}")
            XCTAssertTrue(why?.contains("same Unicode text") == true || why?.contains("not in Unicode NFC") == true,
                          "\(a.unicodeScalars.map(\.value)): \(why ?? "accepted")")
        }
        // The same key in NFC and NFD: the NFD one is named.
        XCTAssertTrue(refusal("{\"caf\u{E9}\": 1, \"cafe\u{301}\": 2}")?.contains("not in Unicode NFC") == true)
        // Through JSONValue, which the evidence checks read with.
        XCTAssertThrowsError(try JSONValue(parsing: Data("{\"a\": 1, \"a\": 2}".utf8))) { XCTAssertTrue($0 is UnambiguousJSON.Ambiguity, "\($0)") }
        XCTAssertThrowsError(try JSONValue(parsing: Data("{\"public\u{212A}ey\": 1}".utf8))) { XCTAssertTrue($0 is UnambiguousJSON.Ambiguity, "\($0)") }
        XCTAssertEqual(try JSONValue(parsing: Data("{\"a\": [1, \"x\"]}".utf8))["a"], .array([.number(1), .string("x")]))
    }

    /// `\u` takes exactly four hex digits, as Python's json does (`UInt32(_:radix:)` took `+041`).
    func testUnicodeEscapesAreFourHexDigits() {
        for bad in ["\"\\u+041\"", "\"\\u-000\"", "\"\\u 041\"", "\"\\u04\"", "\"\\u004g\""] {
            XCTAssertTrue(refusal(bad)?.contains("invalid \\u escape") == true, "\(bad): \(refusal(bad) ?? "accepted")")
        }
        for good in ["\"\\u0041\"", "\"\\u00e9\\u00E9\"", "\"\\ud83d\\ude00\""] { XCTAssertNil(refusal(good), good) }
    }

    /// Invalid UTF-8 is reported at the bad byte, not at the string's start,
    /// in the escape-free fast path and after an escape; a byte order mark
    /// is named as one.
    func testInvalidUTF8IsReportedAtTheBadByteAndABOMIsNamed() {
        func offset(_ bytes: [UInt8]) -> (Int, String)? {
            do { try StrictJSON.validate(bytes) { _, _ in } } catch let invalid as StrictJSON.Invalid { return (invalid.offset, invalid.reason) } catch { return nil }
            return nil
        }
        let prefix = Array(#"{"key": "abc"#.utf8)   // the string opens at byte 8
        for (tail, bad, label) in [([0xC3, 0xA9, 0xFF], 2, "0xFF after é"), ([0xE2, 0x82], 0, "truncated sequence"),
                                   ([0x5C, 0x6E, 0x41, 0xC0, 0xAF], 3, "overlong '/' after an escape"),
                                   ([0x5C, 0x6E, 0xFF, 0x41, 0x01], 2, "0xFF after an escape, before a control character")] as [([UInt8], Int, String)] {
            let document = prefix + tail + Array(#""}"#.utf8)
            let found = offset(document)
            XCTAssertEqual(found?.0, prefix.count + bad, "\(label): \(String(describing: found))")
            XCTAssertTrue(found?.1.contains("invalid UTF-8 (byte 0x") == true, "\(label): \(String(describing: found))")
        }
        let bom = offset([0xEF, 0xBB, 0xBF] + Array("{}".utf8))
        XCTAssertEqual(bom?.0, 0)
        XCTAssertTrue(bom?.1.contains("byte order mark") == true, String(describing: bom))
    }

    /// A repeated key of megabytes is named in a message of bounded length.
    func testMessagesQuoteAtMostTheStartOfAKey() {
        let key = String(repeating: "k", count: 1000)
        let why = refusal("{\"\(key)\": 1, \"\(key)\": 2}") ?? ""
        XCTAssertTrue(why.contains("duplicate key"), why)
        XCTAssertLessThan(why.count, 200, why)
        // In scalars: one Character of a letter and 2,000 marks is not "short".
        let marks = "k" + String(repeating: "\u{301}", count: 2000)
        XCTAssertLessThan(StrictJSON.shown(marks).unicodeScalars.count, 80)
        let long = String(repeating: "k", count: 4 << 20)
        let tooLong = refusal("{\"\(long)\": 1}") ?? ""
        XCTAssertTrue(tooLong.contains("longer than"), String(tooLong.prefix(300)))
        XCTAssertLessThan(tooLong.count, 200)
    }

    /// The check runs before a signature is verified, on documents up to
    /// hundreds of MiB: it must not build the document's tree. 1.4 million
    /// empty strings cost over 100 MB as a tree; checked, the peak resident
    /// size grows by less than 40 MB over the input itself.
    func testTheCheckBuildsNoTree() throws {
        var document: [UInt8] = [UInt8(ascii: "[")]
        document.reserveCapacity(4 << 20 + 8)
        while document.count < 4 << 20 { document += Array("\"\",".utf8) }
        document += Array("\"\"]".utf8)
        let growth = try TestSupport.peakResidentGrowthMiB { try UnambiguousJSON.check(document) }
        XCTAssertLessThan(growth, 40, "the peak grew by \(growth) MiB checking \(document.count >> 20) MiB")
    }
}
