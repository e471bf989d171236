import ModelSecCrypto

/// The passphrase recipient stanza. It must be the file's only stanza (a
/// passphrase file is not meant to be opened by anything else).
///
/// Body (72 bytes): Argon2id salt (16) ‖ iterations (u32 big-endian) ‖ memory
/// in KiB (u32 big-endian) ‖ wrapped file key (48). The wrapping key is the
/// 32-byte Argon2id (version 0x13, one lane) output for the passphrase.
enum PassphraseStanza {
    static let saltSize = 16
    static let bodySize = saltSize + 4 + 4 + FileKeyWrap.wrappedSize

    /// Readers refuse more passes than this, so a hostile header cannot make
    /// them spin.
    static let maximumIterations: UInt32 = 16
    /// Readers refuse more memory than this (1 GiB), so a hostile header
    /// cannot make them allocate more.
    static let maximumMemoryKiB: UInt32 = 1024 * 1024
    /// Argon2's minimum memory, 8 KiB.
    static let minimumMemoryKiB: UInt32 = 8

    /// Whether the parameters are in the accepted range (``acceptedRange``).
    static func accepts(_ p: Argon2id.Parameters) -> Bool {
        (1...maximumIterations).contains(p.iterations) && (minimumMemoryKiB...maximumMemoryKiB).contains(p.memoryKiB) && p.parallelism == 1
    }

    /// The accepted parameters, for messages.
    static var acceptedRange: String {
        "iterations 1...\(maximumIterations), memory \(minimumMemoryKiB)...\(maximumMemoryKiB) KiB, parallelism 1"
    }

    static func wrap(_ fileKey: SecretKey, passphrase: SecretBytes, parameters: Argon2id.Parameters) throws -> Stanza {
        guard accepts(parameters) else {
            throw EncryptionError(.unsupportedArgon2Parameters(iterations: parameters.iterations, memoryKiB: parameters.memoryKiB,
                                                               parallelism: parameters.parallelism))
        }
        guard passphrase.count > 0 else { throw EncryptionError(.emptyPassphrase) }
        let salt = SecureRandom.bytes(count: saltSize)
        let wrapping = try Argon2id.deriveKey(password: passphrase, salt: salt, parameters: parameters, outputByteCount: 32)
        var body = salt
        body += withUnsafeBytes(of: parameters.iterations.bigEndian, Array.init)
        body += withUnsafeBytes(of: parameters.memoryKiB.bigEndian, Array.init)
        body += try FileKeyWrap.wrap(fileKey, with: wrapping)
        return Stanza(kind: .passphrase, body: body)
    }

    /// The Argon2id parameters a stanza declares (already range-checked by the parser).
    static func parameters(of stanza: Stanza) -> Argon2id.Parameters {
        let b = stanza.body
        return Argon2id.Parameters(iterations: readUInt32(b, at: saltSize), memoryKiB: readUInt32(b, at: saltSize + 4))
    }

    /// The file key if `passphrase` is right; nil otherwise.
    static func unwrap(_ stanza: Stanza, passphrase: SecretBytes) throws -> SecretKey? {
        precondition(stanza.body.count == bodySize)
        let parameters = parameters(of: stanza)
        guard accepts(parameters) else {
            throw EncryptionError(.argon2ParametersOutOfRange(iterations: parameters.iterations, memoryKiB: parameters.memoryKiB))
        }
        let wrapping = try Argon2id.deriveKey(password: passphrase, salt: Array(stanza.body.prefix(saltSize)),
                                              parameters: parameters, outputByteCount: 32)
        return FileKeyWrap.unwrap(stanza.body[(saltSize + 8)...], with: wrapping)
    }
}

/// Reads a big-endian u32 at `offset`.
func readUInt32<C: RandomAccessCollection>(_ bytes: C, at offset: Int) -> UInt32 where C.Element == UInt8, C.Index == Int {
    let s = bytes.startIndex + offset
    return UInt32(bytes[s]) << 24 | UInt32(bytes[s + 1]) << 16 | UInt32(bytes[s + 2]) << 8 | UInt32(bytes[s + 3])
}
