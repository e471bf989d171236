import AccessTokens
import Foundation
import ModelSecKeys

/// The subject token of a token exchange (RFC 8693 §2.1): a JWT an outside
/// issuer signed for a workload (a Kubernetes projected service-account
/// token, a GitHub Actions or GitLab CI OIDC token), parsed and checked
/// strictly. Every refusal is `invalid_request`, as RFC 8693 §2.2.2 requires
/// for a subject token that is "invalid for any reason, or unacceptable based
/// on policy"; descriptions never repeat a value from the token.
///
/// - a compact JWS of at most ``maximumSize`` bytes; header and claims JSON
///   objects (the claims valid JSON throughout) whose members are unique (at
///   every level a matcher walks); no
///   `crit`; a `kid`;
/// - `alg` exactly the one algorithm of the issuer key the `kid` names
///   (`none`, `HS*` and anything else never match a key);
/// - `iss`, `sub` (1–1024 bytes, no control characters) and `exp` present; `exp`, `iat`, `nbf`
///   JSON integers; `exp` not past and `iat`/`nbf` not in the future, each
///   with ``leeway`` seconds of skew; `aud` a string or an array of strings;
///   `jti`, if present, a string of 1–256 bytes.
public struct SubjectToken: Sendable {
    /// The most bytes a subject token may have.
    public static let maximumSize = 8192
    /// Clock skew allowed on `exp`, `iat` and `nbf`.
    public static let leeway: Int64 = 30
    /// The `subject_token_type`s accepted (RFC 8693 §3).
    public static let acceptedTypes = ["urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token"]

    /// `iss`.
    public let issuer: String
    /// `sub`.
    public let subject: String
    /// `aud` (one or more).
    public let audiences: [String]
    /// `exp`.
    public let expiresAt: Int64
    /// `jti`, when present.
    public let tokenID: String?
    /// The header's `kid`.
    public var keyID: String { header.keyID ?? "" }
    let header: JOSEHeader
    let jws: CompactJWS
    let members: [JSONObjectScanner.Member]
    let issuedAt: Int64?
    let notBefore: Int64?

    static func refuse(_ reason: String) -> OAuthError { OAuthError(.invalidRequest, "the subject token " + reason) }

    /// The one refusal for every failure between parsing and a good
    /// signature: an issuer no rule names, a `kid` its issuer does not
    /// publish, an `alg` that is not the key's, a bad signature. One text,
    /// so that a caller who cannot sign as a trusted issuer learns nothing
    /// about which issuers, keys or algorithms the trust policy holds.
    static var unverified: OAuthError {
        refuse("cannot be verified with the keys of a trusted issuer (issuer, kid, alg or signature)")
    }

    /// Parses `text` without checking its signature (that needs the keys of
    /// the issuer it names).
    public init(parsing text: String) throws {
        guard text.utf8.count <= Self.maximumSize else { throw Self.refuse("is larger than \(Self.maximumSize) bytes") }
        guard let jws = try? CompactJWS(parsing: text) else { throw Self.refuse("is not a compact JWS") }
        guard let headerMembers = JSONObjectScanner.members(jws.header), Self.unique(headerMembers),
              let header = try? JSONDecoder().decode(JOSEHeader.self, from: Data(jws.header)) else {
            throw Self.refuse("has a malformed header")
        }
        guard !header.hasCritical else { throw Self.refuse("has a crit header (no JWS extension is understood)") }
        guard let kid = header.keyID, !kid.isEmpty else { throw Self.refuse("has no kid") }
        // The scanner only finds member boundaries; the full parser checks the
        // whole document is JSON (nothing unparsed hides between members).
        guard let members = JSONObjectScanner.members(jws.payload), Self.unique(members),
              (try? JSONSerialization.jsonObject(with: Data(jws.payload))) is [String: Any] else {
            throw Self.refuse("claims are not a JSON object with unique members")
        }
        func member(_ name: String) -> ArraySlice<UInt8>? {
            members.first { Array($0.name.utf8) == Array(name.utf8) }?.value
        }
        func date(_ name: String) throws -> Int64? {
            guard let raw = member(name) else { return nil }
            guard !raw.isEmpty, raw.count <= 12, raw.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let value = Int64(String(decoding: raw, as: UTF8.self)) else {
                throw Self.refuse("claim '\(name)' is not an integer NumericDate")
            }
            return value
        }
        func string(_ name: String) throws -> String? {
            guard let raw = member(name) else { return nil }
            guard let value = Self.jsonString(raw) else { throw Self.refuse("claim '\(name)' is not a string") }
            return value
        }
        guard let issuer = try string("iss"), !issuer.isEmpty else { throw Self.refuse("has no iss") }
        guard let subject = try string("sub"), !subject.isEmpty, subject.utf8.count <= 1024,
              !subject.unicodeScalars.contains(where: Self.isHiddenControl) else {
            throw Self.refuse("has no sub of 1 to 1024 bytes without control characters")
        }
        guard let exp = try date("exp") else { throw Self.refuse("has no exp") }
        guard let audRaw = member("aud") else { throw Self.refuse("has no aud") }
        let audiences: [String]
        if let one = Self.jsonString(audRaw) {
            audiences = [one]
        } else if let list = try? JSONDecoder().decode([String].self, from: Data(audRaw)), !list.isEmpty, list.count <= 64 {
            audiences = list
        } else {
            throw Self.refuse("has an aud that is not a string or an array of 1 to 64 strings")
        }
        let jti = try string("jti")
        if let jti, jti.isEmpty || jti.utf8.count > 256 { throw Self.refuse("has a jti that is not 1 to 256 bytes") }
        self.issuer = issuer
        self.subject = subject
        self.audiences = audiences
        self.expiresAt = exp
        self.tokenID = jti
        self.issuedAt = try date("iat")
        self.notBefore = try date("nbf")
        self.header = header
        self.jws = jws
        self.members = members
    }

    /// Checks the signature with the issuer's `keys` (the one the `kid`
    /// names, whose algorithm must be the header's `alg`) and the times.
    public func verify(keys: [IssuerKey], now: Int64) throws {
        let kid = ExactString(header.keyID ?? "")
        guard let key = keys.first(where: { ExactString($0.keyID) == kid }) else {
            throw Self.unverified
        }
        guard ExactString(header.algorithm) == ExactString(key.algorithm) else {
            throw Self.unverified
        }
        guard key.isValidSignature(jws.signature, for: jws.signingInput) else {
            throw Self.unverified
        }
        guard expiresAt + Self.leeway > now else { throw Self.refuse("has expired") }
        if let iat = issuedAt, iat > now + Self.leeway { throw Self.refuse("was issued in the future") }
        if let nbf = notBefore, nbf > now + Self.leeway { throw Self.refuse("is not valid yet") }
    }

    /// True when `aud` contains `audience` (exact bytes).
    public func hasAudience(_ audience: String) -> Bool {
        audiences.contains { ExactString($0) == ExactString(audience) }
    }

    /// True when every matcher finds a string claim one of its patterns matches.
    public func matches(_ matchers: [ClaimMatcher]) -> Bool {
        matchers.allSatisfy { matcher in
            guard let value = Self.resolve(members, matcher.segments[...]) else { return false }
            return matcher.patterns.contains { $0.matches(value) }
        }
    }

    /// The string at `segments` below an object with `members`: at each level
    /// the member whose name is one or more of the leading segments joined by
    /// `.`, when exactly one such member exists (none, or two — `a` and `a.b`
    /// for the path `a.b.c` — is no value); the last member must be a JSON
    /// string, each one before it a JSON object with unique member names.
    static func resolve(_ members: [JSONObjectScanner.Member], _ segments: ArraySlice<String>) -> String? {
        var found: [(count: Int, value: ArraySlice<UInt8>)] = []
        for count in 1...segments.count {
            let name = Array(segments.prefix(count).joined(separator: ".").utf8)
            if let member = members.first(where: { Array($0.name.utf8) == name }) { found.append((count, member.value)) }
        }
        guard found.count == 1, let (count, value) = found.first else { return nil }
        if count == segments.count { return jsonString(value) }
        guard value.first == UInt8(ascii: "{"), let inner = JSONObjectScanner.members(Array(value)), unique(inner) else { return nil }
        return resolve(inner, segments.dropFirst(count))
    }

    /// The decoded JSON string `raw` holds, or nil when it holds something else.
    /// Characters refused in an issued token's `sub` (it is printed by the
    /// deploy gate and in logs): C0 and C1 controls, DEL, the bidirectional
    /// embeddings, overrides, isolates and marks, and the line and paragraph
    /// separators.
    static func isHiddenControl(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
            || v == 0x200E || v == 0x200F || v == 0x061C || v == 0x2028 || v == 0x2029
    }

    static func jsonString(_ raw: ArraySlice<UInt8>) -> String? {
        guard raw.first == UInt8(ascii: "\"") else { return nil }
        return try? JSONDecoder().decode(String.self, from: Data(raw))
    }

    /// No two member names equal, also under Unicode canonical equivalence
    /// (Foundation's decoders would merge those).
    static func unique(_ members: [JSONObjectScanner.Member]) -> Bool {
        var exact = Set<[UInt8]>()
        var canonical = Set<String>()
        return members.allSatisfy { exact.insert(Array($0.name.utf8)).inserted && canonical.insert($0.name).inserted }
    }
}
