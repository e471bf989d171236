import ModelSecCrypto
import ModelSecKeys

/// A PKCS#11 URI (RFC 7512) naming a key in a token, with the module to load
/// and where the PIN comes from:
///
///     pkcs11:token=release;object=model-signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
///
/// Parsing is strict, because a URI that two readers resolve to different keys
/// is a way to sign with the wrong one:
/// - every attribute is known (RFC 7512's path and query attributes), appears
///   at most once, and its value is percent-decoded to bytes exactly once;
/// - textual values must be UTF-8 and are compared with token fields as
///   bytes (never as Swift strings, whose `==` is canonical equivalence);
/// - `pin-value` is refused: a PIN in a URI ends up in process lists, shell
///   history and CI logs. The PIN comes from `pin-source=file:PATH`,
///   `pin-source=env:NAME` (a modelsec extension), or, when the URI names no
///   source, the `MODELSEC_PKCS11_PIN` environment variable;
/// - `module-path` must be absolute (no search path decides which code runs).
public struct PKCS11URI: Sendable, Equatable, CustomStringConvertible {
    /// Token label (`token=`), as bytes.
    public var token: [UInt8]?
    /// Token manufacturer (`manufacturer=`).
    public var manufacturer: [UInt8]?
    /// Token serial number (`serial=`).
    public var serial: [UInt8]?
    /// Token model (`model=`).
    public var model: [UInt8]?
    /// Slot id (`slot-id=`), a decimal number.
    public var slotID: UInt?
    /// Object label (`object=`).
    public var object: [UInt8]?
    /// Object id (`id=`), raw bytes (usually percent-encoded).
    public var id: [UInt8]?
    /// Object type (`type=`): only `private` and `public` are meaningful here.
    public var type: String?
    /// The PKCS#11 module to load (`module-path=`), an absolute path.
    public var modulePath: String?
    /// Where the PIN comes from, if the URI says.
    public var pinSource: PassphraseSource?

    /// The environment variable read for the PIN when the URI names no `pin-source`.
    public static let defaultPINEnvironmentVariable = "MODELSEC_PKCS11_PIN"

    /// Whether `text` is meant as a PKCS#11 URI (starts with `pkcs11:`,
    /// case-insensitively, as RFC 3986 schemes compare).
    public static func isPKCS11URI(_ text: String) -> Bool {
        // Fold ASCII letters only: folding every byte would let control
        // bytes (0x11 | 0x20 == "1") pass for the scheme.
        Array(text.utf8.prefix(7)).map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 } == Array("pkcs11:".utf8)
    }

    /// Parses `text`; throws ``PKCS11Error/invalidURI(_:reason:)`` naming what is wrong.
    public init(parsing text: String) throws {
        // Errors repeat the URI with every query value but module-path and
        // pin-source replaced, so a PIN (pin-value=, or a misspelt attribute
        // that carries one) never reaches a message or a log.
        let shown = Self.redactingQueryValues(text)
        guard Self.isPKCS11URI(text) else { throw PKCS11Error.invalidURI(shown, reason: .notPKCS11) }
        let bytes = Array(text.utf8.dropFirst(7))
        // Fragments are not part of a PKCS#11 URI; refuse rather than guess.
        guard !bytes.contains(UInt8(ascii: "#")) else { throw PKCS11Error.invalidURI(shown, reason: .fragment) }
        let queryStart = bytes.firstIndex(of: UInt8(ascii: "?"))
        let path = bytes[..<(queryStart ?? bytes.endIndex)]
        let query = queryStart.map { bytes[($0 + 1)...] } ?? []

        var seen = Set<String>()
        func attributes(_ part: ArraySlice<UInt8>, separator: UInt8) throws -> [(String, [UInt8])] {
            guard !part.isEmpty else { return [] }
            let isQuery = separator == UInt8(ascii: "&")
            return try part.split(separator: separator, omittingEmptySubsequences: false).map { pair in
                guard let eq = pair.firstIndex(of: UInt8(ascii: "=")) else {
                    // A query part without '=' may itself be a PIN; never echo it.
                    let named = isQuery ? "(a query attribute)" : String(decoding: pair, as: UTF8.self)
                    throw PKCS11Error.invalidURI(shown, reason: .attributeWithoutValue(named))
                }
                let name = String(decoding: pair[..<eq], as: UTF8.self)
                guard seen.insert(name).inserted else { throw PKCS11Error.invalidURI(shown, reason: .repeatedAttribute(name)) }
                return (name, try Self.percentDecode(pair[(eq + 1)...], attribute: name, uri: shown))
            }
        }

        for (name, value) in try attributes(path, separator: UInt8(ascii: ";")) {
            switch name {
            case "token": token = value
            case "manufacturer": manufacturer = value
            case "serial": serial = value
            case "model": model = value
            case "object": object = value
            case "id": id = value
            case "type":
                let t = try Self.text(value, attribute: name, uri: shown)
                guard ["private", "public", "cert", "secret-key", "data"].contains(t) else {
                    throw PKCS11Error.invalidURI(shown, reason: .badValue(name))
                }
                type = t
            case "slot-id":
                let t = try Self.text(value, attribute: name, uri: shown)
                guard !t.isEmpty, t.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let n = UInt(t) else {
                    throw PKCS11Error.invalidURI(shown, reason: .badValue(name))
                }
                slotID = n
            case "library-manufacturer", "library-description", "library-version",
                 "slot-description", "slot-manufacturer":
                // Valid RFC 7512 attributes that modelsec does not match on;
                // refusing is safer than silently ignoring a constraint.
                throw PKCS11Error.invalidURI(shown, reason: .unsupportedAttribute(name))
            default:
                throw PKCS11Error.invalidURI(shown, reason: .unknownAttribute(name))
            }
        }
        for (name, value) in try attributes(query, separator: UInt8(ascii: "&")) {
            switch name {
            case "module-path":
                let p = try Self.text(value, attribute: name, uri: shown)
                guard p.utf8.first == UInt8(ascii: "/"), !p.utf8.contains(0) else {
                    throw PKCS11Error.invalidURI(shown, reason: .relativeModulePath)
                }
                modulePath = p
            case "pin-source":
                let s = try Self.text(value, attribute: name, uri: shown)
                if s.hasPrefix("file:") {
                    var p = String(s.dropFirst(5))
                    // file:///abs and file:/abs are both the same local file.
                    if p.hasPrefix("///") { p.removeFirst(2) }
                    guard !p.isEmpty else { throw PKCS11Error.invalidURI(shown, reason: .badValue(name)) }
                    pinSource = .file(p)
                } else if s.hasPrefix("env:") {
                    let v = String(s.dropFirst(4))
                    guard !v.isEmpty else { throw PKCS11Error.invalidURI(shown, reason: .badValue(name)) }
                    pinSource = .environment(v)
                } else {
                    throw PKCS11Error.invalidURI(shown, reason: .unsupportedPINSource)
                }
            case "pin-value":
                throw PKCS11Error.invalidURI(shown, reason: .pinInURI)
            case "module-name":
                throw PKCS11Error.invalidURI(shown, reason: .unsupportedAttribute(name))
            default:
                throw PKCS11Error.invalidURI(shown, reason: .unknownAttribute(name))
            }
        }
        guard modulePath != nil else { throw PKCS11Error.invalidURI(shown, reason: .noModulePath) }
        guard object != nil || id != nil else { throw PKCS11Error.invalidURI(shown, reason: .noObject) }
    }

    /// Where the PIN is read from: the URI's `pin-source`, else
    /// ``defaultPINEnvironmentVariable``.
    public var effectivePINSource: PassphraseSource {
        pinSource ?? .environment(Self.defaultPINEnvironmentVariable)
    }

    /// The URI written back in canonical form (attributes in a fixed order,
    /// every byte outside RFC 7512's unreserved set percent-encoded).
    public var description: String {
        var path: [String] = []
        if let token { path.append("token=" + Self.percentEncode(token)) }
        if let manufacturer { path.append("manufacturer=" + Self.percentEncode(manufacturer)) }
        if let serial { path.append("serial=" + Self.percentEncode(serial)) }
        if let model { path.append("model=" + Self.percentEncode(model)) }
        if let slotID { path.append("slot-id=\(slotID)") }
        if let object { path.append("object=" + Self.percentEncode(object)) }
        if let id { path.append("id=" + Self.percentEncode(id, encodeAll: true)) }
        if let type { path.append("type=" + type) }
        var query: [String] = []
        if let modulePath { query.append("module-path=" + Self.percentEncode(Array(modulePath.utf8), keepSlash: true)) }
        switch pinSource {
        case .file(let p)?: query.append("pin-source=" + Self.percentEncode(Array("file:\(p)".utf8), keepSlash: true))
        case .environment(let v)?: query.append("pin-source=" + Self.percentEncode(Array("env:\(v)".utf8)))
        case nil: break
        }
        return "pkcs11:" + path.joined(separator: ";") + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// `text` with the value of every query attribute other than
    /// `module-path` and `pin-source` (and any query part without `=`)
    /// replaced by `REDACTED`.
    static func redactingQueryValues(_ text: String) -> String {
        guard let q = text.firstIndex(of: "?") else { return text }
        let query = text[text.index(after: q)...].split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
            guard let eq = part.firstIndex(of: "=") else { return part.isEmpty ? "" : "REDACTED" }
            let name = part[..<eq]
            return name == "module-path" || name == "pin-source" ? String(part) : name + "=REDACTED"
        }
        return String(text[...q]) + query.joined(separator: "&")
    }

    private static func text(_ value: [UInt8], attribute: String, uri: String) throws -> String {
        guard let s = String(validating: value, as: UTF8.self), !value.contains(0) else {
            throw PKCS11Error.invalidURI(uri, reason: .badValue(attribute))
        }
        return s
    }

    /// Percent-decodes once; a `%` not followed by two hex digits is an error.
    private static func percentDecode(_ part: ArraySlice<UInt8>, attribute: String, uri: String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(part.count)
        var i = part.startIndex
        while i < part.endIndex {
            let b = part[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < part.endIndex, let hi = Hex.value(part[i + 1]), let lo = Hex.value(part[i + 2]) else {
                    throw PKCS11Error.invalidURI(uri, reason: .badPercentEncoding(attribute))
                }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }

    private static func percentEncode(_ bytes: [UInt8], encodeAll: Bool = false, keepSlash: Bool = false) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in bytes {
            let unreserved = (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || (0x30...0x39).contains(b)
                || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "~")
                || (keepSlash && (b == UInt8(ascii: "/") || b == UInt8(ascii: ":")))
            if unreserved && !encodeAll {
                out.append(b)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
