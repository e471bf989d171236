/// An SPDX license expression (SPDX 3.0.1 Annex B / SPDX 2.3 Annex D):
/// licence identifiers (`MIT`, `GPL-2.0+`, `LicenseRef-x`,
/// `DocumentRef-d:LicenseRef-x`) joined by `WITH` (an exception), `AND`
/// and `OR`, with parentheses. `AND` binds tighter than `OR`; `WITH` binds
/// tightest. Operators are upper case only (`mit and bsd` is refused rather
/// than guessed at). Identifiers are checked for syntax (letters, digits,
/// `-`, `.`), not against the SPDX licence list, and compare ignoring ASCII
/// case, as the SPDX spec says.
///
/// ```swift
/// let e = try SPDXExpression("(MIT OR Apache-2.0) AND GPL-2.0-only WITH Classpath-exception-2.0")
/// e.isAllowed(allowed: ["mit", "gpl-2.0-only with classpath-exception-2.0"], denied: [])  // true
/// ```
public indirect enum SPDXExpression: Sendable, Hashable, CustomStringConvertible {
    /// A licence identifier, a `LicenseRef-`, or a `DocumentRef-…:LicenseRef-…` (as written).
    case license(String)
    /// A licence with an exception.
    case with(license: String, exception: String)
    /// Both sides apply.
    case and(SPDXExpression, SPDXExpression)
    /// Either side may be chosen.
    case or(SPDXExpression, SPDXExpression)

    /// Expressions longer than this many bytes are refused.
    public static let maximumLength = 4096
    /// Expressions with more licence terms than this are refused (it bounds
    /// the choices ``choices`` enumerates).
    public static let maximumTerms = 64
    /// Expressions whose `OR`s allow more combinations than this are refused.
    public static let maximumChoices = 4096

    /// Why a text is not an SPDX expression.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong (names the 1-based byte offset where it is known).
        public let reason: String
        public var description: String { reason }
    }

    /// Parses `text`; throws ``SyntaxError``.
    public init(_ text: String) throws {
        var parser = Parser(bytes: Array(text.utf8))
        guard parser.bytes.count <= Self.maximumLength else { throw SyntaxError(reason: "longer than \(Self.maximumLength) bytes") }
        try parser.tokenize()
        guard !parser.tokens.isEmpty else { throw SyntaxError(reason: "empty") }
        guard parser.tokens.filter({ if case .word = $0.kind { return true } else { return false } }).count <= Self.maximumTerms else {
            throw SyntaxError(reason: "more than \(Self.maximumTerms) licence terms")
        }
        let expression = try parser.parseOr(depth: 0)
        if parser.index < parser.tokens.count { throw SyntaxError(reason: "unexpected \(parser.tokens[parser.index].text) at byte \(parser.tokens[parser.index].offset + 1)") }
        guard expression.choiceCount <= Self.maximumChoices else {
            throw SyntaxError(reason: "more than \(Self.maximumChoices) combinations of OR choices")
        }
        self = expression
    }

    /// The expression in canonical spacing, with parentheses only where needed.
    public var description: String {
        switch self {
        case let .license(id): return id
        case let .with(id, exception): return "\(id) WITH \(exception)"
        case let .and(a, b): return "\(a.wrapped(inside: .and)) AND \(b.wrapped(inside: .and))"
        case let .or(a, b): return "\(a) OR \(b)"
        }
    }

    private func wrapped(inside: Precedence) -> String {
        if case .or = self, inside == .and { return "(\(self))" }
        return description
    }

    private enum Precedence { case and }

    /// Every way the `OR`s can be chosen: each choice is the set of terms
    /// (`MIT`, `GPL-2.0-only WITH Classpath-exception-2.0`) that then all apply.
    public var choices: [[Term]] {
        switch self {
        case let .license(id): return [[Term(license: id, exception: nil)]]
        case let .with(id, exception): return [[Term(license: id, exception: exception)]]
        case let .or(a, b): return a.choices + b.choices
        case let .and(a, b):
            let right = b.choices
            return a.choices.flatMap { left in right.map { left + $0 } }
        }
    }

    private var choiceCount: Int {
        switch self {
        case .license, .with: return 1
        case let .or(a, b): return min(a.choiceCount + b.choiceCount, Int.max / 2)
        case let .and(a, b):
            let (product, overflow) = a.choiceCount.multipliedReportingOverflow(by: b.choiceCount)
            return overflow ? Int.max / 2 : product
        }
    }

    /// One licence term of a choice.
    public struct Term: Sendable, Hashable, CustomStringConvertible {
        /// The licence identifier or reference, as written.
        public let license: String
        /// The exception after `WITH`, if any, as written.
        public let exception: String?
        public var description: String { exception.map { "\(license) WITH \($0)" } ?? license }
        /// The term lowered in ASCII (SPDX identifiers are case-insensitive).
        public var key: String { SPDXExpression.lowered(description) }
    }

    /// True when some choice of the `OR`s uses only allowed terms (when
    /// `allowed` is non-nil) and no denied one. A term `L WITH E` is allowed
    /// when `allowed` lists `L WITH E`, or lists both `L` and `E`; it is
    /// denied when `denied` lists `L WITH E`, `L` or `E`. Entries compare
    /// ignoring ASCII case, after their spacing is made canonical.
    public func isAllowed(allowed: Set<String>?, denied: Set<String>) -> Bool {
        acceptableChoice(allowed: allowed, denied: denied) != nil
    }

    /// The first choice that ``isAllowed(allowed:denied:)`` accepts, if any.
    public func acceptableChoice(allowed: Set<String>?, denied: Set<String>) -> [Term]? {
        let allow = allowed.map { Set($0.map(SPDXExpression.canonicalEntry)) }
        let deny = Set(denied.map(SPDXExpression.canonicalEntry))
        func ok(_ term: Term) -> Bool {
            let license = Self.lowered(term.license), exception = term.exception.map(Self.lowered)
            if deny.contains(term.key) || deny.contains(license) || exception.map(deny.contains) == true { return false }
            guard let allow else { return true }
            if allow.contains(term.key) { return true }
            return allow.contains(license) && (exception.map(allow.contains) ?? true)
        }
        return choices.first { $0.allSatisfy(ok) }
    }

    /// A policy list entry (`MIT`, `gpl-2.0-only  with classpath-exception-2.0`)
    /// lowered in ASCII with single spaces around `with`.
    static func canonicalEntry(_ entry: String) -> String {
        lowered(entry).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    static func lowered(_ text: String) -> String {
        String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    // MARK: - Parsing

    private struct Token {
        enum Kind: Equatable { case word, open, close, and, or, with }
        let kind: Kind
        let text: String
        let offset: Int
    }

    private struct Parser {
        let bytes: [UInt8]
        var tokens: [Token] = []
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        static func isIDByte(_ b: UInt8) -> Bool {
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x2D || b == 0x2E
        }

        mutating func tokenize() throws {
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                if b == 0x20 || b == 0x09 { i += 1; continue }
                if b == 0x28 { tokens.append(Token(kind: .open, text: "(", offset: i)); i += 1; continue }
                if b == 0x29 { tokens.append(Token(kind: .close, text: ")", offset: i)); i += 1; continue }
                // A word: idstring characters plus the ':' of DocumentRef-x:LicenseRef-y and a final '+'.
                let start = i
                while i < bytes.count, Self.isIDByte(bytes[i]) || bytes[i] == 0x3A || bytes[i] == 0x2B { i += 1 }
                guard i > start else {
                    throw SyntaxError(reason: "byte \(i + 1) is not allowed in a licence expression (only letters, digits, - . : + ( ) and spaces)")
                }
                let word = String(decoding: bytes[start..<i], as: UTF8.self)
                switch word {
                case "AND": tokens.append(Token(kind: .and, text: word, offset: start))
                case "OR": tokens.append(Token(kind: .or, text: word, offset: start))
                case "WITH": tokens.append(Token(kind: .with, text: word, offset: start))
                default:
                    try Self.checkIdentifier(Array(bytes[start..<i]), offset: start)
                    tokens.append(Token(kind: .word, text: word, offset: start))
                }
            }
        }

        /// `id`, `id+`, `LicenseRef-id`, `DocumentRef-id:LicenseRef-id`.
        static func checkIdentifier(_ word: [UInt8], offset: Int) throws {
            func bad(_ why: String) -> SyntaxError { SyntaxError(reason: "\"\(String(decoding: word, as: UTF8.self))\" at byte \(offset + 1) \(why)") }
            let parts = word.split(separator: 0x3A, omittingEmptySubsequences: false)
            if parts.count == 2 {
                guard parts[0].starts(with: Array("DocumentRef-".utf8)), parts[0].count > 12,
                      parts[1].starts(with: Array("LicenseRef-".utf8)), parts[1].count > 11,
                      (parts[0] + parts[1]).allSatisfy(isIDByte) else { throw bad("is not DocumentRef-…:LicenseRef-…") }
                return
            }
            guard parts.count == 1 else { throw bad("has more than one ':'") }
            var id = word
            if id.last == 0x2B { id.removeLast() }
            guard !id.isEmpty, id.allSatisfy(isIDByte) else { throw bad("is not a licence identifier") }
        }

        mutating func next(_ kind: Token.Kind) -> Bool {
            guard index < tokens.count, tokens[index].kind == kind else { return false }
            index += 1
            return true
        }

        func unexpected() -> SyntaxError {
            guard index < tokens.count else { return SyntaxError(reason: "ends where a licence or '(' is expected") }
            return SyntaxError(reason: "unexpected \(tokens[index].text) at byte \(tokens[index].offset + 1)")
        }

        mutating func parseOr(depth: Int) throws -> SPDXExpression {
            var left = try parseAnd(depth: depth)
            while next(.or) { left = .or(left, try parseAnd(depth: depth)) }
            return left
        }

        mutating func parseAnd(depth: Int) throws -> SPDXExpression {
            var left = try parsePrimary(depth: depth)
            while next(.and) { left = .and(left, try parsePrimary(depth: depth)) }
            return left
        }

        mutating func parsePrimary(depth: Int) throws -> SPDXExpression {
            if next(.open) {
                guard depth < 32 else { throw SyntaxError(reason: "parentheses nested more than 32 deep") }
                let inner = try parseOr(depth: depth + 1)
                guard next(.close) else { throw unexpected() }
                return inner
            }
            guard index < tokens.count, tokens[index].kind == .word else { throw unexpected() }
            let license = tokens[index].text
            index += 1
            if next(.with) {
                guard index < tokens.count, tokens[index].kind == .word, !tokens[index].text.contains(":"), !tokens[index].text.hasSuffix("+") else {
                    throw index < tokens.count ? SyntaxError(reason: "\(tokens[index].text) at byte \(tokens[index].offset + 1) is not an exception identifier") : unexpected()
                }
                let exception = tokens[index].text
                index += 1
                return .with(license: license, exception: exception)
            }
            return .license(license)
        }
    }
}
