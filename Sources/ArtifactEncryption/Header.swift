import ModelSecCrypto

/// The file header: everything before the first chunk. Encoding and parsing
/// only; see docs/encryption-format.md, "Header".
///
///     magic "MSECENC\0" (8) ‖ version (1) ‖ flags = 0 (1) ‖ chunk size (u32 BE)
///     ‖ salt (32) ‖ recipient count (1) ‖ stanzas ‖ header MAC (32)
///
/// A stanza is type (1) ‖ body length (u16 BE) ‖ body.
struct Header {
    static let magic: [UInt8] = Array("MSECENC".utf8) + [0]
    static let saltSize = 32
    static let macSize = HMACSHA256.byteCount
    /// Bytes before the first stanza.
    static let fixedPrefixSize = 8 + 1 + 1 + 4 + saltSize + 1

    var version: UInt8 = ArtifactEncryption.formatVersion
    var chunkSize: Int
    var salt: [UInt8]
    var stanzas: [Stanza]
    /// The HMAC-SHA-256 over ``authenticatedBytes``; empty until set.
    var mac: [UInt8] = []

    /// Size of the whole header, MAC included.
    var encodedSize: Int { authenticatedBytes.count + Header.macSize }

    /// The bytes the header MAC covers: everything from the magic to the last stanza.
    var authenticatedBytes: [UInt8] {
        var out = Header.magic
        out.append(version)
        out.append(0)
        out += withUnsafeBytes(of: UInt32(chunkSize).bigEndian, Array.init)
        out += salt
        out.append(UInt8(stanzas.count))
        for stanza in stanzas {
            out.append(stanza.kind.rawValue)
            out += withUnsafeBytes(of: UInt16(stanza.body.count).bigEndian, Array.init)
            out += stanza.body
        }
        return out
    }

    /// The complete header as written to the file.
    var encoded: [UInt8] { authenticatedBytes + mac }

    /// Checks a chunk size: a power of two from 4 KiB to 1 MiB.
    static func isValidChunkSize(_ size: Int) -> Bool {
        size >= ArtifactEncryption.minimumChunkSize && size <= ArtifactEncryption.maximumChunkSize && size & (size - 1) == 0
    }

    /// Parses a header, reading exactly its bytes through `read` (which must
    /// return exactly `count` bytes or fewer only at end of input). Every size
    /// is checked before anything is allocated from it; the MAC is not checked
    /// here (that needs the file key).
    static func parse(_ read: (Int) throws -> [UInt8]) throws -> Header {
        func exactly(_ count: Int, _ what: String) throws -> [UInt8] {
            let bytes = try read(count)
            guard bytes.count == count else {
                throw EncryptionError(.headerTruncated(part: what))
            }
            return bytes
        }
        let prefix = try read(fixedPrefixSize)
        guard prefix.count >= magic.count, Array(prefix.prefix(magic.count)) == magic else {
            throw EncryptionError(.badMagic)
        }
        guard prefix.count == fixedPrefixSize else {
            throw EncryptionError(.headerTruncated(part: nil))
        }
        let version = prefix[8]
        guard version == ArtifactEncryption.formatVersion else {
            throw EncryptionError(.unsupportedVersion(version))
        }
        guard prefix[9] == 0 else { throw EncryptionError(.unknownFlags(prefix[9])) }
        let chunkSize = Int(readUInt32(prefix, at: 10))
        guard isValidChunkSize(chunkSize) else {
            throw EncryptionError(.chunkSizeOutOfRange(chunkSize))
        }
        let salt = Array(prefix[14..<(14 + saltSize)])
        let count = Int(prefix[14 + saltSize])
        guard count >= 1, count <= ArtifactEncryption.maximumRecipients else {
            throw EncryptionError(.recipientCountOutOfRange(count))
        }
        var stanzas: [Stanza] = []
        var size = fixedPrefixSize + macSize
        for index in 0..<count {
            let head = try exactly(3, "recipient \(index + 1)")
            guard let kind = Stanza.Kind(rawValue: head[0]) else {
                throw EncryptionError(.unknownStanzaType(index: index + 1, type: head[0]))
            }
            let length = Int(head[1]) << 8 | Int(head[2])
            guard length == kind.bodySize else {
                throw EncryptionError(.stanzaSize(index: index + 1, type: kind.name, size: length, expected: kind.bodySize))
            }
            size += 3 + length
            guard size <= ArtifactEncryption.maximumHeaderSize else {
                throw EncryptionError(.headerTooLarge)
            }
            let stanza = Stanza(kind: kind, body: try exactly(length, "recipient \(index + 1)"))
            if kind == .passphrase {
                let parameters = PassphraseStanza.parameters(of: stanza)
                guard PassphraseStanza.accepts(parameters) else {
                    throw EncryptionError(.argon2ParametersOutOfRange(iterations: parameters.iterations, memoryKiB: parameters.memoryKiB))
                }
            }
            stanzas.append(stanza)
        }
        if count > 1, stanzas.contains(where: { $0.kind == .passphrase }) {
            throw EncryptionError(.passphraseNotAlone)
        }
        var header = Header(version: version, chunkSize: chunkSize, salt: salt, stanzas: stanzas)
        header.mac = try exactly(macSize, "header MAC")
        return header
    }
}

/// The keys derived from a file key (docs/encryption-format.md, "Keys").
struct FileKeys {
    let payloadKey: SecretKey
    let headerKey: SecretKey

    init(fileKey: SecretKey, salt: [UInt8]) throws {
        payloadKey = try HKDFSHA256.deriveKey(inputKeyMaterial: fileKey, salt: salt, info: Labels.payload, outputByteCount: 32)
        headerKey = try HKDFSHA256.deriveKey(inputKeyMaterial: fileKey, salt: salt, info: Labels.header, outputByteCount: 32)
    }

    /// Computes the header MAC (writer side).
    func mac(for header: Header) -> [UInt8] {
        HMACSHA256.authenticationCode(for: header.authenticatedBytes, using: headerKey)
    }

    /// Checks the header MAC in constant time (reader side). This also commits
    /// the file to its key: a different file key gives a different MAC key.
    func verify(_ header: Header) -> Bool {
        HMACSHA256.isValidAuthenticationCode(header.mac, authenticating: header.authenticatedBytes, using: headerKey)
    }
}
