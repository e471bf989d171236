import ModelSecIO

/// Errors of the PKCS#11 key layer. Messages name the module, token or
/// object involved and never contain a PIN.
public enum PKCS11Error: ModelSecError, Equatable {
    /// What is wrong with a PKCS#11 URI.
    public enum URIProblem: Sendable, Equatable {
        case notPKCS11
        case fragment
        case attributeWithoutValue(String)
        case repeatedAttribute(String)
        case unknownAttribute(String)
        case unsupportedAttribute(String)
        case badValue(String)
        case badPercentEncoding(String)
        case relativeModulePath
        case unsupportedPINSource
        case pinInURI
        case noModulePath
        case noObject
    }

    /// The URI cannot be used (the URI is repeated with any PIN redacted).
    case invalidURI(String, reason: URIProblem)
    /// The module could not be loaded or does not export `C_GetFunctionList`.
    case moduleLoad(path: String, reason: String)
    /// A PKCS#11 call failed with return value `rv`.
    case call(function: String, rv: UInt)
    /// No token, or more than one, matches the URI.
    case token(matching: Int, uri: String)
    /// No object, or more than one, matches the URI.
    case object(matching: Int, uri: String)
    /// The PIN was refused by the token (`CKR_PIN_INCORRECT`, `CKR_PIN_LOCKED`, ...).
    case login(rv: UInt, uri: String)
    /// The key is of a type modelsec does not sign with, or its public half is malformed.
    case unsupportedKey(uri: String, reason: String)
    /// A key with the label or id already exists (generation never shadows one).
    case keyExists(uri: String)
    /// The token answered with something PKCS#11 does not allow (a signature
    /// of the wrong length, an attribute too large).
    case malformedResponse(function: String, reason: String)

    public var category: FailureCategory { .invalidInput }

    public var code: String {
        switch self {
        case .invalidURI(_, .pinInURI): return "pkcs11.pin-in-uri"
        case .invalidURI: return "pkcs11.invalid-uri"
        case .moduleLoad: return "pkcs11.module-load"
        case .call: return "pkcs11.call-failed"
        case .token: return "pkcs11.token-not-found"
        case .object: return "pkcs11.object-not-found"
        case .login: return "pkcs11.login-failed"
        case .unsupportedKey: return "pkcs11.unsupported-key"
        case .keyExists: return "pkcs11.key-exists"
        case .malformedResponse: return "pkcs11.malformed-response"
        }
    }

    public var path: String? {
        if case let .moduleLoad(path, _) = self { return path }
        return nil
    }

    public var description: String {
        switch self {
        case let .invalidURI(uri, problem): return "\(uri): \(problem.text)"
        case let .moduleLoad(path, reason): return "\(path): cannot load the PKCS#11 module: \(reason)"
        case let .call(function, rv): return "\(function) failed: \(PKCS11ReturnValue.name(rv))"
        case let .token(n, uri):
            return n == 0 ? "\(uri): no token matches (check token=, serial= and that the token is initialised)"
                : "\(uri): \(n) tokens match; add serial= or slot-id= to name one"
        case let .object(n, uri):
            return n == 0 ? "\(uri): no private key matches object=/id= in the token"
                : "\(uri): \(n) private keys match; add id= to name one"
        case let .login(rv, uri): return "\(uri): the token refused the PIN (\(PKCS11ReturnValue.name(rv)))"
        case let .unsupportedKey(uri, reason): return "\(uri): \(reason)"
        case let .keyExists(uri): return "\(uri): the token already has a key with this label or id; choose another object= (keys are never replaced)"
        case let .malformedResponse(function, reason): return "\(function) returned a malformed answer: \(reason)"
        }
    }
}

extension PKCS11Error.URIProblem {
    var text: String {
        switch self {
        case .notPKCS11: return "not a PKCS#11 URI (expected pkcs11:...)"
        case .fragment: return "a PKCS#11 URI has no fragment (#...)"
        case let .attributeWithoutValue(a): return "attribute '\(a)' has no '=value'"
        case let .repeatedAttribute(a): return "attribute '\(a)' appears more than once"
        case let .unknownAttribute(a): return "unknown attribute '\(a)' (RFC 7512 defines the attributes)"
        case let .unsupportedAttribute(a): return "attribute '\(a)' is valid RFC 7512 but modelsec does not match on it; remove it"
        case let .badValue(a): return "attribute '\(a)' has an invalid value"
        case let .badPercentEncoding(a): return "attribute '\(a)' has a '%' not followed by two hex digits"
        case .relativeModulePath: return "module-path must be an absolute path"
        case .unsupportedPINSource: return "pin-source must be file:PATH or env:NAME"
        case .pinInURI: return "pin-value is refused: a PIN in a URI ends up in process lists and logs; use pin-source=file:PATH or the environment variable \(PKCS11URI.defaultPINEnvironmentVariable)"
        case .noModulePath: return "module-path=... is required (the PKCS#11 module to load)"
        case .noObject: return "object= or id= is required (the key to use)"
        }
    }
}
