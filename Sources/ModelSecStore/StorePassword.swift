import Foundation

/// Finds the password for a PostgreSQL store without it ever passing
/// through argv: a password file given by the caller (its whole first line),
/// else `PGPASSWORD`, else the libpq password file (`PGPASSFILE`, default
/// `~/.pgpass`: lines `host:port:database:user:password`, `*` matching
/// anything, `\` escaping `:` and `\`, `#` starting a comment; as libpq, it
/// is ignored unless it is a regular file readable by its owner only).
public enum StorePassword {
    /// Largest password file read (a bound before reading).
    public static let maximumFileSize = 64 * 1024

    /// The password for `location`, or nil (the server may not ask for one).
    public static func resolve(for location: PostgresLocation, passwordFile: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let passwordFile {
            let text = try read(passwordFile, requirePrivate: false)
            let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let password = line.hasSuffix("\r") ? String(line.dropLast()) : line
            guard !password.isEmpty else { throw StoreError.passwordFile(path: passwordFile, reason: "the first line is empty") }
            return password
        }
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let passfile: String
        if let file = environment["PGPASSFILE"], !file.isEmpty { passfile = file } else if let home = environment["HOME"] {
            passfile = home + "/.pgpass"
        } else { return nil }
        guard FileManager.default.fileExists(atPath: passfile) else { return nil }
        guard let text = try? read(passfile, requirePrivate: true) else { return nil }
        return match(text, location: location)
    }

    /// The password of the first line of a libpq password file matching `location`.
    static func match(_ text: String, location: PostgresLocation) -> String? {
        for raw in text.split(separator: "\n") {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.hasPrefix("#") || line.isEmpty { continue }
            var fields: [String] = [""]
            var escaped = false
            for c in line {
                if escaped { fields[fields.count - 1].append(c); escaped = false } else if c == "\\" { escaped = true } else if c == ":" && fields.count < 5 {
                    fields.append("")
                } else { fields[fields.count - 1].append(c) }
            }
            guard fields.count == 5 else { continue }
            let wanted = [location.host, String(location.port), location.database, location.user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// Reads a password file, bounded; with `requirePrivate`, refuses one
    /// that group or others may read (as libpq does).
    static func read(_ path: String, requirePrivate: Bool) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { throw StoreError.passwordFile(path: path, reason: "cannot be read: \(String(cString: strerror(errno)))") }
        guard (info.st_mode & 0o170000) == 0o100000 else { throw StoreError.passwordFile(path: path, reason: "is not a regular file") }
        if requirePrivate, info.st_mode & 0o077 != 0 {
            throw StoreError.passwordFile(path: path, reason: "group or others may read it (chmod 600)")
        }
        guard info.st_size <= maximumFileSize else { throw StoreError.passwordFile(path: path, reason: "larger than \(maximumFileSize) bytes") }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw StoreError.passwordFile(path: path, reason: "cannot be read as UTF-8 text")
        }
        return text
    }
}
