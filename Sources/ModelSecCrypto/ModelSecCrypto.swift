/// The typed crypto core of modelsec.
///
/// This is the only module that calls the C backends: OpenSSL 3 for SHA-2,
/// HMAC, HKDF, AES-256-GCM, ECDSA P-256 and PEM/PKCS#8/SPKI encoding; libsodium
/// for Ed25519, X25519, Argon2id, randomness, constant-time comparison and
/// locked, zeroed secret memory. Everything above it works with typed keys
/// (``PrivateKey``, ``PublicKey``, ``SigningPrivateKey``, ``SecretKey``)
/// and throwing APIs, never with C pointers.
public enum ModelSecCryptoInfo {
    /// The backend versions in use, for `modelsec --version` and reports.
    public static var backendVersions: String {
        "OpenSSL \(openSSLVersion), libsodium \(sodiumVersion)"
    }
}
