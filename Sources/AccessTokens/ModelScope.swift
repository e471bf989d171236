import ModelSecKeys

/// A scope naming what a token allows on which model version:
/// `model:<action>:<name>@<version>`, e.g. `model:deploy:resnet@2.1.0`.
///
/// `*` may stand for the whole name or the whole version
/// (`model:pull:resnet@*`, `model:pull:*@*`), never for part of one and never
/// for the action.
///
/// Matching: a granted scope covers a required scope when the actions are
/// equal and, for name and version each, the granted part is `*` or equal to
/// the required part. A required `*` is therefore only covered by a granted
/// `*` (asking for "every version" needs a grant for every version).
///
/// The parts are ASCII (the parser admits nothing else), so equality and
/// hashing of scopes are byte comparisons.
public struct ModelScope: Sendable, Hashable, CustomStringConvertible {
    /// What the holder may do: `pull`, `deploy`, `sign`, …
    public let action: String
    /// The model name, or `*`.
    public let name: String
    /// The model version, or `*`.
    public let version: String

    /// Why a scope string was refused.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// The refused text.
        public let text: String
        /// What is wrong with it.
        public let reason: String
        public var description: String { "invalid scope '\(text)': \(reason) (expected model:<action>:<name>@<version>, e.g. model:pull:resnet@2.1.0)" }
    }

    /// Parses `model:<action>:<name>@<version>`, on the UTF-8 bytes (a
    /// combining mark after `:` or `@` cannot hide a separator, as it would
    /// from a split on `Character`s).
    ///
    /// - action: lowercase ASCII letters, digits and `-`, starting with a letter;
    /// - name: ASCII letters, digits and `.`, `_`, `-`, `/`, or exactly `*`;
    /// - version: ASCII letters, digits and `.`, `_`, `-`, `+`, or exactly `*`.
    public init(parsing text: String) throws {
        var copy = text
        let parsed = copy.withUTF8 { Self.parse($0) }
        switch parsed {
        case let .success(scope): self = scope
        case let .failure(refusal): throw ParseError(text: text, reason: refusal.reason)
        }
    }

    /// A reason ``init(parsing:)`` refuses a scope (a fixed text).
    struct Refusal: Error {
        let reason: String
    }

    /// The scope `bytes` spell, or why not: the rules of ``init(parsing:)``,
    /// on the bytes, in one pass with no intermediate arrays.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<ModelScope, Refusal> {
        let colon = UInt8(ascii: ":"), at = UInt8(ascii: "@")
        // "model" ':' action ':' target (the target may hold further ':'s, which then fail its checks).
        guard let first = bytes.firstIndex(of: colon), let second = bytes[(first + 1)...].firstIndex(of: colon),
              first == 5, bytes[0] == UInt8(ascii: "m"), bytes[1] == UInt8(ascii: "o"), bytes[2] == UInt8(ascii: "d"),
              bytes[3] == UInt8(ascii: "e"), bytes[4] == UInt8(ascii: "l") else {
            return .failure(Refusal(reason: "it must start with 'model:' and have three ':'-separated parts"))
        }
        let action = bytes[(first + 1)..<second]
        guard let head = action.first, isLowercase(head),
              action.allSatisfy({ isLowercase($0) || isDigit($0) || $0 == UInt8(ascii: "-") }) else {
            return .failure(Refusal(reason: "the action must be lowercase letters, digits and '-' (no wildcard)"))
        }
        let target = bytes[(second + 1)...]
        guard let separator = target.firstIndex(of: at), !target[(separator + 1)...].contains(at) else {
            return .failure(Refusal(reason: "the target must be <name>@<version> with exactly one '@'"))
        }
        let name = target[target.startIndex..<separator], version = target[(separator + 1)...]
        guard valid(name, extra: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "/") }) else {
            return .failure(Refusal(reason: "the name must be '*' or letters, digits, '.', '_', '-', '/'"))
        }
        guard valid(version, extra: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }) else {
            return .failure(Refusal(reason: "the version must be '*' or letters, digits, '.', '_', '-', '+'"))
        }
        // Every part is ASCII now, so these Strings hold exactly those bytes.
        func text(_ part: Slice<UnsafeBufferPointer<UInt8>>) -> String { String(decoding: UnsafeBufferPointer(rebasing: part), as: UTF8.self) }
        return .success(ModelScope(checkedAction: text(action), name: text(name), version: text(version)))
    }

    private init(checkedAction action: String, name: String, version: String) {
        self.action = action
        self.name = name
        self.version = version
    }

    /// A scope from its parts (validated as by ``init(parsing:)``).
    public init(action: String, name: String, version: String) throws {
        try self.init(parsing: "model:\(action):\(name)@\(version)")
    }

    private static func isLowercase(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) }
    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    /// `*`, or 1–256 bytes each an ASCII letter, digit or a byte `extra` admits.
    private static func valid(_ part: Slice<UnsafeBufferPointer<UInt8>>, extra: (UInt8) -> Bool) -> Bool {
        if part.count == 1, part.first == UInt8(ascii: "*") { return true }
        guard !part.isEmpty, part.count <= 256 else { return false }
        return part.allSatisfy {
            isLowercase($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || isDigit($0) || extra($0)
        }
    }

    /// True when this (granted) scope covers `required` (see the type's
    /// documentation); parts are compared as exact bytes.
    public func covers(_ required: ModelScope) -> Bool {
        ExactString(action) == ExactString(required.action)
            && (ExactString(name) == "*" || ExactString(name) == ExactString(required.name))
            && (ExactString(version) == "*" || ExactString(version) == ExactString(required.version))
    }

    /// The canonical text `model:<action>:<name>@<version>`.
    public var description: String { "model:\(action):\(name)@\(version)" }
}
