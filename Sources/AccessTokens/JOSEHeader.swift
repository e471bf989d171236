/// The parts of a JWS protected header the verifier looks at. `jku`, `x5u`,
/// `jwk` and `x5c` are deliberately not decoded: keys come only from the
/// verifier's configuration, never from the token.
public struct JOSEHeader: Codable, Sendable, Equatable {
    /// `alg`.
    public var algorithm: String
    /// `typ`, when present.
    public var type: String?
    /// `kid`, when present.
    public var keyID: String?
    /// True when the header has a `crit` parameter (of any value).
    public var hasCritical: Bool

    /// A header for a new access token: `typ` `at+jwt`.
    public init(algorithm: String, keyID: String?, type: String? = "at+jwt") {
        self.algorithm = algorithm
        self.keyID = keyID
        self.type = type
        hasCritical = false
    }

    enum CodingKeys: String, CodingKey { case alg, typ, kid, crit }

    /// Decodes a header; wrong types are ``TokenRejection/malformed(_:)``.
    public init(from decoder: Decoder) throws {
        let c: KeyedDecodingContainer<CodingKeys>
        do { c = try decoder.container(keyedBy: CodingKeys.self) } catch {
            throw TokenRejection.malformed("header is not a JSON object")
        }
        guard c.contains(.alg) else { throw TokenRejection.malformed("header has no alg") }
        guard let alg = try? c.decode(String.self, forKey: .alg) else { throw TokenRejection.malformed("header alg is not a string") }
        algorithm = alg
        if c.contains(.typ) {
            guard let typ = try? c.decode(String.self, forKey: .typ) else { throw TokenRejection.malformed("header typ is not a string") }
            type = typ
        }
        if c.contains(.kid) {
            guard let kid = try? c.decode(String.self, forKey: .kid) else { throw TokenRejection.malformed("header kid is not a string") }
            keyID = kid
        }
        hasCritical = c.contains(.crit)
    }

    /// A header from a parsed JSON object (``BoundedJSON``, no name given
    /// twice), with the checks of ``init(from:)``.
    init(members: [(name: String, value: BoundedJSON.Value)]) throws {
        func value(_ key: CodingKeys) -> BoundedJSON.Value? {
            members.first { $0.name == key.rawValue }?.value
        }
        guard let alg = value(.alg) else { throw TokenRejection.malformed("header has no alg") }
        guard let algorithm = alg.string else { throw TokenRejection.malformed("header alg is not a string") }
        self.algorithm = algorithm
        if let typ = value(.typ) {
            guard let text = typ.string else { throw TokenRejection.malformed("header typ is not a string") }
            type = text
        }
        if let kid = value(.kid) {
            guard let text = kid.string else { throw TokenRejection.malformed("header kid is not a string") }
            keyID = text
        }
        hasCritical = value(.crit) != nil
    }

    /// Encodes `alg`, `kid` and `typ` (never `crit`).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(algorithm, forKey: .alg)
        try c.encodeIfPresent(keyID, forKey: .kid)
        try c.encodeIfPresent(type, forKey: .typ)
    }
}
