import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 13. Copy-paste safety of help examples

    /// The example commands of every command's help (the lines after
    /// "Examples:", continuation lines joined).
    func helpExamples() throws -> [(command: String, example: String)] {
        let dump = try run(["--experimental-dump-help"])
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any])
        var found: [(String, String)] = []
        func walk(_ node: [String: Any], _ path: [String]) {
            let discussion = node["discussion"] as? String ?? ""
            if let range = discussion.range(of: "Examples:") {
                var current = ""
                for raw in discussion[range.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
                    let line = raw.trimmingCharacters(in: .whitespaces)
                    if current.isEmpty, !line.hasPrefix("modelsec ") { continue }
                    current += (current.isEmpty ? "" : " ") + line
                    if current.hasSuffix("\\") { current.removeLast(); continue }
                    found.append((path.joined(separator: " "), current))
                    current = ""
                }
            }
            for sub in node["subcommands"] as? [[String: Any]] ?? [] { walk(sub, path + [sub["commandName"] as? String ?? "?"]) }
        }
        walk(try XCTUnwrap(root["command"] as? [String: Any]), ["modelsec"])
        return found
    }

    /// Words outside quotes that a shell would expand as a glob, and that
    /// are not meant as one (scopes, URLs): they contain `*`, `?` or `[`
    /// together with `:`, `@` or `=`.
    static func unquotedGlobs(in command: String) -> [String] {
        var words: [(text: String, quotedGlob: Bool)] = [("", false)]
        var quote: Character?
        for c in command {
            if let q = quote {
                if c == q { quote = nil } else { words[words.count - 1].text.append(c) }
                continue
            }
            if c == "'" || c == "\"" { quote = c; continue }
            if c == " " { words.append(("", false)); continue }
            if "*?[".contains(c) { words[words.count - 1].quotedGlob = true }
            words[words.count - 1].text.append(c)
        }
        return words.filter { $0.quotedGlob && $0.text.contains(where: { ":@=".contains($0) }) }.map(\.text)
    }

    func testHelpExamplesAreSafeToPaste() throws {
        let examples = try helpExamples()
        XCTAssertGreaterThan(examples.count, 40)
        XCTAssertEqual(Self.unquotedGlobs(in: "modelsec token issue --scope model:pull:resnet@*"), ["model:pull:resnet@*"])
        XCTAssertEqual(Self.unquotedGlobs(in: "modelsec token issue --scope 'model:pull:resnet@*' releases/*"), [])
        for (command, example) in examples {
            XCTAssertEqual(Self.unquotedGlobs(in: example), [], "\(command): \(example)")
        }
        // keygen's first example works in a fresh folder.
        let first = try XCTUnwrap(examples.first { $0.command == "modelsec keygen" }?.example)
        let words = first.split(separator: " ").map(String.init)
        XCTAssertEqual(words.first, "modelsec")
        try run(Array(words.dropFirst()))
    }

    /// docs/store.md's commands quote URLs with `?`.
    func testStoreDocQuotesURLs() throws {
        let text = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("docs/store.md"), encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("modelsec ") {
            XCTAssertEqual(Self.unquotedGlobs(in: String(line)), [], String(line))
        }
    }
}
