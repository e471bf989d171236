/// Rules for release names and versions. They are those of access-token
/// scopes (`model:deploy:NAME@VERSION`), so that every release can be named
/// in a deploy token.
public enum ReleaseIdentity {
    /// Why `name`/`version` cannot name a release, or nil when they can.
    /// Names: ASCII letters, digits, `.`, `_`, `-`, `/`; versions: ASCII
    /// letters, digits, `.`, `_`, `-`, `+`; each 1 to 256 bytes, no `*`.
    public static func problem(name: String, version: String) -> String? {
        if !valid(name, extra: "._-/") { return "the release name \"\(name)\" must be 1-256 ASCII letters, digits, '.', '_', '-' or '/'" }
        if !valid(version, extra: "._-+") { return "the release version \"\(version)\" must be 1-256 ASCII letters, digits, '.', '_', '-' or '+'" }
        return nil
    }

    /// The scope a deploy token must grant for this release.
    public static func deployScope(name: String, version: String) -> String { "model:deploy:\(name)@\(version)" }

    private static func valid(_ text: String, extra: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 256 else { return false }
        return text.unicodeScalars.allSatisfy {
            $0.isASCII && (("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || extra.unicodeScalars.contains($0))
        }
    }
}
