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

    /// Parses `model:<action>:<name>@<version>`.
    ///
    /// - action: lowercase ASCII letters, digits and `-`, starting with a letter;
    /// - name: ASCII letters, digits and `.`, `_`, `-`, `/`, or exactly `*`;
    /// - version: ASCII letters, digits and `.`, `_`, `-`, `+`, or exactly `*`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "model" else {
            throw ParseError(text: text, reason: "it must start with 'model:' and have three ':'-separated parts")
        }
        let action = String(parts[1])
        guard let first = action.unicodeScalars.first, ("a"..."z").contains(first),
              action.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
            throw ParseError(text: text, reason: "the action must be lowercase letters, digits and '-' (no wildcard)")
        }
        let target = parts[2].split(separator: "@", omittingEmptySubsequences: false)
        guard target.count == 2 else {
            throw ParseError(text: text, reason: "the target must be <name>@<version> with exactly one '@'")
        }
        let name = String(target[0]), version = String(target[1])
        guard Self.valid(name, extra: "._-/") else {
            throw ParseError(text: text, reason: "the name must be '*' or letters, digits, '.', '_', '-', '/'")
        }
        guard Self.valid(version, extra: "._-+") else {
            throw ParseError(text: text, reason: "the version must be '*' or letters, digits, '.', '_', '-', '+'")
        }
        self.action = action
        self.name = name
        self.version = version
    }

    /// A scope from its parts (validated as by ``init(parsing:)``).
    public init(action: String, name: String, version: String) throws {
        try self.init(parsing: "model:\(action):\(name)@\(version)")
    }

    private static func valid(_ part: String, extra: String) -> Bool {
        if part == "*" { return true }
        guard !part.isEmpty, part.utf8.count <= 256 else { return false }
        return part.unicodeScalars.allSatisfy {
            $0.isASCII && (("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || extra.unicodeScalars.contains($0))
        }
    }

    /// True when this (granted) scope covers `required` (see the type's documentation).
    public func covers(_ required: ModelScope) -> Bool {
        action == required.action
            && (name == "*" || name == required.name)
            && (version == "*" || version == required.version)
    }

    /// The canonical text `model:<action>:<name>@<version>`.
    public var description: String { "model:\(action):\(name)@\(version)" }
}
