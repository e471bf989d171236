import Foundation

/// The shell blocks of a Markdown document that `DocsCommandTests` runs, and
/// the small annotation convention that governs them:
///
/// - A fenced block whose info string is `sh` or `console` is run; any other
///   (`text`, `json`, `swift`, none) is not. A fence may be indented (inside
///   a list item); the indentation is removed from its lines.
/// - `<!-- not-run: REASON -->` on the line before the fence (blank lines
///   allowed between) keeps a block from running; the reason is required.
/// - In an `sh` block every command (a line, with `\` continuations) must
///   exit 0, unless its last line ends with a comment `# exit N` or
///   `# exit N: why`, which names the status it must exit with (`# exit 1 if
///   …`, prose, does not count).
/// - In a `console` block, a line starting `$ ` is a command; the lines after
///   it, up to the next command, are its expected output (stdout and stderr
///   together); a line `...` matches any number of lines.
struct DocsBlock: Equatable {
    /// `sh` or `console`.
    let language: String
    /// The file, relative to the repository root.
    let file: String
    /// 1-based line of the opening fence.
    let line: Int
    /// The block's lines, indentation removed.
    let lines: [String]
    /// The reason given by a `not-run` annotation, if any.
    let notRun: String?

    /// One command of a block, with what the document says it does.
    struct Command: Equatable {
        /// The command text, continuation lines included, as written.
        let text: String
        /// 1-based line in the file where it starts.
        let line: Int
        /// The exit status it must have.
        let expectedStatus: Int32
        /// Expected output lines (console blocks only; nil when not checked).
        let expectedOutput: [String]?
    }

    /// The commands of the block, in order.
    var commands: [Command] {
        language == "console" ? consoleCommands : shellCommands
    }

    private var shellCommands: [Command] {
        var out: [Command] = []
        var i = 0
        while i < lines.count {
            let start = i
            var text = lines[i]
            while text.hasSuffix("\\"), i + 1 < lines.count {
                i += 1
                text += "\n" + lines[i]
            }
            i += 1
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let lastLine = text.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init) ?? text
            out.append(Command(text: text, line: line + 1 + start, expectedStatus: Self.expectedStatus(lastLine), expectedOutput: nil))
        }
        return out
    }

    private var consoleCommands: [Command] {
        var out: [Command] = []
        var current: (text: String, line: Int, output: [String])?
        func flush() {
            if let c = current {
                var output = c.output
                while output.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { output.removeLast() }
                out.append(Command(text: c.text, line: c.line, expectedStatus: Self.expectedStatus(c.text), expectedOutput: output))
            }
        }
        for (i, text) in lines.enumerated() {
            if text.hasPrefix("$ ") {
                flush()
                current = (String(text.dropFirst(2)), line + 1 + i, [])
            } else {
                current?.output.append(text)
            }
        }
        flush()
        return out
    }

    /// N from a trailing `# exit N` or `# exit N: …` comment, else 0.
    static func expectedStatus(_ lastLine: String) -> Int32 {
        guard let range = lastLine.range(of: #"#\s*exit\s+[0-9]+(?=\s*(:|$))"#, options: .regularExpression) else { return 0 }
        return Int32(lastLine[range].filter(\.isNumber)) ?? 0
    }

    /// Whether `actual` output lines match the expected lines (`...` matches any run of lines).
    static func outputMatches(expected: [String], actual: [String]) -> Bool {
        func strip(_ s: String) -> String { s.replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression) }
        let e = expected.map(strip), a = actual.map(strip)
        func match(_ i: Int, _ j: Int) -> Bool {
            if i == e.count { return j == a.count }
            if e[i] == "..." { return (j...a.count).contains { match(i + 1, $0) } }
            return j < a.count && e[i] == a[j] && match(i + 1, j + 1)
        }
        return match(0, 0)
    }

    /// Every fenced block of `text` whose language is `sh` or `console`.
    static func extract(from text: String, file: String) -> [DocsBlock] {
        let lines = text.components(separatedBy: "\n")
        var blocks: [DocsBlock] = []
        var i = 0
        var lastNonBlank: String?
        while i < lines.count {
            let raw = lines[i]
            let indent = raw.prefix { $0 == " " }.count
            let stripped = raw.dropFirst(indent)
            guard stripped.hasPrefix("```") else {
                if !raw.trimmingCharacters(in: .whitespaces).isEmpty { lastNonBlank = raw.trimmingCharacters(in: .whitespaces) }
                i += 1
                continue
            }
            let language = stripped.dropFirst(3).trimmingCharacters(in: .whitespaces)
            let open = i
            var body: [String] = []
            i += 1
            while i < lines.count, !lines[i].dropFirst(min(indent, lines[i].prefix { $0 == " " }.count)).hasPrefix("```") {
                body.append(String(lines[i].dropFirst(min(indent, lines[i].prefix { $0 == " " }.count))))
                i += 1
            }
            i += 1
            var notRun: String?
            if let previous = lastNonBlank, previous.hasPrefix("<!-- not-run:"), previous.hasSuffix("-->") {
                notRun = previous.dropFirst("<!-- not-run:".count).dropLast(3).trimmingCharacters(in: .whitespaces)
            }
            lastNonBlank = "```"
            if language == "sh" || language == "console" {
                blocks.append(DocsBlock(language: language, file: file, line: open + 1, lines: body, notRun: notRun))
            }
        }
        return blocks
    }
}
