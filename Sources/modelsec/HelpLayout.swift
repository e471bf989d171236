/// Keeps the `USAGE:` synopsis of `--help` (and of usage errors) within 80
/// columns. ArgumentParser prints it as one line however many options a
/// command has (`verify`'s was 296 columns); it is wrapped here between
/// options, never inside one (`[--key-passphrase-file <FILE>]` stays whole),
/// continuation lines indented under the command's first option.
enum HelpLayout {
    /// The width the synopsis is wrapped to.
    static let width = 80

    /// `text` with each over-long `USAGE:` / `Usage:` line wrapped.
    static func wrapUsage(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let line = String(line)
            guard line.count > width, line.hasPrefix("USAGE: ") || line.hasPrefix("Usage: ") else { return line }
            return wrap(line)
        }.joined(separator: "\n")
    }

    /// One synopsis line wrapped at option boundaries.
    static func wrap(_ line: String) -> String {
        let groups = optionGroups(line)
        // The prefix: "USAGE: modelsec verify" (the words before the first
        // option or argument placeholder) starts the first line; the rest are
        // indented by its width, or by 4 when it is too wide.
        let firstOption = groups.firstIndex { $0.hasPrefix("[") || $0.hasPrefix("-") || $0.hasPrefix("<") || $0.hasPrefix("(") } ?? groups.count
        let head = groups[..<firstOption].joined(separator: " ")
        let indent = String(repeating: " ", count: head.count + 1 <= 40 ? head.count + 1 : 4)
        var lines: [String] = [head]
        for group in groups[firstOption...] {
            if lines[lines.count - 1].count + 1 + group.count <= width || lines[lines.count - 1].trimmingCharacters(in: .whitespaces).isEmpty {
                lines[lines.count - 1] += (lines[lines.count - 1].hasSuffix(" ") ? "" : " ") + group
            } else {
                lines.append(indent + group)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The words of `line`, a bracketed or parenthesised group (with its
    /// spaces) counted as one word.
    static func optionGroups(_ line: String) -> [String] {
        var groups: [String] = []
        var current = ""
        var depth = 0
        for character in line {
            if character == " ", depth == 0 {
                if !current.isEmpty { groups.append(current) }
                current = ""
                continue
            }
            if "[(<".contains(character) { depth += 1 }
            if "])>".contains(character) { depth = max(0, depth - 1) }
            current.append(character)
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }
}
