import Foundation

/// Where modelsec keeps shared state: `sqlite:PATH` (an embedded file, the
/// default) or `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE` (a shared
/// server). A URL never carries a password: it comes from `PGPASSWORD`,
/// `PGPASSFILE` (or `~/.pgpass`) or a password file (``StorePassword``), so
/// the URL itself may appear in argv, logs and errors. Every message still
/// uses ``redacted``, which keeps only the parts this parser accepted.
public enum StoreURL: Sendable, Equatable, CustomStringConvertible {
    /// An SQLite file.
    case sqlite(path: String)
    /// A PostgreSQL server.
    case postgres(PostgresLocation)

    /// Longest URL accepted (a bound before any parsing).
    public static let maximumLength = 4096

    /// Parses `text`; throws ``StoreError/invalidURL(reason:)`` (which never
    /// repeats a value that could be a secret) or ``StoreError/passwordInURL``.
    public init(parsing text: String) throws {
        guard text.utf8.count <= Self.maximumLength else { throw StoreError.invalidURL(reason: "longer than \(Self.maximumLength) bytes") }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw StoreError.invalidURL(reason: "contains control characters")
        }
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }   // sqlite:///abs/path
            guard !path.isEmpty else { throw StoreError.invalidURL(reason: "sqlite: needs a file path") }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(parsing: text))
        } else {
            throw StoreError.invalidURL(reason: "a store is sqlite:PATH or postgres://USER@HOST:PORT/DATABASE")
        }
    }

    /// The URL with nothing secret in it (a password is never accepted, so
    /// this is the URL as parsed, re-serialised from its parts).
    public var redacted: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let location): return location.redacted
        }
    }

    /// ``redacted``.
    public var description: String { redacted }

    /// The engine's name: "sqlite" or "postgres".
    public var engine: String {
        switch self {
        case .sqlite: return "sqlite"
        case .postgres: return "postgres"
        }
    }
}

/// How a PostgreSQL connection uses TLS; the names and meanings are libpq's
/// `sslmode` values (`allow` is refused: it is `prefer` with the order of
/// attempts reversed, which this client does not do).
public enum PostgresSSLMode: String, Sendable, CaseIterable {
    /// No TLS.
    case disable
    /// TLS if the server offers it, without certificate verification.
    case prefer
    /// TLS required, without certificate verification (unless `sslrootcert` is given, as libpq).
    case require
    /// TLS required; the certificate chain is verified, not the host name.
    case verifyCA = "verify-ca"
    /// TLS required; chain and host name are verified.
    case verifyFull = "verify-full"
}

/// A parsed `postgres://` URL.
public struct PostgresLocation: Sendable, Equatable {
    /// The role to connect as.
    public var user: String
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port (default 5432).
    public var port: Int
    /// Database name (default: the user name, as libpq).
    public var database: String
    /// TLS mode (default `prefer`, as libpq).
    public var sslMode: PostgresSSLMode
    /// PEM file of trusted roots for verify-ca / verify-full (default: the system's).
    public var sslRootCert: String?
    /// Seconds to wait for a connection (default 10).
    public var connectTimeout: Int

    /// The query parameters accepted (anything else is refused, so a misspelt
    /// `sslmode` never silently means "no TLS").
    static let parameters: Set<String> = ["sslmode", "sslrootcert", "connect_timeout"]

    init(parsing text: String) throws {
        let rest = text.hasPrefix("postgresql://") ? text.dropFirst("postgresql://".count) : text.dropFirst("postgres://".count)
        let beforeQuery = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let main = beforeQuery[0]
        let query = beforeQuery.count > 1 ? beforeQuery[1] : nil
        guard !main.contains("#") else { throw StoreError.invalidURL(reason: "a fragment (#) is not allowed") }
        let pathSplit = main.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let authority = pathSplit[0]
        guard let at = authority.lastIndex(of: "@") else {
            throw StoreError.invalidURL(reason: "names no user (postgres://USER@HOST/DATABASE)")
        }
        let userPart = authority[..<at]
        if userPart.contains(":") { throw StoreError.passwordInURL }
        guard let user = Self.decode(userPart), !user.isEmpty else { throw StoreError.invalidURL(reason: "names no user") }
        var hostPort = authority[authority.index(after: at)...]
        var host: String
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw StoreError.invalidURL(reason: "unclosed [ in the host") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            hostPort = hostPort[hostPort.index(after: close)...]
            if hostPort.hasPrefix(":") { portText = hostPort.dropFirst() } else if !hostPort.isEmpty {
                throw StoreError.invalidURL(reason: "unexpected text after the host")
            }
        } else {
            let parts = hostPort.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw StoreError.invalidURL(reason: "more than one ':' in the host") }
            host = String(parts[0])
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty, host.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ".-:_".unicodeScalars.contains($0)) }) else {
            throw StoreError.invalidURL(reason: "the host must be a host name or IP address")
        }
        var port = 5432
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p), portText.allSatisfy(\.isASCII) else {
                throw StoreError.invalidURL(reason: "the port must be a number from 1 to 65535")
            }
            port = p
        }
        var database = user
        if pathSplit.count == 2 {
            guard let d = Self.decode(pathSplit[1]), !d.contains("/") else { throw StoreError.invalidURL(reason: "the database name is malformed") }
            if !d.isEmpty { database = d }
        }
        var sslMode = PostgresSSLMode.prefer
        var rootCert: String?
        var timeout = 10
        var seen = Set<String>()
        for pair in (query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(kv[0])
            if key == "password" { throw StoreError.passwordInURL }
            guard Self.parameters.contains(key) else {
                throw StoreError.invalidURL(reason: "unknown parameter (accepted: \(Self.parameters.sorted().joined(separator: ", ")))")
            }
            guard seen.insert(key).inserted else { throw StoreError.invalidURL(reason: "parameter \(key) given twice") }
            guard kv.count == 2, let value = Self.decode(kv[1]), !value.isEmpty else { throw StoreError.invalidURL(reason: "parameter \(key) has no value") }
            switch key {
            case "sslmode":
                guard let mode = PostgresSSLMode(rawValue: value) else {
                    throw StoreError.invalidURL(reason: "sslmode must be one of \(PostgresSSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert": rootCert = value
            default:
                guard let t = Int(value), (1...600).contains(t) else { throw StoreError.invalidURL(reason: "connect_timeout must be 1 to 600 seconds") }
                timeout = t
            }
        }
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
        self.sslRootCert = rootCert
        self.connectTimeout = timeout
    }

    /// Percent-decodes a URL part; nil if malformed or not UTF-8.
    static func decode(_ part: Substring) -> String? {
        guard let text = String(part).removingPercentEncoding else { return nil }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        return text
    }

    /// Percent-encodes a URL part for display.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    /// The URL re-serialised from the parsed parts (no password ever).
    public var redacted: String {
        var query = ["sslmode=\(sslMode.rawValue)"]
        if let sslRootCert { query.append("sslrootcert=\(Self.encode(sslRootCert))") }
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(Self.encode(user))@\(hostText):\(port)/\(Self.encode(database))?\(query.joined(separator: "&"))"
    }
}
