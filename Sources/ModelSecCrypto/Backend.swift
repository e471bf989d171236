import CSodium
import COpenSSL

/// One-time initialisation of the C backends.
///
/// libsodium must be initialised once before use. The call lives in a lazily
/// initialised global, which Swift runs exactly once and thread-safely; it is a
/// real call whose result is checked, never an `assert` that an optimised build
/// could drop.
enum Backend {
    private static let sodiumReady: Bool = sodium_init() >= 0

    /// Ensures libsodium is initialised. Every entry point that uses libsodium
    /// calls this first; the cost after the first call is one load.
    @inline(__always)
    static func ensureInitialized() {
        if !sodiumReady {
            // Without a working libsodium there is no safe randomness: stop.
            fatalError("modelsec: libsodium could not be initialised (sodium_init failed)")
        }
    }

    /// The text of the most recent OpenSSL error on this thread, emptying the
    /// queue. OpenSSL error strings name functions and reasons, never key bytes.
    static func openSSLErrorDescription() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "unknown OpenSSL error" : messages.joined(separator: "; ")
    }

    /// Discards any pending OpenSSL errors on this thread.
    static func clearOpenSSLErrors() {
        ERR_clear_error()
    }
}

extension ModelSecCryptoInfo {
    static var openSSLVersion: String { String(cString: OpenSSL_version(OPENSSL_VERSION_STRING)) }
    static var sodiumVersion: String { String(cString: sodium_version_string()) }
}
