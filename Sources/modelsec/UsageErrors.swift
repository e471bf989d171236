import ArgumentParser
import Foundation

/// Turns a failure to parse the command line into a ``CLIError`` with a
/// `usage.*` code, a one-line message and ArgumentParser's usage text.
///
/// ArgumentParser runs a command's `validate()` before it reports arguments
/// it did not recognise, so `verify --pubkey K` used to be answered with
/// "give --public-key or --trusted-keys"; unknown subcommands and options are
/// therefore looked for first, in the command tree, and reported with the
/// closest real name.
enum UsageErrors {
    /// The error to report for `error`, thrown while parsing `arguments`.
    static func translate(_ error: any Error, arguments: [String]) -> CLIError {
        let usage = usageText(for: error)
        if var unknown = CommandTree.current.unknownWord(in: arguments) {
            unknown.usage = usage
            return unknown
        }
        let parserCase = parserErrorCase(error)
        if parserCase?.name == "userValidationError", let underlying = parserCase?.payload as? CLIError {
            return underlying
        }
        var translated = CLIError(code(forParserCase: parserCase?.name), ModelSecCommand.message(for: error))
        translated.usage = usage
        return translated
    }

    /// ArgumentParser's text after its first line (the usage synopsis and
    /// the pointer to --help), shown on stderr under the error line.
    static func usageText(for error: any Error) -> String? {
        let full = ModelSecCommand.fullMessage(for: error)
        let lines = full.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 1 else { return nil }
        let rest = lines.dropFirst().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        return rest.isEmpty ? nil : rest
    }

    /// The `usage.*` code for a case of ArgumentParser's `ParserError`.
    static func code(forParserCase name: String?) -> CLIError.Code {
        switch name {
        case "unknownOption", "invalidOption", "nonAlphanumericShortOption":
            return .unknownOption
        case "missingValueForOption", "missingValueOrUnknownCompositeOption", "noValue", "missingSubcommand":
            return .missingArgument
        case "unableToParseValue", "wrongType", "unexpectedValueForOption":
            return .invalidValue
        case "unexpectedExtraValues":
            return .unexpectedArgument
        default:
            return .invalidArguments
        }
    }

    /// The case name (and first payload) of the `ParserError` inside
    /// ArgumentParser's internal `CommandError`, read by reflection: the
    /// library exposes only the rendered message. `nil` for other errors.
    static func parserErrorCase(_ error: any Error) -> (name: String, payload: Any?)? {
        guard let parserError = Mirror(reflecting: error).children.first(where: { $0.label == "parserError" })?.value else {
            return nil
        }
        let mirror = Mirror(reflecting: parserError)
        guard let first = mirror.children.first, let label = first.label else {
            return (String(describing: parserError), nil)
        }
        return (label, first.value)
    }
}

/// The names of every command, subcommand and option, from ArgumentParser's
/// own description of the tool (`_dumpHelp`), for "did you mean" answers.
struct CommandTree: Decodable {
    /// One command: its name, subcommands and arguments.
    struct Node: Decodable {
        let commandName: String
        let aliases: [String]?
        let subcommands: [Node]?
        let arguments: [Argument]?
    }

    /// One argument of a command.
    struct Argument: Decodable {
        struct Name: Decodable {
            let kind: String
            let name: String
        }
        let names: [Name]?
        let shouldDisplay: Bool
    }

    let command: Node

    /// The tree of `modelsec`.
    static let current: CommandTree = {
        let text = ModelSecCommand._dumpHelp()
        do {
            return try JSONDecoder().decode(CommandTree.self, from: Data(text.utf8))
        } catch {
            preconditionFailure("ArgumentParser's tool description did not decode: \(error)")
        }
    }()

    /// The first word of `arguments` that names no subcommand, or no option
    /// of the command it belongs to, as a `usage.unknown-command` or
    /// `usage.unknown-option` error with the closest real name; nil when
    /// every word is known.
    func unknownWord(in arguments: [String]) -> CLIError? {
        var node = command
        var path = ["modelsec"]
        var longOptions: [String] = []
        for argument in arguments {
            if argument == "--" { break }
            if argument.hasPrefix("--") {
                longOptions.append(String(argument.dropFirst(2).prefix { $0 != "=" }))
                continue
            }
            if argument.hasPrefix("-") { continue }
            guard let subcommands = node.subcommands, !subcommands.isEmpty else { continue }
            if let next = subcommands.first(where: { $0.commandName == argument || ($0.aliases ?? []).contains(argument) }) {
                node = next
                path.append(next.commandName)
                continue
            }
            if argument == "help" { return nil }
            let names = subcommands.map(\.commandName).filter { $0 != "help" }
            var message = "'\(CLI.terminalSafe(argument))' is not a \(path.joined(separator: " ")) command"
            if let close = Suggestion.closest(to: argument, among: names) {
                message += "; did you mean '\(close)'?"
            } else {
                message += " (commands: \(names.joined(separator: ", ")))"
            }
            return CLIError(.unknownCommand, message)
        }
        let arguments = node.arguments ?? []
        let known = Set(arguments.flatMap { ($0.names ?? []).filter { $0.kind == "long" }.map(\.name) } + ["help"])
        let visible = arguments.filter(\.shouldDisplay).flatMap { ($0.names ?? []).filter { $0.kind == "long" }.map(\.name) }
        for name in longOptions where !known.contains(name) {
            var message = "\(path.joined(separator: " ")) has no option '--\(CLI.terminalSafe(name))'"
            if let close = Suggestion.closest(to: name, among: visible) {
                message += "; did you mean '--\(close)'?"
            } else {
                message += " (see \(path.joined(separator: " ")) --help)"
            }
            return CLIError(.unknownOption, message)
        }
        return nil
    }
}

/// Picks the name a mistyped word most likely meant.
enum Suggestion {
    /// The candidate closest to `word` by edit distance (transpositions
    /// count once; dashes are ignored, so `pubkey` finds `public-key`), if
    /// it is close enough to be a plausible typo or abbreviation.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let typed = Array(word.lowercased().filter { $0 != "-" })
        guard !typed.isEmpty else { return nil }
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let target = Array(candidate.lowercased().filter { $0 != "-" })
            var distance = editDistance(typed, target)
            // An abbreviation: what was typed starts the candidate, or is
            // its letters in order with some left out (`pubkey`, `public-key`).
            if typed.count >= 3, typed.first == target.first, isSubsequence(typed, of: target) { distance = min(distance, 1) }
            let allowed = max(2, min(typed.count, target.count) / 3)
            guard distance <= allowed else { continue }
            if best == nil || distance < best!.distance { best = (candidate, distance) }
        }
        return best?.name
    }

    /// True when every character of `short` appears in `long`, in order.
    static func isSubsequence(_ short: [Character], of long: [Character]) -> Bool {
        var index = long.startIndex
        for character in short {
            guard let found = long[index...].firstIndex(of: character) else { return false }
            index = long.index(after: found)
        }
        return true
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
