import COpenSSL
import Foundation

extension SHA2 {
    /// SHA-384 (FIPS 180-4), the digest of ECDSA P-384 signatures.
    public enum SHA384: SHA2.Function {
        /// Digest length in bytes.
        public static let byteCount = 48

        /// A fresh incremental SHA-384 state.
        public static func hasher() -> HashFunctionState { HashFunctionState(md: EVP_sha384(), size: byteCount) }
    }
}
