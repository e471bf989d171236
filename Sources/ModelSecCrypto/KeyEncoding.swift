import COpenSSL
import Foundation

/// Why a key could not be decoded. Messages never include key material.
public enum KeyDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text is not PEM (no `-----BEGIN …-----` line, bad base64, no END line).
    case notPEM(String)
    /// A PEM block of a kind modelsec does not read (certificate, RSA key, …).
    case unsupportedLabel(String)
    /// A key of an algorithm or curve modelsec does not support.
    case unsupportedAlgorithm(String)
    /// The structure inside the PEM is malformed or truncated.
    case malformed(String)
    /// The key is encrypted and no passphrase was given.
    case passphraseRequired
    /// The passphrase did not decrypt the key (or the encrypted key is corrupt).
    case wrongPassphrase

    public var description: String {
        switch self {
        case let .notPEM(reason): return "not a PEM key file: \(reason)"
        case let .unsupportedLabel(label): return "unsupported PEM block '\(label)' (expected PRIVATE KEY, ENCRYPTED PRIVATE KEY or PUBLIC KEY)"
        case let .unsupportedAlgorithm(what): return "unsupported key algorithm: \(what) (supported: ed25519, p256, p384, p521, x25519)"
        case let .malformed(reason): return "malformed key: \(reason)"
        case .passphraseRequired: return "the private key is encrypted and no passphrase was given"
        case .wrongPassphrase: return "wrong passphrase, or the encrypted key is corrupt"
        }
    }

    /// Stable machine-readable identifier (`key.…`), one per case.
    public var code: String {
        switch self {
        case .notPEM: return "key.not-pem"
        case .unsupportedLabel: return "key.unsupported-pem-block"
        case .unsupportedAlgorithm: return "key.unsupported-algorithm"
        case .malformed: return "key.malformed"
        case .passphraseRequired: return "key.passphrase-required"
        case .wrongPassphrase: return "key.wrong-passphrase"
        }
    }
}

/// One PEM block: its label and decoded body.
public struct PEMBlock: Sendable {
    /// The label between `BEGIN ` and the dashes, e.g. `PUBLIC KEY`.
    public let label: String
    /// The base64-decoded body.
    public let der: [UInt8]

    /// Finds the first PEM block in `text`.
    public init(parsing text: String) throws {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("-----") }) else {
            throw KeyDecodingError.notPEM("no '-----BEGIN' line")
        }
        let label = String(lines[begin].dropFirst(11).dropLast(5))
        guard let end = lines[(begin + 1)...].firstIndex(of: "-----END \(label)-----") else {
            throw KeyDecodingError.notPEM("no '-----END \(label)-----' line (truncated?)")
        }
        let body = lines[(begin + 1)..<end]
        if body.contains(where: { $0.contains(":") }) {
            throw KeyDecodingError.unsupportedLabel("\(label) with legacy PEM headers (use PKCS#8: openssl pkcs8 -topk8)")
        }
        guard let der = Data(base64Encoded: body.joined()), !der.isEmpty else {
            throw KeyDecodingError.notPEM("the body of the \(label) block is not valid base64")
        }
        self.label = label
        self.der = [UInt8](der)
    }

    /// Encodes DER as PEM: base64 in 64-column lines, `\n` line ends.
    public static func encode(label: String, der: [UInt8]) -> String {
        let b64 = Data(der).base64EncodedString()
        var out = "-----BEGIN \(label)-----\n"
        var index = b64.startIndex
        while index < b64.endIndex {
            let next = b64.index(index, offsetBy: 64, limitedBy: b64.endIndex) ?? b64.endIndex
            out += b64[index..<next] + "\n"
            index = next
        }
        out += "-----END \(label)-----\n"
        return out
    }
}

extension KeyDecodingError {
    /// ``unsupportedAlgorithm(_:)`` naming what `key` is: an EC key on a
    /// curve other than P-256, P-384 and P-521 by its curve, any other key
    /// by its OpenSSL type name.
    static func unsupported(_ key: EVPKey) -> KeyDecodingError {
        if key.typeID == EVP_PKEY_EC { return .unsupportedAlgorithm("EC curve \(key.groupName ?? "unknown")") }
        return .unsupportedAlgorithm(String(cString: OBJ_nid2sn(key.typeID)))
    }
}

extension PublicKey {
    private static let ed25519SPKIPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
    private static let x25519SPKIPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]

    /// Decodes a DER SubjectPublicKeyInfo.
    public init(spkiDER der: [UInt8]) throws {
        let key: EVPKey
        do { key = try EVPKey.fromSPKI(der) } catch {
            throw KeyDecodingError.malformed("invalid SubjectPublicKeyInfo")
        }
        try self.init(evp: key)
    }

    init(evp key: EVPKey) throws {
        switch key.typeID {
        case EVP_PKEY_ED25519:
            self = .ed25519(try Ed25519.PublicKey(rawRepresentation: try Self.rawPublic(key)))
        case EVP_PKEY_X25519:
            self = .x25519(try X25519.PublicKey(rawRepresentation: try Self.rawPublic(key)))
        case EVP_PKEY_EC where ECDSA.Curve(groupName: key.groupName) != nil:
            self = .ecdsa(try ECDSA.PublicKey(key: key))
        default:
            throw KeyDecodingError.unsupported(key)
        }
    }

    private static func rawPublic(_ key: EVPKey) throws -> [UInt8] {
        var length = 0
        guard EVP_PKEY_get_raw_public_key(key.pointer, nil, &length) == 1 else {
            throw KeyDecodingError.malformed(Backend.openSSLErrorDescription())
        }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_get_raw_public_key(key.pointer, &out, &length) == 1 else {
            throw KeyDecodingError.malformed(Backend.openSSLErrorDescription())
        }
        return out
    }

    /// Decodes a `-----BEGIN PUBLIC KEY-----` PEM block.
    public init(pem: String) throws {
        let block = try PEMBlock(parsing: pem)
        guard block.label == "PUBLIC KEY" else {
            if block.label.contains("PRIVATE KEY") {
                throw KeyDecodingError.unsupportedLabel("\(block.label) where a public key was expected")
            }
            throw KeyDecodingError.unsupportedLabel(block.label)
        }
        try self.init(spkiDER: block.der)
    }

    /// The DER SubjectPublicKeyInfo (RFC 5280; RFC 8410 for Ed25519 and X25519).
    public var spkiDER: [UInt8] {
        switch self {
        case let .ed25519(key): return Self.ed25519SPKIPrefix + key.rawRepresentation
        case let .x25519(key): return Self.x25519SPKIPrefix + key.rawRepresentation
        case let .ecdsa(key): return key.derRepresentation
        }
    }

    /// The SPKI PEM text exactly as OpenSSL writes it.
    public var pemRepresentation: String { PEMBlock.encode(label: "PUBLIC KEY", der: spkiDER) }

    /// The key id: lowercase hex SHA-256 of ``pemRepresentation``, the `hint`
    /// that OpenSSF model signatures carry.
    public var keyID: String { SHA2.SHA256.hash(data: Array(pemRepresentation.utf8)).hex }
}

extension PrivateKey {
    /// Decodes a PKCS#8 PEM private key (`PRIVATE KEY`, or `ENCRYPTED PRIVATE
    /// KEY` with `passphrase`), as `openssl genpkey` writes it. The legacy
    /// `EC PRIVATE KEY` form is read too.
    public init(pem: String, passphrase: SecretBytes? = nil) throws {
        let block = try PEMBlock(parsing: pem)
        switch block.label {
        case "PRIVATE KEY", "EC PRIVATE KEY":
            break
        case "ENCRYPTED PRIVATE KEY":
            guard passphrase != nil else { throw KeyDecodingError.passphraseRequired }
        case "PUBLIC KEY":
            throw KeyDecodingError.unsupportedLabel("PUBLIC KEY where a private key was expected")
        default:
            throw KeyDecodingError.unsupportedLabel(block.label)
        }
        let encrypted = block.label == "ENCRYPTED PRIVATE KEY"
        let bytes = Array(pem.utf8)
        let parsed: OpaquePointer? = bytes.withUnsafeBytes { buf in
            guard let bio = BIO_new_mem_buf(buf.baseAddress, Int32(buf.count)) else { return nil }
            defer { BIO_free(bio) }
            if let passphrase {
                let context = Unmanaged.passUnretained(passphrase).toOpaque()
                return PEM_read_bio_PrivateKey(bio, nil, passphraseCallback, context)
            }
            return PEM_read_bio_PrivateKey(bio, nil, refusePassphraseCallback, nil)
        }
        guard let parsed else {
            Backend.clearOpenSSLErrors()
            throw encrypted ? KeyDecodingError.wrongPassphrase : KeyDecodingError.malformed("the PKCS#8 structure could not be decoded")
        }
        try self.init(evp: EVPKey(taking: parsed))
    }

    init(evp key: EVPKey) throws {
        switch key.typeID {
        case EVP_PKEY_ED25519:
            self = .ed25519(Ed25519.PrivateKey(seed: try Self.rawPrivate(key, length: 32)))
        case EVP_PKEY_X25519:
            self = .x25519(X25519.PrivateKey(secret: try Self.rawPrivate(key, length: 32)))
        case EVP_PKEY_EC where ECDSA.Curve(groupName: key.groupName) != nil:
            self = .ecdsa(try ECDSA.PrivateKey(key: key))
        default:
            throw KeyDecodingError.unsupported(key)
        }
    }

    private static func rawPrivate(_ key: EVPKey, length: Int) throws -> SecretBytes {
        var failed = false
        let secret = SecretBytes(count: length) { out in
            var n = out.count
            failed = EVP_PKEY_get_raw_private_key(key.pointer, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &n) != 1 || n != length
        }
        if failed { throw KeyDecodingError.malformed("could not extract the private key") }
        return secret
    }

    /// An OpenSSL key object for this private key.
    private func evpKey() throws -> EVPKey {
        func raw(_ type: Int32, _ secret: SecretBytes) throws -> EVPKey {
            let p = secret.withUnsafeBytes { s in
                EVP_PKEY_new_raw_private_key(type, nil, s.baseAddress?.assumingMemoryBound(to: UInt8.self), s.count)
            }
            guard let p else { throw CryptoBackendError.backend(Backend.openSSLErrorDescription()) }
            return EVPKey(taking: p)
        }
        switch self {
        case let .ed25519(key): return try raw(EVP_PKEY_ED25519, key.seed)
        case let .x25519(key): return try raw(EVP_PKEY_X25519, key.rawSecret)
        case let .ecdsa(key): return key.key
        }
    }

    /// The PKCS#8 PEM text, in secret storage. With a passphrase the key is
    /// encrypted with PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC), which
    /// `openssl pkey -passin` opens.
    public func pkcs8PEM(passphrase: SecretBytes? = nil) throws -> SecretBytes {
        let key = try evpKey()
        guard let bio = BIO_new(BIO_s_secmem()) else { throw CryptoBackendError.backend("BIO_new failed") }
        defer { BIO_free(bio) }
        let ok: Bool
        if let passphrase {
            ok = passphrase.withUnsafeBytes { p in
                PEM_write_bio_PKCS8PrivateKey(bio, key.pointer, EVP_aes_256_cbc(),
                                              p.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                                              Int32(p.count), nil, nil) == 1
            }
        } else {
            ok = PEM_write_bio_PKCS8PrivateKey(bio, key.pointer, nil, nil, 0, nil, nil) == 1
        }
        guard ok else { throw CryptoBackendError.backend(Backend.openSSLErrorDescription()) }
        var data: UnsafeMutablePointer<CChar>?
        let length = modelsec_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { throw CryptoBackendError.backend("empty PEM output") }
        return SecretBytes(copying: UnsafeRawBufferPointer(start: data, count: length))
    }
}

/// Copies the passphrase held in a `SecretBytes` (passed as the context) into
/// OpenSSL's buffer.
private let passphraseCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { buffer, size, _, context in
    guard let buffer, let context else { return -1 }
    let secret = Unmanaged<SecretBytes>.fromOpaque(context).takeUnretainedValue()
    return secret.withUnsafeBytes { p in
        guard p.count <= Int(size) else { return -1 }
        if p.count > 0 { UnsafeMutableRawPointer(buffer).copyMemory(from: p.baseAddress!, byteCount: p.count) }
        return Int32(p.count)
    }
}

/// Refuses to supply a passphrase, so OpenSSL never prompts on the terminal.
private let refusePassphraseCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in -1 }
