/// Static analysis of a Jinja chat template (GGUF `tokenizer.chat_template`),
/// as llama.cpp-based servers, llama-cpp-python and transformers render it.
///
/// The template is tokenized as Jinja does (text, `{{ }}`, `{% %}`, `{# #}`,
/// `{% raw %}`, whitespace control `-`/`+`; names, numbers, quoted strings
/// with escapes, operators). A template the scanner cannot tokenize, with
/// unbalanced brackets or block tags, or with a statement outside the chat
/// template subset is an **error**. A template is **dangerous** when it:
///
/// - names anything starting with `_` (`__class__`, `__globals__`, `_module`)
///   or a string literal containing `__` (after escapes);
/// - names a global that leads to Python objects (`cycler`, `joiner`,
///   `lipsum`, `self`, `config`, `request`, `os`, `eval`, `import`, ...), or an
///   attribute that does (`gi_frame`, `f_globals`, `mro`, `format`, ...);
/// - calls anything but the chat-template helpers (`namespace`, `range`,
///   `dict`, `raise_exception`, `strftime_now`, `caller`, `loop`, its own
///   macros) and a fixed set of string, list and dict methods;
/// - uses a filter outside the safe list (`attr` reaches any attribute,
///   `format` builds any string), or gives an attribute-taking filter a
///   non-literal argument;
/// - subscripts with a computed key (Jinja falls back to `getattr` when an
///   item lookup fails, so `x[k]` is an attribute access);
/// - builds strings that can spell `__` (`"_" * 2`, `"_" ~ "_"`, a literal
///   followed by `%` formatting);
/// - loads other templates (`import`, `from`, `include`, `extends`).
///
/// It cannot follow a key computed at render time and held in a variable;
/// servers must still render templates in Jinja's sandbox.
enum JinjaTemplateCheck {
    /// One problem with a template.
    struct Problem: Equatable {
        let severity: FindingSeverity
        let message: String
    }

    enum Token: Equatable {
        case name(String)
        case number
        case string(String)
        case op(String)
    }

    static let deniedGlobals: Set<String> = [
        "cycler", "joiner", "lipsum", "self", "config", "request", "session", "g", "url_for", "get_flashed_messages",
        "os", "sys", "subprocess", "importlib", "builtins", "import", "eval", "exec", "compile", "getattr", "setattr",
        "delattr", "globals", "locals", "vars", "open", "input", "breakpoint", "type", "object", "super",
    ]
    static let deniedAttributes: Set<String> = [
        "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code", "ag_await",
        "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next", "func_globals", "func_code",
        "func_closure", "func_defaults", "im_class", "im_func", "im_self", "mro", "format", "format_map", "environment",
    ]
    static let safeCallables: Set<String> = ["namespace", "range", "dict", "raise_exception", "strftime_now", "caller", "loop"]
    static let safeMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "lower", "upper", "title",
        "capitalize", "replace", "items", "keys", "values", "get", "append", "extend", "count", "index", "find", "rfind",
        "join", "isdigit", "isalpha", "isspace", "isalnum", "cycle", "copy",
    ]
    static let safeFilters: Set<String> = [
        "abs", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
        "forceescape", "indent", "int", "items", "join", "last", "length", "list", "lower", "max", "min", "reject",
        "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string",
        "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "wordcount", "wordwrap", "map", "groupby",
    ]
    /// Filters whose arguments name attributes (looked up with the getattr fallback).
    static let attributeFilters: Set<String> = ["map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique", "min", "max", "dictsort"]
    static let keywords: Set<String> = [
        "if", "else", "elif", "for", "in", "not", "and", "or", "is", "true", "false", "none", "True", "False", "None",
        "recursive", "with", "without", "context", "ignore", "missing",
    ]
    static let blockOpeners: Set<String> = ["if", "for", "macro", "call", "filter", "generation", "with", "block", "autoescape"]
    static let loaders: Set<String> = ["import", "from", "include", "extends"]

    /// The problems in `template` (UTF-8 bytes); empty when it is in the safe subset.
    static func check(_ template: [UInt8]) -> [Problem] {
        guard let text = String(validating: template, as: UTF8.self) else {
            return [Problem(severity: .error, message: "chat template is not UTF-8")]
        }
        let tags: [(kind: UInt8, tokens: [Token])]
        do {
            tags = try split(Array(text.unicodeScalars))
        } catch let error as Unparseable {
            return [Problem(severity: .error, message: "chat template cannot be parsed: \(error.reason)")]
        } catch {
            return [Problem(severity: .error, message: "chat template cannot be parsed")]
        }
        var macros = Set<String>()
        for tag in tags where tag.kind == UInt8(ascii: "%") && tag.tokens.first == .name("macro") {
            if tag.tokens.count > 1, case .name(let name) = tag.tokens[1] { macros.insert(name) }
        }
        var problems: [String] = []
        var blocks: [String] = []
        for tag in tags {
            var tokens = tag.tokens
            if tag.kind == UInt8(ascii: "%") {
                guard case .name(let keyword)? = tokens.first else {
                    return [Problem(severity: .error, message: "chat template cannot be parsed: a statement without a keyword")]
                }
                if loaders.contains(keyword) {
                    problems.append("statement '\(keyword)' loads another template")
                } else if blockOpeners.contains(keyword) || (keyword == "set" && !tokens.contains(.op("="))) {
                    blocks.append(keyword)
                } else if keyword.hasPrefix("end") {
                    guard blocks.last == String(keyword.dropFirst(3)) else {
                        return [Problem(severity: .error, message: "chat template cannot be parsed: '\(keyword)' does not close the open block")]
                    }
                    blocks.removeLast()
                } else if keyword == "elif" || keyword == "else" {
                    guard let open = blocks.last, open == "if" || open == "for" else {
                        return [Problem(severity: .error, message: "chat template cannot be parsed: '\(keyword)' outside an if or for block")]
                    }
                } else if !["set", "break", "continue"].contains(keyword) {
                    return [Problem(severity: .error, message: "chat template cannot be parsed: unknown statement '\(keyword)'")]
                }
                tokens.removeFirst()
                if keyword == "macro", !tokens.isEmpty { tokens.removeFirst() }   // the macro's own name
            }
            problems += expressionProblems(tokens, macros: macros)
        }
        guard blocks.isEmpty else {
            return [Problem(severity: .error, message: "chat template cannot be parsed: block '\(blocks.last!)' is never closed")]
        }
        var seen = Set<String>()
        return problems.filter { seen.insert($0).inserted }.prefix(20).map {
            Problem(severity: .dangerous, message: "chat template \($0), outside the safe template subset (template injection runs code in the server)")
        }
    }

    /// The dangerous constructs in one tag's tokens.
    static func expressionProblems(_ tokens: [Token], macros: Set<String>) -> [String] {
        var problems: [String] = []
        /// A literal that can join into `__`: it starts or ends with `_`.
        func literalEdgeUnderscore(_ token: Token?) -> Bool {
            if case .string(let s)? = token { return s.hasPrefix("_") || s.hasSuffix("_") }
            return false
        }
        for (index, token) in tokens.enumerated() {
            let previous = index > 0 ? tokens[index - 1] : nil
            let next = index + 1 < tokens.count ? tokens[index + 1] : nil
            switch token {
            case .name(let name):
                let isAttribute = previous == .op(".")
                let isFilter = previous == .op("|")
                let isTest = previous == .name("is") || (previous == .name("not") && index > 1 && tokens[index - 2] == .name("is"))
                let isKeywordArgument = next == .op("=") && !isAttribute
                if name.hasPrefix("_") {
                    problems.append("reaches '\(name)'")
                } else if isFilter {
                    if !safeFilters.contains(name) {
                        problems.append("uses the filter '\(name)'")
                    } else if attributeFilters.contains(name), next == .op("("), !argumentsAreLiterals(tokens, openAt: index + 1) {
                        problems.append("gives the filter '\(name)' a computed attribute name")
                    }
                } else if isTest || isKeywordArgument || keywords.contains(name) {
                    break
                } else if isAttribute {
                    if deniedAttributes.contains(name) { problems.append("reaches the attribute '\(name)'") }
                    if next == .op("("), !safeMethods.contains(name) { problems.append("calls the method '\(name)'") }
                } else {
                    if deniedGlobals.contains(name) { problems.append("uses the global '\(name)'") }
                    if next == .op("("), !safeCallables.contains(name), !macros.contains(name) { problems.append("calls '\(name)'") }
                }
            case .string(let value):
                if value.contains("__") { problems.append("contains the string \(value.debugDescription)") }
                if (next == .op("*") || previous == .op("*")) && value.contains("_") || next == .op("%") {
                    problems.append("builds a string with '*' or '%' formatting")
                }
            case .op("~"), .op("+"):
                if literalEdgeUnderscore(previous) || literalEdgeUnderscore(next) {
                    problems.append("joins a string that starts or ends with '_'")
                }
            case .op("("):
                if let previous, previous == .op(")") || previous == .op("]") {
                    problems.append("calls a computed value")
                }
            case .op("["):
                let isSubscript: Bool
                switch previous {
                case .name(let name)?: isSubscript = !keywords.contains(name) || ["true", "false", "none", "True", "False", "None"].contains(name)
                case .op(")")?, .op("]")?, .string?: isSubscript = true
                default: isSubscript = false
                }
                if isSubscript, !subscriptKeyIsPlain(tokens, openAt: index) {
                    problems.append("subscripts with a computed key")
                }
            default:
                break
            }
        }
        return problems
    }

    /// Whether the arguments in the parentheses at `open` are literals only.
    static func argumentsAreLiterals(_ tokens: [Token], openAt open: Int) -> Bool {
        var depth = 0
        for token in tokens[open...] {
            switch token {
            case .op("("): depth += 1
            case .op(")"):
                depth -= 1
                if depth == 0 { return true }
            case .string, .number, .op(","), .op("="): continue
            case .name(let name) where ["true", "false", "none", "True", "False", "None", "attribute", "default", "reverse", "case_sensitive"].contains(name): continue
            default: return false
            }
        }
        return false
    }

    /// Whether the subscript at `open` has a literal key, or names, attributes and integer arithmetic only.
    static func subscriptKeyIsPlain(_ tokens: [Token], openAt open: Int) -> Bool {
        var depth = 0
        for token in tokens[open...] {
            switch token {
            case .op("["): depth += 1
            case .op("]"):
                depth -= 1
                if depth == 0 { return true }
            case .string, .number, .name, .op("."), .op(":"), .op("-"), .op("+"): continue
            default: return false
            }
        }
        return false
    }

    struct Unparseable: Error {
        let reason: String
    }

    /// Splits the template into tags (kind `{` or `%`; comments and text dropped) and tokenizes them.
    static func split(_ s: [Unicode.Scalar]) throws -> [(kind: UInt8, tokens: [Token])] {
        var tags: [(kind: UInt8, tokens: [Token])] = []
        var i = 0
        var inRaw = false
        while i < s.count {
            guard s[i] == "{", i + 1 < s.count, s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#" else {
                i += 1
                continue
            }
            let kind = s[i + 1]
            if kind == "#" {
                guard let end = find(["#", "}"], in: s, from: i + 2) else { throw Unparseable(reason: "comment is never closed") }
                i = end + 2
                continue
            }
            i += 2
            if i < s.count, s[i] == "-" || s[i] == "+" { i += 1 }
            let (tokens, next) = try tokenize(s, from: i, closer: kind == "{" ? "}" : "%")
            i = next
            if inRaw {
                if kind == "%", tokens == [.name("endraw")] { inRaw = false }
                continue
            }
            if kind == "%", tokens == [.name("raw")] {
                inRaw = true
                continue
            }
            guard !tokens.isEmpty else { throw Unparseable(reason: "empty tag") }
            tags.append((kind == "{" ? UInt8(ascii: "{") : UInt8(ascii: "%"), tokens))
        }
        if inRaw { throw Unparseable(reason: "raw block is never closed") }
        return tags
    }

    private static func find(_ needle: [Unicode.Scalar], in s: [Unicode.Scalar], from start: Int) -> Int? {
        var i = start
        while i + 1 < s.count {
            if s[i] == needle[0], s[i + 1] == needle[1] { return i }
            i += 1
        }
        return nil
    }

    private static let twoCharOps: Set<String> = ["**", "//", "==", "!=", "<=", ">="]
    private static let oneCharOps: Set<Unicode.Scalar> = ["~", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "+", "-", "*", "/", "%", "<", ">", "="]

    /// Tokens up to the tag's closer (`}}` or `%}`, optionally preceded by `-` or `+`).
    private static func tokenize(_ s: [Unicode.Scalar], from start: Int, closer: Unicode.Scalar) throws -> ([Token], Int) {
        var tokens: [Token] = []
        var brackets: [Unicode.Scalar] = []
        var i = start
        func isCloser(_ at: Int) -> Bool { at + 1 < s.count && s[at] == closer && s[at + 1] == "}" }
        while i < s.count {
            let c = s[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            if brackets.isEmpty, isCloser(i) { return (tokens, i + 2) }
            if brackets.isEmpty, c == "-" || c == "+", isCloser(i + 1) { return (tokens, i + 3) }
            if c.isASCII, c.properties.isAlphabetic || c == "_" {
                var j = i
                while j < s.count, s[j].isASCII, s[j].properties.isAlphabetic || s[j] == "_" || ("0"..."9").contains(s[j]) { j += 1 }
                tokens.append(.name(String(String.UnicodeScalarView(s[i..<j]))))
                i = j
            } else if ("0"..."9").contains(c) {
                var j = i
                while j < s.count, ("0"..."9").contains(s[j]) || s[j] == "." || s[j] == "_" || s[j] == "e" || s[j] == "E" { j += 1 }
                tokens.append(.number)
                i = j
            } else if c == "'" || c == "\"" {
                var j = i + 1
                var value = String.UnicodeScalarView()
                while true {
                    guard j < s.count else { throw Unparseable(reason: "string literal is never closed") }
                    if s[j] == c { break }
                    if s[j] == "\\" {
                        guard j + 1 < s.count else { throw Unparseable(reason: "string literal is never closed") }
                        let (scalar, length) = try unescape(s, at: j)
                        value.append(scalar)
                        j += length
                    } else {
                        value.append(s[j])
                        j += 1
                    }
                }
                tokens.append(.string(String(value)))
                i = j + 1
            } else if i + 1 < s.count, twoCharOps.contains(String(String.UnicodeScalarView([c, s[i + 1]]))) {
                tokens.append(.op(String(String.UnicodeScalarView([c, s[i + 1]]))))
                i += 2
            } else if oneCharOps.contains(c) {
                switch c {
                case "(", "[", "{": brackets.append(c)
                case ")", "]", "}":
                    let expected: Unicode.Scalar = c == ")" ? "(" : c == "]" ? "[" : "{"
                    guard brackets.last == expected else { throw Unparseable(reason: "unbalanced '\(c)'") }
                    brackets.removeLast()
                default: break
                }
                tokens.append(.op(String(c)))
                i += 1
            } else {
                throw Unparseable(reason: "unexpected character \(String(c).debugDescription) in a tag")
            }
        }
        throw Unparseable(reason: "tag is never closed")
    }

    /// A backslash escape in a string literal (Python's rules, as Jinja's lexer applies them).
    private static func unescape(_ s: [Unicode.Scalar], at j: Int) throws -> (Unicode.Scalar, Int) {
        let e = s[j + 1]
        func hex(_ count: Int) throws -> (Unicode.Scalar, Int) {
            guard j + 2 + count <= s.count, let value = UInt32(String(String.UnicodeScalarView(s[(j + 2)..<(j + 2 + count)])), radix: 16),
                  let scalar = Unicode.Scalar(value) else { throw Unparseable(reason: "invalid escape in a string literal") }
            return (scalar, 2 + count)
        }
        switch e {
        case "x": return try hex(2)
        case "u": return try hex(4)
        case "U": return try hex(8)
        case "n": return ("\n", 2)
        case "t": return ("\t", 2)
        case "r": return ("\r", 2)
        case "0"..."7":
            var k = j + 1
            var value: UInt32 = 0
            while k < s.count, k < j + 4, ("0"..."7").contains(s[k]) { value = value * 8 + (s[k].value - 48); k += 1 }
            guard let scalar = Unicode.Scalar(value) else { throw Unparseable(reason: "invalid escape in a string literal") }
            return (scalar, k - j)
        case "N": throw Unparseable(reason: "named escapes are not supported")
        default: return (e, 2)   // \\ \' \" and unknown escapes keep the character (the backslash only matters for safety checks on '_')
        }
    }
}
