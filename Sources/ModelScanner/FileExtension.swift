extension ModelScanner {
    /// The lowercased extension of the last component of `path`: what follows
    /// its last `.`, nothing for a name that starts or ends with its only
    /// dot, trailing slashes ignored. Read on the UTF-8 bytes, as the file
    /// system and Python's `os.path.splitext` read names (Foundation's
    /// `pathExtension`, used before, reads grapheme clusters, so a `/` or `.`
    /// after a prepended mark such as U+0600 counted differently; it also cost
    /// about a tenth of a small pickle's scan).
    static func fileExtension(_ path: String) -> String {
        fileExtension(bytes: Array(path.utf8))
    }

    /// ``fileExtension(_:)`` of a path's UTF-8 bytes.
    static func fileExtension(bytes: [UInt8]) -> String {
        var end = bytes.count
        while end > 1, bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        var start = end
        while start > 0, bytes[start - 1] != UInt8(ascii: "/") { start -= 1 }
        guard let dot = bytes[start..<end].lastIndex(of: UInt8(ascii: ".")), dot > start, dot < end - 1 else { return "" }
        return String(decoding: bytes[(dot + 1)..<end], as: UTF8.self).lowercased()
    }
}
