/// Errors raised by the crypto core. Messages describe what went wrong and
/// never include key bytes, plaintext or passphrases.
public enum CryptoBackendError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key, nonce, tag or other fixed-size input had the wrong length.
    case invalidLength(what: String, expected: Int, actual: Int)
    /// Key material could not be used (not on the curve, wrong type, …).
    case invalidKey(String)
    /// An authentication tag, MAC or signature did not verify.
    case authenticationFailure
    /// A parameter was outside the supported range.
    case invalidParameter(String)
    /// A key-agreement result was the all-zero value (a low-order public key).
    case lowOrderPoint
    /// The backend library reported an error.
    case backend(String)

    /// Stable machine-readable identifier (`crypto.…`), one per case.
    public var code: String {
        switch self {
        case .invalidLength: return "crypto.invalid-length"
        case .invalidKey: return "crypto.invalid-key"
        case .authenticationFailure: return "crypto.authentication-failed"
        case .invalidParameter: return "crypto.invalid-parameter"
        case .lowOrderPoint: return "crypto.low-order-point"
        case .backend: return "crypto.backend"
        }
    }

    public var description: String {
        switch self {
        case let .invalidLength(what, expected, actual):
            return "\(what) must be \(expected) bytes, got \(actual)"
        case let .invalidKey(reason):
            return "invalid key: \(reason)"
        case .authenticationFailure:
            return "authentication failed"
        case let .invalidParameter(reason):
            return "invalid parameter: \(reason)"
        case .lowOrderPoint:
            return "key agreement produced the all-zero value (low-order public key)"
        case let .backend(reason):
            return "crypto backend error: \(reason)"
        }
    }
}
