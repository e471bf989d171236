import AccessTokens
import ModelSecCrypto
import ModelSecKeys

/// An OAuth client the service knows: from the configuration or registered
/// with `modelsec serve client add`.
public struct RegisteredClient: Sendable {
    /// How a client authenticates at the token endpoint (RFC 7591 names).
    public enum AuthMethod: String, Sendable, CaseIterable {
        /// HTTP Basic with the client id and secret (RFC 6749 §2.3.1).
        case clientSecretBasic = "client_secret_basic"
        /// `client_id` and `client_secret` in the form body.
        case clientSecretPost = "client_secret_post"
        /// A JWT signed with the client's key (RFC 7523 §2.2).
        case privateKeyJWT = "private_key_jwt"
    }

    /// What the service checks the client's proof against.
    public enum Credential: Sendable {
        /// An Argon2id hash of the secret.
        case secret(SecretHash)
        /// The public key that verifies the client's assertions.
        case publicKey(PublicKey)
    }

    /// The client id (`[A-Za-z0-9._-]`, 1–128 bytes).
    public let id: String
    /// The one authentication method this client may use.
    public let method: AuthMethod
    /// Its secret hash or public key.
    public let credential: Credential
    /// The scope patterns it may be granted (a request is a subset of these).
    public let scopes: [ModelScope]
    /// Its own token lifetime (capped by the service's), or nil for the default.
    public let maximumTTL: TokenDuration?

    /// A client; see the properties.
    public init(id: String, method: AuthMethod, credential: Credential, scopes: [ModelScope], maximumTTL: TokenDuration?) {
        self.id = id
        self.method = method
        self.credential = credential
        self.scopes = scopes
        self.maximumTTL = maximumTTL
    }

    /// The rule client ids follow, for error messages.
    public static let idRule = "a client id is 1 to 128 ASCII letters, digits, '.', '_' or '-'"

    /// True when `id` follows ``idRule``.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        return !bytes.isEmpty && bytes.count <= 128 && bytes.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    /// True when every scope in `requested` is covered by one of the client's
    /// patterns (``ModelScope/covers(_:)``: exact bytes, `*` for a whole name
    /// or version).
    public func allows(_ requested: [ModelScope]) -> Bool {
        requested.allSatisfy { wanted in scopes.contains { $0.covers(wanted) } }
    }
}
