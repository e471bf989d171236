import AccessTokens
import Foundation
import ModelSecKeys

/// The keys of one trusted issuer: read from a file once, or fetched from a URL.
public enum IssuerKeys: Sendable {
    /// Keys read from a `jwks_file`.
    case fixed([IssuerKey])
    /// A `jwks_url`, fetched and cached.
    case remote(RemoteKeySet)

    /// The keys to check a token naming `keyID` with; a remote set may
    /// fetch (its ages on a monotonic clock) and throws
    /// ``RemoteKeySet/Unavailable`` when it has no usable copy.
    public func keys(for keyID: String) throws -> [IssuerKey] {
        switch self {
        case let .fixed(keys): return keys
        case let .remote(set): return try set.keys(for: keyID)
        }
    }

    /// ``keys(for:)`` for async callers: a remote set's fetch suspends
    /// instead of holding a thread.
    public func keys(for keyID: String) async throws -> [IssuerKey] {
        switch self {
        case let .fixed(keys): return keys
        case let .remote(set): return try await set.keys(for: keyID)
        }
    }
}

/// One rule of the token-exchange trust policy (`trust:` in service.yaml):
/// which workloads of which outside issuer may exchange their identity token
/// for which scopes (docs/token-service.md, "Token exchange").
public struct TrustRule: Sendable {
    /// The rule's name: the `client_id` of the tokens it issues (the client
    /// id rule: 1–128 of `[A-Za-z0-9._-]`).
    public let name: String
    /// The subject token's `iss`, exact bytes.
    public let issuer: String
    /// Where the issuer's keys come from.
    public enum KeySource: Sendable, Equatable {
        /// A JWK Set file, read when the configuration is loaded.
        case file(String)
        /// A JWK Set URL, fetched and cached (``RemoteKeySet``).
        case url(URL)
    }

    /// Where the issuer's JWK Set comes from (`jwks_file` or `jwks_url`).
    public let keySource: KeySource
    /// A value the subject token's `aud` must contain, exact bytes.
    public let audience: String
    /// Claim matchers; all must match (at least one per rule).
    public let claims: [ClaimMatcher]
    /// The scope patterns the rule may grant (as a client's `scopes`).
    public let scopes: [ModelScope]
    /// The lifetime of its tokens (capped by the service's), or nil for the default.
    public let maximumTTL: TokenDuration?
    /// When true, a subject token's `jti` is required and accepted once.
    public let singleUse: Bool

    /// A rule; see the properties.
    public init(name: String, issuer: String, keySource: KeySource, audience: String, claims: [ClaimMatcher],
                scopes: [ModelScope], maximumTTL: TokenDuration?, singleUse: Bool) {
        self.name = name
        self.issuer = issuer
        self.keySource = keySource
        self.audience = audience
        self.claims = claims
        self.scopes = scopes
        self.maximumTTL = maximumTTL
        self.singleUse = singleUse
    }

    /// True when every requested scope is covered by one of the rule's
    /// patterns (``ModelScope/covers(_:)``).
    public func allows(_ requested: [ModelScope]) -> Bool {
        requested.allSatisfy { wanted in scopes.contains { $0.covers(wanted) } }
    }
}

/// `path: value-or-list` under a trust rule's `claims:`: the string claim at
/// `path` must equal one of the patterns.
public struct ClaimMatcher: Sendable {
    /// One allowed value.
    public enum Pattern: Sendable, Equatable {
        /// The claim equals this, byte for byte.
        case exact(String)
        /// The claim starts with this (non-empty) prefix, byte for byte (written `PREFIX*`).
        case prefix(String)

        /// Parses a configured value: `*` only as the last character, after at
        /// least one other; nil otherwise.
        public init?(parsing text: String) {
            let bytes = Array(text.utf8)
            guard !bytes.isEmpty, bytes.count <= 1024 else { return nil }
            let stars = bytes.filter { $0 == UInt8(ascii: "*") }.count
            if stars == 0 { self = .exact(text); return }
            guard stars == 1, bytes.last == UInt8(ascii: "*"), bytes.count > 1 else { return nil }
            self = .prefix(String(decoding: bytes.dropLast(), as: UTF8.self))
        }

        /// True when `value` matches.
        public func matches(_ value: String) -> Bool {
            switch self {
            case let .exact(expected): return Array(value.utf8) == Array(expected.utf8)
            case let .prefix(prefix): return Array(value.utf8).starts(with: Array(prefix.utf8))
            }
        }
    }

    /// The path as written (`kubernetes.io.namespace`).
    public let path: String
    /// The path's `.`-separated segments.
    public let segments: [String]
    /// The allowed values (any one).
    public let patterns: [Pattern]

    /// The most segments a path may have.
    public static let maximumSegments = 8

    /// A matcher; nil when `path` has an empty segment or too many.
    public init?(path: String, patterns: [Pattern]) {
        let parts = Array(path.utf8).split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= Self.maximumSegments, parts.allSatisfy({ !$0.isEmpty }), !patterns.isEmpty else {
            return nil
        }
        self.path = path
        self.segments = parts.map { String(decoding: $0, as: UTF8.self) }
        self.patterns = patterns
    }
}
