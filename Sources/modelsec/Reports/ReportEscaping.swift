/// Escaping for the audit reports written for people (HTML and Markdown).
///
/// Release names, file names, finding messages and waiver reasons come from
/// untrusted `release.json` files and policies. Every such string is first
/// made visible with ``CLI/terminalSafe(_:)`` (control and bidirectional
/// characters become `\u{…}`, so a row stays one line and reads in its true
/// order) and then escaped for the target language, so that `</script>`,
/// `<img onerror=…>` or `[x](javascript:…)` render as the text they are.
enum ReportEscaping {
    /// `text` for HTML element content or a double- or single-quoted
    /// attribute value: `& < > " '` as character references.
    static func html(_ text: String) -> String {
        escaped(text) { character in
            switch character {
            case "\"": return "&quot;"
            case "'": return "&#39;"
            default: return nil
            }
        }
    }

    /// `text` as literal Markdown inline text, safe in a table cell: every
    /// ASCII punctuation character a CommonMark or GitLab/GitHub renderer
    /// could act on is backslash-escaped (emphasis, links, code spans,
    /// table pipes, `@mentions`, `#references`), and `& < >` become
    /// character references so no raw HTML reaches the renderer.
    static func markdown(_ text: String) -> String {
        escaped(text) { character in
            switch character {
            case "\\", "`", "*", "_", "{", "}", "[", "]", "(", ")", "#", "+", "-", ".", "!", "|", "~", "@", ":", "$", "=", "\"", "'":
                return "\\" + String(character)
            default: return nil
            }
        }
    }

    /// `text` made visible with ``CLI/terminalSafe(_:)``, with `& < >` as
    /// character references (both languages pass raw HTML through) and every
    /// other character as `special` spells it (nil: the character itself).
    private static func escaped(_ text: String, special: (Character) -> String?) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in CLI.terminalSafe(text) {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default:
                if let replacement = special(character) { out += replacement } else { out.append(character) }
            }
        }
        return out
    }
}
