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
            // ArgumentParser's "Help: --issuer …" line belongs to the error it
            // found (often a required option the unknown word stood for), not to this one.
            unknown.usage = usage.flatMap(withoutHelpHint)
            return unknown
        }
        // `--key ""`: ArgumentParser calls it a missing value; name the empty path.
        if var problem = CommandTree.current.pathProblem(in: arguments) {
            problem.usage = usage
            return problem
        }
        let parserCase = parserErrorCase(error)
        if parserCase?.name == "userValidationError", let underlying = parserCase?.payload as? CLIError {
            return underlying
        }
        if let choice = CommandTree.current.invalidChoice(in: arguments) { return choice }
        var translated = CLIError(code(forParserCase: parserCase?.name), ModelSecCommand.message(for: error))
        translated.usage = usage
        return translated
    }

    /// ArgumentParser's text after its first line (the usage synopsis and
    /// the pointer to --help), shown on stderr under the error line.
    static func usageText(for error: any Error) -> String? {
        let full = HelpLayout.wrapUsage(ModelSecCommand.fullMessage(for: error))
        let lines = full.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 1 else { return nil }
        let rest = lines.dropFirst().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        return rest.isEmpty ? nil : rest
    }

    /// `usage` without ArgumentParser's `Help:` lines (its hint for the
    /// option its own error was about); nil when nothing is left.
    static func withoutHelpHint(_ usage: String) -> String? {
        let kept = usage.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("Help:") }
        let text = kept.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
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
        /// The subcommand run when none is named (`serve` runs `run`).
        let defaultSubcommand: String?
    }

    /// One argument of a command.
    struct Argument: Decodable {
        struct Name: Decodable {
            let kind: String
            let name: String
        }
        let names: [Name]?
        let shouldDisplay: Bool
        /// The values an option accepts, when it is a list of choices.
        let allValues: [String]?
        /// `option`, `flag` or `positional`.
        let kind: String?
        /// The placeholder of an option's value (`FILE`, `DIR`, …).
        let valueName: String?
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
        var shortOptions: [String] = []
        // The next word is the value of an option (`serve --config x.yaml`), not a command name.
        var valueFollows = false
        for argument in arguments {
            if argument == "--" { break }
            if valueFollows {
                valueFollows = false
                continue
            }
            if argument.hasPrefix("--") {
                let name = String(argument.dropFirst(2).prefix { $0 != "=" })
                longOptions.append(name)
                valueFollows = !argument.contains("=") && Self.takesValue(name, node: node)
                continue
            }
            if argument.hasPrefix("-") {
                // `-o`, `-vf`; not `-` (stdin) or a negative number (a value).
                if argument.count > 1, let first = argument.dropFirst().first, first.isLetter {
                    shortOptions.append(String(argument.dropFirst()))
                }
                continue
            }
            guard let subcommands = node.subcommands, !subcommands.isEmpty else { continue }
            if let next = subcommands.first(where: { $0.commandName == argument || ($0.aliases ?? []).contains(argument) }) {
                node = next
                path.append(next.commandName)
                continue
            }
            if argument == "help" { return nil }
            // `serve --confg x.yaml`: the word is the value of an option meant
            // for the default subcommand; the option is what is wrong.
            if let name = node.defaultSubcommand, let implied = subcommands.first(where: { $0.commandName == name }) {
                if let error = Self.unknownOption(longOptions, of: implied, path: path + [name]) { return error }
            }
            let names = subcommands.map(\.commandName).filter { $0 != "help" }
            var message = "'\(CLI.terminalSafe(argument))' is not a \(path.joined(separator: " ")) command"
            if let close = Suggestion.closest(to: argument, among: names) {
                message += "; did you mean '\(close)'?"
            } else {
                message += " (commands: \(names.joined(separator: ", ")))"
            }
            return CLIError(.unknownCommand, message)
        }
        if let name = node.defaultSubcommand, let implied = node.subcommands?.first(where: { $0.commandName == name }) {
            node = implied
            path.append(name)
        }
        if let error = Self.unknownOption(longOptions, of: node, path: path) { return error }
        let arguments = node.arguments ?? []
        // Short options: ArgumentParser takes an unknown `-x` as a missing
        // value or swallows it; say it is unknown (the first letter of a group).
        let knownShort = Set(arguments.flatMap { ($0.names ?? []).filter { $0.kind == "short" }.map(\.name) } + ["h"])
        for group in shortOptions {
            if let letter = group.first, !knownShort.contains(String(letter)) {
                let shorts = knownShort.subtracting(["h"]).sorted().map { "-" + $0 }
                return CLIError(.unknownOption, "\(path.joined(separator: " ")) has no option '-\(CLI.terminalSafe(String(letter)))'"
                                + (shorts.isEmpty ? " (see \(path.joined(separator: " ")) --help)" : " (its short options: \(shorts.joined(separator: ", ")))"))
            }
        }
        return nil
    }

    /// Whether `--name` is an option with a value of `node`, or of the
    /// subcommand `node` runs when none is named.
    private static func takesValue(_ name: String, node: Node) -> Bool {
        var candidates = [node]
        if let implied = node.defaultSubcommand, let sub = node.subcommands?.first(where: { $0.commandName == implied }) {
            candidates.append(sub)
        }
        return candidates.contains { candidate in
            (candidate.arguments ?? []).contains { $0.kind == "option" && ($0.names ?? []).contains { $0.kind == "long" && $0.name == name } }
        }
    }

    /// The first of `longOptions` that `node` does not have, as a
    /// `usage.unknown-option` error with the closest visible name; nil when
    /// it has them all.
    private static func unknownOption(_ longOptions: [String], of node: Node, path: [String]) -> CLIError? {
        let arguments = node.arguments ?? []
        let known = Set(arguments.flatMap { ($0.names ?? []).filter { $0.kind == "long" }.map(\.name) } + ["help"])
        let visible = arguments.filter(\.shouldDisplay).flatMap { ($0.names ?? []).filter { $0.kind == "long" }.map(\.name) }
        for name in longOptions where !known.contains(name) {
            var message = "\(path.joined(separator: " ")) has no option '--\(CLI.terminalSafe(name))'"
            if let renamed = renamedOptions[path.joined(separator: " ") + " --" + name] {
                message += "; did you mean '--\(renamed)'?"
            } else if let close = Suggestion.sameOption(as: name, among: visible) ?? Suggestion.closest(to: name, among: visible) {
                message += "; did you mean '--\(close)'?"
            } else {
                message += " (see \(path.joined(separator: " ")) --help)"
            }
            return CLIError(.unknownOption, message)
        }
        return nil
    }

    /// The first option value that is not one of the option's choices
    /// (`keygen --type ed2551`), as one line that lists the choices once
    /// and suggests the closest; nil when there is none.
    func invalidChoice(in arguments: [String]) -> CLIError? {
        var node = command
        var path = ["modelsec"]
        var index = 0
        while index < arguments.count, let next = node.subcommands?.first(where: { $0.commandName == arguments[index] }) {
            node = next
            path.append(next.commandName)
            index += 1
        }
        let options = node.arguments ?? []
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "--" { break }
            guard word.hasPrefix("--") else { continue }
            let body = word.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            guard let argument = options.first(where: { ($0.names ?? []).contains { $0.kind == "long" && $0.name == name } }),
                  argument.kind == "option" else { continue }
            let value: String
            if body.contains("=") { value = String(body.drop { $0 != "=" }.dropFirst()) } else if index < arguments.count {
                value = arguments[index]
                index += 1
            } else { continue }
            guard let choices = argument.allValues, !choices.isEmpty, !choices.contains(value) else { continue }
            var message = "\(path.joined(separator: " ")) --\(name): '\(CLI.terminalSafe(value))' is not one of \(choices.joined(separator: ", "))"
            if let close = Suggestion.closest(to: value, among: choices) { message += "; did you mean '\(close)'?" }
            return CLIError(.invalidValue, message)
        }
        return nil
    }

    /// Options a user is likely to take from another command, by the
    /// command and the name typed: the name this command uses instead.
    static let renamedOptions: [String: String] = [
        "modelsec release create --key": "signing-key",
        "modelsec release create --key-id": "signing-key",
        "modelsec keygen --algorithm": "type",
        // release verify names its token options --token-*; token verify does not.
        "modelsec release verify --jwks": "token-jwks",
        "modelsec release verify --jwks-url": "token-jwks-url",
        "modelsec release verify --issuer": "token-issuer",
        "modelsec release verify --introspect": "token-introspect",
        "modelsec release verify --revoked": "token-revoked",
        "modelsec release verify --leeway": "token-leeway",
        "modelsec release verify --token-audience": "audience",
        "modelsec token verify --token-audience": "audience",
        "modelsec token verify --token-public-key": "public-key",
        "modelsec token verify --token-revoked": "revoked",
        "modelsec token verify --token-leeway": "leeway",
    ]
}

/// Picks the name a mistyped word most likely meant.
enum Suggestion {
    /// Words users add to or put in place of an option's name for the same
    /// thing: `--key-file` or `--signing-key` for `--key`, `--identity-file`
    /// for `--identity`, `--output-file` for `--output`.
    static let decorations = ["-file", "file", "-path", "path", "-name"]
    static let synonyms: [String: [String]] = [
        "signing-key": ["key"], "private-key": ["key", "identity", "signing-key"], "secret-key": ["key", "identity"],
        "key": ["signing-key"], "output": ["out"], "out": ["output"],
    ]

    /// The option `word` names in other words (a decoration added, or a
    /// synonym another command uses), when `candidates` has exactly it.
    /// Tried before edit distance, which takes `--keyfile` for
    /// `--key-passphrase-file`.
    static func sameOption(as word: String, among candidates: [String]) -> String? {
        let available = Set(candidates)
        var stems = [word]
        for decoration in decorations where word.hasSuffix(decoration) && word.count > decoration.count {
            stems.append(String(word.dropLast(decoration.count)))
        }
        for stem in stems {
            if stem != word, available.contains(stem) { return stem }
            if let other = synonyms[stem]?.first(where: available.contains) { return other }
        }
        return nil
    }

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
