import Foundation

/// The text format of modelsec's deny lists (revoked token ids, revoked key
/// ids): one entry per line, blank lines ignored, `#` comments.
///
/// Read on Unicode scalars, never on `Character`s: a combining mark after a
/// line break or `#` would otherwise fuse with it into one grapheme and hide
/// it. Lines end at every Unicode line break (LF, CR, VT, FF, NEL, U+2028,
/// U+2029): a reader that splits more finely than the writer intended can
/// only list more entries, which is the safe error for a deny list.
/// Entries are compared as exact bytes (``ExactString``).
public enum ListFile {
    /// Where a `#` starts a comment.
    public enum Comments: Sendable {
        /// Only at the start of a line (after spaces): entries may contain `#`.
        case wholeLine
        /// Anywhere: the rest of the line is a comment.
        case anywhere
    }

    /// The entries of `text`, Unicode whitespace trimmed from both ends.
    public static func entries(_ text: String, comments: Comments) -> [ExactString] {
        let breaks: Set<Unicode.Scalar> = ["\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}"]
        var entries: [ExactString] = []
        for line in text.unicodeScalars.split(whereSeparator: breaks.contains) {
            var entry = line[...]
            if comments == .anywhere, let hash = entry.firstIndex(of: "#") { entry = entry[..<hash] }
            while let first = entry.first, CharacterSet.whitespaces.contains(first) { entry.removeFirst() }
            while let last = entry.last, CharacterSet.whitespaces.contains(last) { entry.removeLast() }
            if entry.isEmpty || (comments == .wholeLine && entry.first == "#") { continue }
            entries.append(ExactString(String(entry)))
        }
        return entries
    }
}
