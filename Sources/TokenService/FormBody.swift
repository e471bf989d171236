import ModelSecCrypto

/// A request body of type `application/x-www-form-urlencoded`, decoded
/// strictly (the OAuth 2.0 token, introspection and revocation endpoints all
/// take one).
///
/// Rules, each refused with a reason instead of guessed at:
/// - at most ``maximumParameterCount`` parameters;
/// - every `&`-separated part is `name=value` (no bare names, no empty parts,
///   so `a=1&&b=2` and a trailing `&` are refused);
/// - `+` is a space and `%XY` a byte (two hex digits); any other `%` is refused;
/// - the decoded name and value are valid UTF-8 with no control characters;
/// - no name appears twice (RFC 6749 §3.2: parameters MUST NOT be repeated;
///   a reader that kept the first and one that kept the last would disagree).
/// Names are compared as exact bytes.
public struct FormBody: Sendable {
    /// The most parameters a body may carry.
    public static let maximumParameterCount = 32

    /// The parameters in body order.
    public let parameters: [(name: String, value: String)]

    /// Why a body was refused.
    public struct Malformed: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong, for a person (never repeats a value: it could be a secret).
        public let reason: String
        public var description: String { reason }
    }

    /// Decodes `bytes`.
    public init(_ bytes: [UInt8]) throws {
        var result: [(name: String, value: String)] = []
        if bytes.isEmpty { parameters = []; return }
        for part in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            guard result.count < Self.maximumParameterCount else {
                throw Malformed(reason: "more than \(Self.maximumParameterCount) parameters")
            }
            guard let equals = part.firstIndex(of: UInt8(ascii: "=")) else {
                throw Malformed(reason: "a parameter without '=' (or an empty one)")
            }
            let name = try Self.decode(part[part.startIndex..<equals], what: "parameter name")
            let value = try Self.decode(part[(equals + 1)...], what: "parameter value")
            guard !name.isEmpty else { throw Malformed(reason: "a parameter with an empty name") }
            // At most 32 names: compared pairwise (exact bytes), no set of arrays to hash.
            guard !result.contains(where: { $0.name.utf8.elementsEqual(name) }) else {
                throw Malformed(reason: "the parameter '\(String(decoding: name, as: UTF8.self))' is repeated")
            }
            result.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        parameters = result
    }

    /// The value of `name` (exact bytes), or nil.
    public subscript(name: String) -> String? {
        parameters.first { $0.name.utf8.elementsEqual(name.utf8) }?.value
    }

    /// Percent- and `+`-decodes one name or value and checks it is UTF-8
    /// without control characters.
    static func decode(_ raw: ArraySlice<UInt8>, what: String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            let byte = raw[i]
            if byte == UInt8(ascii: "+") {
                out.append(0x20)
                i += 1
            } else if byte == UInt8(ascii: "%") {
                guard i + 2 < raw.endIndex,
                      let high = Hex.value(raw[i + 1]), let low = Hex.value(raw[i + 2]) else {
                    throw Malformed(reason: "a \(what) has a '%' not followed by two hex digits")
                }
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(byte)
                i += 1
            }
        }
        guard String(validating: out, as: UTF8.self) != nil else {
            throw Malformed(reason: "a \(what) is not UTF-8")
        }
        guard !out.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw Malformed(reason: "a \(what) contains a control character")
        }
        return out
    }
}
