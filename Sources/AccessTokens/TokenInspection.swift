import Foundation

/// A token's header and claims decoded WITHOUT verifying anything: for
/// looking at a token, never for deciding whether to trust it.
public struct TokenInspection: Sendable, Encodable {
    /// Always false: nothing was checked.
    public let verified = false
    /// Says so in words.
    public let warning = "NOT VERIFIED: decoded without checking the signature, issuer, audience, expiry or revocation"
    /// The header as JSON.
    public let header: JSONValue
    /// The payload as JSON (or nil when it is not JSON).
    public let claims: JSONValue?
    /// The signature's length in bytes.
    public let signatureBytes: Int

    enum CodingKeys: String, CodingKey {
        case verified, warning, header, claims
        case signatureBytes = "signature_bytes"
    }

    /// Decodes `token` (size limit and strict compact form still apply;
    /// failures are ``TokenRejection/malformed(_:)``/``TokenRejection/tooLarge(size:)``).
    public init(token: String) throws {
        guard token.utf8.count <= AccessTokenVerifier.maximumTokenSize else { throw TokenRejection.tooLarge(size: token.utf8.count) }
        let jws = try CompactJWS(parsing: token)
        guard let header = try? JSONDecoder().decode(JSONValue.self, from: Data(jws.header)) else {
            throw TokenRejection.malformed("header is not valid JSON")
        }
        self.header = header
        claims = try? JSONDecoder().decode(JSONValue.self, from: Data(jws.payload))
        signatureBytes = jws.signature.count
    }
}

/// Any JSON value, for showing unverified content as it is.
public indirect enum JSONValue: Codable, Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number that is not an integer (or does not fit in 64 bits).
    case number(Double)
    /// An integer.
    case integer(Int64)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .integer(i): try c.encode(i)
        case let .number(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }
}
