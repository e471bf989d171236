import Foundation
import TestSupport
import XCTest

/// docs/errors.md lists exactly the codes the sources can return: every
/// string a `var code: String` of a library error type returns, and every
/// case of the CLI's `CLIError.Code`.
final class ErrorCodeDocsTests: XCTestCase {
    /// The string literals in the body of every `var code: String { … }`.
    static func libraryCodes(in source: String) -> Set<String> {
        var codes = Set<String>()
        var rest = source[...]
        while let start = rest.range(of: #"var code: String\s*\{"#, options: .regularExpression) {
            // The body: up to the brace that closes the one the match ends with.
            var depth = 1
            var index = start.upperBound
            while index < rest.endIndex, depth > 0 {
                if rest[index] == "{" { depth += 1 }
                if rest[index] == "}" { depth -= 1 }
                index = rest.index(after: index)
            }
            codes.formUnion(literals(in: rest[start.upperBound..<index]))
            rest = rest[index...]
        }
        return codes
    }

    static func literals(in text: Substring) -> [String] {
        let regex = try! NSRegularExpression(pattern: #""([^"\\]+)""#)
        let string = String(text)
        return regex.matches(in: string, range: NSRange(string.startIndex..., in: string)).map {
            String(string[Range($0.range(at: 1), in: string)!])
        }
    }

    /// The `case name = "code"` raw values of `enum Code` in CLIError.swift.
    static func cliCodes(in source: String) -> Set<String> {
        guard let start = source.range(of: "enum Code: String") else { return [] }
        let body = source[start.upperBound...]
        let regex = try! NSRegularExpression(pattern: #"case \w+ = "([^"]+)""#)
        let string = String(body)
        return Set(regex.matches(in: string, range: NSRange(string.startIndex..., in: string)).map {
            String(string[Range($0.range(at: 1), in: string)!])
        })
    }

    func testErrorsDocListsEveryCodeTheSourcesReturn() throws {
        let root = TestSupport.repositoryRoot
        var fromSources = Set<String>()
        let sources = root.appendingPathComponent("Sources")
        let walker = FileManager.default.enumerator(atPath: sources.path)!
        for case let relative as String in walker where relative.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(relative), encoding: .utf8)
            fromSources.formUnion(Self.libraryCodes(in: text))
            if relative.hasSuffix("modelsec/CLIError.swift") { fromSources.formUnion(Self.cliCodes(in: text)) }
        }
        XCTAssertTrue(fromSources.isSuperset(of: ["invalid-input", "verification-failed", "usage.unknown-option", "output.exists"]),
                      "the source scan found the codes it must: \(fromSources.sorted())")
        let doc = try String(contentsOf: root.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        let row = try NSRegularExpression(pattern: #"^\| `([^`]+)` \| ([12]) \|"#, options: .anchorsMatchLines)
        let documented = Set(row.matches(in: doc, range: NSRange(doc.startIndex..., in: doc)).map {
            String(doc[Range($0.range(at: 1), in: doc)!])
        })
        let missing = fromSources.subtracting(documented).sorted()
        let stale = documented.subtracting(fromSources).sorted()
        XCTAssertEqual(missing, [], "codes the sources return that docs/errors.md does not list (add a row: | `code` | exit | when |)")
        XCTAssertEqual(stale, [], "codes docs/errors.md lists that no source returns")
    }
}
