import AccessTokens
import Foundation
import PKCS11Keys
import ModelRelease
import ModelSecIO
import Yams

/// The token service's configuration (`service.yaml`; docs/token-service.md).
///
/// Relative paths are resolved against the directory of the configuration
/// file. Unknown keys are refused with their line, as are duplicated keys and
/// values of the wrong type: a misspelt `allow_plain_http` must not silently
/// mean "no".
public struct ServiceConfig: Sendable {
    /// Where the server listens.
    public var listen: ListenAddress
    /// Plain HTTP on a non-loopback address is allowed only when this is true.
    public var allowPlainHTTP: Bool
    /// PEM certificate chain for TLS (with ``tlsKey``), or nil for plain HTTP.
    public var tlsCertificate: String?
    /// PEM private key for TLS.
    public var tlsKey: String?
    /// The `iss` of every token and of the metadata document; the token
    /// endpoint is this plus `/token`.
    public var issuer: String
    /// The issuer's signing key file (PKCS#8 PEM, ed25519 or p256): the
    /// current key until the first `serve rotate-key`, after which the state
    /// store records which key is which.
    public var signingKey: String
    /// Where `serve rotate-key` writes new signing keys (`key_dir`).
    public var keyDirectory: String = ""
    /// The `aud` of every issued token.
    public var audiences: [String]
    /// No token lives longer than this, whatever a client is allowed.
    public var maximumTTL: TokenDuration
    /// A client without its own `max_ttl` gets tokens of this lifetime.
    public var defaultTTL: TokenDuration
    /// A client assertion (RFC 7523) may expire at most this far in the future.
    public var maximumAssertionLifetime: TokenDuration
    /// The SQLite state file (clients added with `serve client add`, used
    /// assertion ids, audit records).
    public var statePath: String
    /// The state store URL (`store:`; `sqlite:PATH` with a relative PATH
    /// resolved against the configuration's directory, or
    /// `postgres://USER@HOST:PORT/DB?sslmode=MODE`), or nil: the SQLite file
    /// ``statePath``. Parsed and opened by the caller.
    public var store: String?
    /// A file whose first line is the store's PostgreSQL password
    /// (`store_password_file:`), or nil (`PGPASSWORD`, the libpq password file).
    public var storePasswordFile: String?
    /// Clients declared in the configuration (key-based ones, or secret
    /// clients with a stored hash).
    public var clients: [RegisteredClient]
    /// The token-exchange trust policy (`trust:`), in file order.
    public var trustRules: [TrustRule] = []
    /// The rate limit of clients and trust rules without their own
    /// (`rate_limit`); nil: unlimited.
    public var rateLimit: FailureThrottle.Policy?
    /// Per-client and per-trust-rule rate limits, by id bytes.
    public var rateLimits: [[UInt8]: FailureThrottle.Policy] = [:]
    /// How long audit records are kept (`audit_retention`): the service
    /// deletes older ones at start and every ``auditSweepSeconds``; nil
    /// (`forever`, the default) keeps them all. Audit records are evidence:
    /// nothing is deleted unless the configuration asks for it (an upgrade
    /// must not delete history).
    public var auditRetention: TokenDuration?
    /// How often a running service deletes audit records past the retention.
    public static let auditSweepSeconds: UInt64 = 3600

    /// The rate limit of the client or trust rule `id`, or nil for none.
    public func rateLimit(for id: String) -> FailureThrottle.Policy? {
        rateLimits[Array(id.utf8)] ?? rateLimit
    }

    /// The keys of each trusted issuer (by `iss` bytes): read from the
    /// rules' JWK Set files, or fetched from their URLs when first needed.
    public var issuerKeys: [[UInt8]: IssuerKeys] = [:]

    /// The token endpoint URL, which `private_key_jwt` assertions must name as `aud`.
    public var tokenEndpoint: String { Self.trimmingSlash(issuer) + "/token" }

    static func trimmingSlash(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// A listening address: an IPv4 or bracketed IPv6 literal or `localhost`, and a port.
    public struct ListenAddress: Sendable, Equatable {
        /// The host part (brackets removed).
        public let host: String
        /// The port (0 lets the kernel choose).
        public let port: Int

        /// Parses `HOST:PORT`.
        public init?(parsing text: String) {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            var host = String(text[..<colon])
            let portText = text[text.index(after: colon)...]
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let port = Int(portText), port <= 65535 else { return nil }
            if host.hasPrefix("[") && host.hasSuffix("]") {
                host = String(host.dropFirst().dropLast())
                var v6 = in6_addr()
                guard inet_pton(AF_INET6, host, &v6) == 1 else { return nil }
            } else if host != "localhost" {
                var v4 = in_addr()
                guard inet_pton(AF_INET, host, &v4) == 1 else { return nil }
            }
            self.host = host
            self.port = port
        }

        /// True for `localhost`, 127.0.0.0/8 and `::1`.
        public var isLoopback: Bool {
            if host == "localhost" || host == "::1" { return true }
            var v4 = in_addr()
            guard inet_pton(AF_INET, host, &v4) == 1 else { return false }
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
    }

    /// The most clients a configuration may declare.
    public static let maximumClientCount = 1000
    /// The most trust rules a configuration may declare.
    public static let maximumTrustRuleCount = 256

    /// Loads and checks the configuration file at `path`.
    public static func load(_ path: String) throws -> ServiceConfig {
        let bytes = try FileIO.readRegularFile(path, limit: BoundedYAML.maximumDocumentSize)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TokenServiceError.invalidConfig(file: path, line: 0, reason: "the file is not UTF-8 text")
        }
        let root: Node?
        do {
            root = try BoundedYAML.compose(text, source: path)
        } catch let refusal as BoundedYAML.Refusal {
            throw TokenServiceError.invalidConfig(file: path, line: refusal.line, reason: refusal.reason)
        } catch {
            throw TokenServiceError.invalidConfig(file: path, line: 0, reason: "not valid YAML (\(error))")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        return try ConfigReader(file: path, base: base).read(root)
    }
}

/// Walks the composed YAML of a service configuration.
struct ConfigReader {
    let file: String
    let base: URL

    func fail(_ node: Node?, _ reason: String) -> TokenServiceError {
        .invalidConfig(file: file, line: node?.mark?.line ?? 0, reason: reason)
    }

    /// The mapping's entries by key, refusing keys outside `allowed`.
    func entries(_ node: Node?, _ what: String, allowed: Set<String>) throws -> [String: Node] {
        guard let node, let mapping = node.mapping else { throw fail(node, "\(what) must be a mapping (key: value)") }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw fail(key, "\(what): keys must be plain text") }
            guard allowed.contains(name) else {
                throw fail(key, "\(what): unknown key '\(name)' (known: \(allowed.sorted().joined(separator: ", ")))")
            }
            guard result[name] == nil else { throw fail(key, "\(what): key '\(name)' appears twice") }
            result[name] = value
        }
        return result
    }

    func string(_ node: Node?, _ key: String) throws -> String {
        guard let node, let scalar = node.scalar, !scalar.string.isEmpty else {
            throw fail(node, "'\(key)' must be a non-empty text value")
        }
        return scalar.string
    }

    func path(_ node: Node?, _ key: String) throws -> String {
        let text = try string(node, key)
        return text.hasPrefix("/") ? text : base.appendingPathComponent(text).path
    }

    /// A key: a `pkcs11:` URI (RFC 7512) as written, else a file path as ``path(_:_:)``.
    func keySpec(_ node: Node?, _ key: String) throws -> String {
        let text = try string(node, key)
        return PKCS11URI.isPKCS11URI(text) ? text : try path(node, key)
    }

    func bool(_ node: Node?, _ key: String) throws -> Bool {
        switch try string(node, key) {
        case "true": return true
        case "false": return false
        default: throw fail(node, "'\(key)' must be true or false")
        }
    }

    func duration(_ node: Node?, _ key: String) throws -> TokenDuration {
        let text = try string(node, key)
        guard let value = TokenDuration(parsing: text), value.seconds > 0 else {
            throw fail(node, "'\(key)' must be a positive duration such as 30s, 15m or 1h")
        }
        return value
    }

    /// A text value or a list of them.
    func strings(_ node: Node?, _ key: String, limit: Int = 256) throws -> [String] {
        if let node, let list = node.sequence {
            guard !list.isEmpty, list.count <= limit else { throw fail(node, "'\(key)' must list 1 to \(limit) values") }
            return try list.map { try string($0, key) }
        }
        return [try string(node, key)]
    }

    func read(_ root: Node?) throws -> ServiceConfig {
        let top = try entries(root, "the configuration", allowed: [
            "listen", "allow_plain_http", "tls_cert", "tls_key", "issuer", "signing_key", "audience",
            "max_ttl", "default_ttl", "assertion_max_lifetime", "state", "clients", "trust", "key_dir", "rate_limit",
            "store", "store_password_file", "audit_retention",
        ])
        let listenText = try top["listen"].map { try string($0, "listen") } ?? "127.0.0.1:8787"
        guard let listen = ServiceConfig.ListenAddress(parsing: listenText) else {
            throw fail(top["listen"], "'listen' must be HOST:PORT with an IP literal or localhost (e.g. 127.0.0.1:8787)")
        }
        let allowPlain = try top["allow_plain_http"].map { try bool($0, "allow_plain_http") } ?? false
        let cert = try top["tls_cert"].map { try path($0, "tls_cert") }
        let key = try top["tls_key"].map { try path($0, "tls_key") }
        guard (cert == nil) == (key == nil) else {
            throw fail(top["tls_cert"] ?? top["tls_key"], "'tls_cert' and 'tls_key' go together")
        }
        if cert == nil, !listen.isLoopback, !allowPlain {
            throw fail(top["listen"], "plain HTTP on the non-loopback address \(listen.host) needs 'allow_plain_http: true' (or set tls_cert and tls_key)")
        }
        guard let issuerNode = top["issuer"] else { throw fail(root, "'issuer' is required") }
        let issuer = try string(issuerNode, "issuer")
        guard issuer.hasPrefix("https://") || issuer.hasPrefix("http://") else {
            throw fail(issuerNode, "'issuer' must be an http(s) URL")
        }
        guard let keyNode = top["signing_key"] else { throw fail(root, "'signing_key' is required") }
        guard let audienceNode = top["audience"] else { throw fail(root, "'audience' is required") }
        let maximumTTL = try top["max_ttl"].map { try duration($0, "max_ttl") } ?? TokenDuration(seconds: 3600)
        let defaultTTL = try top["default_ttl"].map { try duration($0, "default_ttl") } ?? TokenDuration(seconds: 900)
        guard defaultTTL <= maximumTTL else { throw fail(top["default_ttl"], "'default_ttl' exceeds 'max_ttl'") }
        let assertionLifetime = try top["assertion_max_lifetime"].map { try duration($0, "assertion_max_lifetime") }
            ?? TokenDuration(seconds: 300)
        guard assertionLifetime.seconds <= 3600 else {
            throw fail(top["assertion_max_lifetime"], "'assertion_max_lifetime' must be at most 1h (assertions are short-lived)")
        }
        let state = try top["state"].map { try path($0, "state") } ?? base.appendingPathComponent("token-service.sqlite").path
        var store = try top["store"].map { try string($0, "store") }
        if store != nil, top["state"] != nil { throw fail(top["store"], "give 'state' (an SQLite file) or 'store' (a store URL), not both") }
        if let text = store, text.hasPrefix("sqlite:"), !text.hasPrefix("sqlite:/"), text.count > "sqlite:".count {
            store = "sqlite:" + base.appendingPathComponent(String(text.dropFirst("sqlite:".count))).path
        }
        var clients: [RegisteredClient] = []
        if let clientsNode = top["clients"] {
            guard let list = clientsNode.sequence, list.count <= ServiceConfig.maximumClientCount else {
                throw fail(clientsNode, "'clients' must be a list of at most \(ServiceConfig.maximumClientCount) clients")
            }
            var seen = Set<[UInt8]>()
            for item in list {
                let client = try readClient(item, maximumTTL: maximumTTL)
                guard seen.insert(Array(client.id.utf8)).inserted else {
                    throw fail(item, "client '\(client.id)' is declared twice")
                }
                clients.append(client)
            }
        }
        var config = ServiceConfig(
            listen: listen, allowPlainHTTP: allowPlain, tlsCertificate: cert, tlsKey: key, issuer: issuer,
            signingKey: try keySpec(keyNode, "signing_key"), audiences: try strings(audienceNode, "audience"),
            maximumTTL: maximumTTL, defaultTTL: defaultTTL, maximumAssertionLifetime: assertionLifetime,
            statePath: state, clients: clients)
        config.store = store
        config.storePasswordFile = try top["store_password_file"].map { try path($0, "store_password_file") }
        if config.storePasswordFile != nil, store == nil {
            throw fail(top["store_password_file"], "'store_password_file' goes with 'store'")
        }
        if let node = top["audit_retention"] {
            if try string(node, "audit_retention") == "forever" {
                config.auditRetention = nil
            } else {
                let retention = try duration(node, "audit_retention")
                guard retention.seconds >= 3600 else {
                    throw fail(node, "'audit_retention' must be at least 1h (or forever)")
                }
                config.auditRetention = retention
            }
        }
        config.rateLimit = try top["rate_limit"].map { try rateLimit($0) }
        for item in top["clients"]?.sequence ?? [] {
            if let map = item.mapping, let node = map["rate_limit"], let id = map["id"]?.scalar?.string {
                config.rateLimits[Array(id.utf8)] = try rateLimit(node)
            }
        }
        for item in top["trust"]?.sequence ?? [] {
            if let map = item.mapping, let node = map["rate_limit"], let name = map["name"]?.scalar?.string {
                config.rateLimits[Array(name.utf8)] = try rateLimit(node)
            }
        }
        config.keyDirectory = try top["key_dir"].map { try path($0, "key_dir") } ?? base.appendingPathComponent("signing-keys").path
        if let trustNode = top["trust"] {
            guard let list = trustNode.sequence, !list.isEmpty, list.count <= ServiceConfig.maximumTrustRuleCount else {
                throw fail(trustNode, "'trust' must be a list of 1 to \(ServiceConfig.maximumTrustRuleCount) rules")
            }
            var names = Set<[UInt8]>(clients.map { Array($0.id.utf8) })
            var jwksOf: [[UInt8]: TrustRule.KeySource] = [:]
            for item in list {
                let rule = try readTrustRule(item, maximumTTL: maximumTTL)
                guard names.insert(Array(rule.name.utf8)).inserted else {
                    throw fail(item, "trust rule '\(rule.name)': the name is already used by another rule or a client (it becomes the tokens' client_id)")
                }
                let issuerBytes = Array(rule.issuer.utf8)
                if let known = jwksOf[issuerBytes] {
                    guard known == rule.keySource else {
                        throw fail(item, "trust rule '\(rule.name)': every rule for one issuer must name the same jwks_file or jwks_url")
                    }
                } else {
                    jwksOf[issuerBytes] = rule.keySource
                    switch rule.keySource {
                    case let .url(url):
                        config.issuerKeys[issuerBytes] = .remote(RemoteKeySet(url: url))
                    case let .file(jwksPath):
                        do {
                            let bytes = try FileIO.readRegularFile(jwksPath, limit: IssuerKeySet.maximumDocumentSize)
                            config.issuerKeys[issuerBytes] = .fixed(try IssuerKeySet.keys(from: bytes, source: jwksPath))
                        } catch let error as TokenInputError {
                            let text = error.description, prefix = jwksPath + ": "
                            throw TokenServiceError.unusableFile(file: jwksPath, reason: "not a usable JWK Set: "
                                + (text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text))
                        } catch {
                            throw TokenServiceError.unusableFile(file: jwksPath, reason: "\(error)")
                        }
                    }
                }
                config.trustRules.append(rule)
            }
        }
        return config
    }

    /// `{requests_per_second: R, burst: B}`: R in (0, 100000], B a whole number in 1...100000.
    func rateLimit(_ node: Node) throws -> FailureThrottle.Policy {
        let map = try entries(node, "'rate_limit'", allowed: ["requests_per_second", "burst"])
        guard let rateNode = map["requests_per_second"], let burstNode = map["burst"] else {
            throw fail(node, "'rate_limit' needs requests_per_second and burst")
        }
        let rateText = try string(rateNode, "requests_per_second")
        guard rateText.utf8.count <= 16, rateText.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let rate = Double(rateText), rate > 0, rate <= 100_000 else {
            throw fail(rateNode, "'requests_per_second' must be a number greater than 0 and at most 100000")
        }
        let burstText = try string(burstNode, "burst")
        guard burstText.utf8.count <= 6, burstText.allSatisfy({ $0.isASCII && $0.isNumber }), let burst = Int(burstText),
              burst >= 1, burst <= 100_000 else {
            throw fail(burstNode, "'burst' must be a whole number from 1 to 100000")
        }
        return FailureThrottle.Policy(burst: Double(burst), perSecond: rate)
    }

    func readTrustRule(_ node: Node, maximumTTL: TokenDuration) throws -> TrustRule {
        let map = try entries(node, "a trust rule", allowed: [
            "name", "issuer", "jwks_file", "jwks_url", "audience", "claims", "scopes", "max_ttl", "single_use", "rate_limit",
        ])
        let name = try string(map["name"], "name")
        guard RegisteredClient.isValidID(name) else { throw fail(map["name"], "a trust rule name follows the client id rule: " + RegisteredClient.idRule) }
        let issuer = try string(map["issuer"], "issuer")
        guard issuer.utf8.count <= 1024 else { throw fail(map["issuer"], "'issuer' is longer than 1024 bytes") }
        let keySource: TrustRule.KeySource
        switch (map["jwks_file"], map["jwks_url"]) {
        case let (file?, nil):
            keySource = .file(try path(file, "jwks_file"))
        case let (nil, urlNode?):
            let text = try string(urlNode, "jwks_url")
            guard text.utf8.count <= 2048, let url = URL(string: text), RemoteKeySet.isAcceptable(url) else {
                throw fail(urlNode, "'jwks_url' must be an https URL (or http to a loopback address) without user information")
            }
            keySource = .url(url)
        default:
            throw fail(map["jwks_url"] ?? node, "trust rule '\(name)': give exactly one of 'jwks_file' and 'jwks_url'")
        }
        let audience = try string(map["audience"], "audience")
        guard let claimsNode = map["claims"], let claimsMap = claimsNode.mapping, !claimsMap.isEmpty, claimsMap.count <= 32 else {
            throw fail(map["claims"] ?? node, "trust rule '\(name)': 'claims' must map 1 to 32 claim paths to a value or a list of values (a rule without claims would trust every token of the issuer)")
        }
        var matchers: [ClaimMatcher] = []
        var seenPaths = Set<[UInt8]>()
        for (key, value) in claimsMap {
            guard let claimPath = key.scalar?.string, !claimPath.isEmpty else { throw fail(key, "'claims': keys must be plain text") }
            guard seenPaths.insert(Array(claimPath.utf8)).inserted else { throw fail(key, "'claims': '\(claimPath)' appears twice") }
            var patterns: [ClaimMatcher.Pattern] = []
            for text in try strings(value, claimPath, limit: 64) {
                guard let pattern = ClaimMatcher.Pattern(parsing: text) else {
                    throw fail(value, "'claims': a value of '\(claimPath)' must be 1 to 1024 bytes, with '*' only as its last character after at least one other")
                }
                patterns.append(pattern)
            }
            guard let matcher = ClaimMatcher(path: claimPath, patterns: patterns) else {
                throw fail(key, "'claims': '\(claimPath)' must be 1 to \(ClaimMatcher.maximumSegments) non-empty segments separated by '.'")
            }
            matchers.append(matcher)
        }
        var scopes: [ModelScope] = []
        for text in try strings(map["scopes"], "scopes") {
            do { scopes.append(try ModelScope(parsing: text)) } catch {
                throw fail(map["scopes"], "\(error)")
            }
        }
        let ttl = try map["max_ttl"].map { try duration($0, "max_ttl") }
        if let ttl, ttl > maximumTTL { throw fail(map["max_ttl"], "the rule's 'max_ttl' exceeds the service's 'max_ttl'") }
        let singleUse = try map["single_use"].map { try bool($0, "single_use") } ?? false
        return TrustRule(name: name, issuer: issuer, keySource: keySource, audience: audience, claims: matchers, scopes: scopes,
                         maximumTTL: ttl, singleUse: singleUse)
    }

    func readClient(_ node: Node, maximumTTL: TokenDuration) throws -> RegisteredClient {
        let map = try entries(node, "a client", allowed: ["id", "auth", "secret_hash", "public_key", "scopes", "max_ttl", "rate_limit"])
        let id = try string(map["id"], "id")
        guard RegisteredClient.isValidID(id) else { throw fail(map["id"], RegisteredClient.idRule) }
        let authText = try string(map["auth"], "auth")
        guard let method = RegisteredClient.AuthMethod(rawValue: authText) else {
            throw fail(map["auth"], "'auth' must be client_secret_basic, client_secret_post or private_key_jwt")
        }
        let credential: RegisteredClient.Credential
        switch method {
        case .clientSecretBasic, .clientSecretPost:
            guard map["public_key"] == nil else { throw fail(map["public_key"], "a secret client has no 'public_key'") }
            guard let hash = SecretHash(encoded: try string(map["secret_hash"], "secret_hash")) else {
                throw fail(map["secret_hash"], "'secret_hash' must be an Argon2id PHC string ($argon2id$v=19$m=...,t=...,p=1$SALT$HASH) within the cost limits")
            }
            credential = .secret(hash)
        case .privateKeyJWT:
            guard map["secret_hash"] == nil else { throw fail(map["secret_hash"], "a private_key_jwt client has no 'secret_hash'") }
            let keyPath = try path(map["public_key"], "public_key")
            do {
                credential = .publicKey(try VerificationKey.load(publicKeyFile: keyPath).publicKey)
            } catch {
                throw TokenServiceError.unusableFile(file: keyPath, reason: "not a usable ed25519 or p256 public key (\(error))")
            }
        }
        var scopes: [ModelScope] = []
        for text in try strings(map["scopes"], "scopes") {
            do { scopes.append(try ModelScope(parsing: text)) } catch {
                throw fail(map["scopes"], "\(error)")
            }
        }
        let ttl = try map["max_ttl"].map { try duration($0, "max_ttl") }
        if let ttl, ttl > maximumTTL { throw fail(map["max_ttl"], "the client's 'max_ttl' exceeds the service's 'max_ttl'") }
        return RegisteredClient(id: id, method: method, credential: credential, scopes: scopes, maximumTTL: ttl)
    }
}
