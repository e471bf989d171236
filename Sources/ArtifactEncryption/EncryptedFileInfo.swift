import ModelSecIO

/// What an encrypted file's header says, read without any key: never a
/// secret. The plaintext size follows from the file size (it is not
/// authenticated until the file is decrypted).
public struct EncryptedFileInfo: Codable, Sendable, Equatable {
    /// One recipient stanza, described.
    public struct RecipientInfo: Codable, Sendable, Equatable {
        /// "x25519", "symmetric-key" or "passphrase".
        public let type: String
        /// Argon2id passes (passphrase recipients only).
        public let argon2Iterations: UInt32?
        /// Argon2id memory in KiB (passphrase recipients only).
        public let argon2MemoryKiB: UInt32?
    }

    /// The format version.
    public let formatVersion: Int
    /// Plaintext bytes per chunk.
    public let chunkSize: Int
    /// The recipients, in header order.
    public let recipients: [RecipientInfo]
    /// Header size in bytes (MAC included).
    public let headerSize: Int
    /// Total encrypted file size in bytes.
    public let encryptedSize: UInt64
    /// Number of chunks.
    public let chunkCount: UInt64
    /// The plaintext size implied by the file size.
    public let plaintextSize: UInt64

    /// Reads `path` ("-" for standard input).
    public static func inspect(path: String) throws -> EncryptedFileInfo {
        let source: FileDescriptorSource = path == "-" ? FileDescriptorSource(fd: 0, name: "<stdin>") : try FileDescriptorSource(path: path)
        do {
            let header = try Header.parse { try source.readBytes($0) }
            var payload: UInt64
            if let size = source.regularFileSize {
                payload = size - UInt64(header.encodedSize)
            } else {
                // A pipe: count the rest without keeping it.
                payload = 0
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
                    if n == 0 { break }
                    payload += UInt64(n)
                }
            }
            let (plaintext, chunks) = try ChunkLayout(chunkSize: header.chunkSize).plaintextSize(payloadSize: payload)
            let recipients = header.stanzas.map { stanza -> RecipientInfo in
                if stanza.kind == .passphrase {
                    let p = PassphraseStanza.parameters(of: stanza)
                    return RecipientInfo(type: stanza.kind.name, argon2Iterations: p.iterations, argon2MemoryKiB: p.memoryKiB)
                }
                return RecipientInfo(type: stanza.kind.name, argon2Iterations: nil, argon2MemoryKiB: nil)
            }
            return EncryptedFileInfo(formatVersion: Int(header.version), chunkSize: header.chunkSize, recipients: recipients,
                                     headerSize: header.encodedSize, encryptedSize: payload + UInt64(header.encodedSize),
                                     chunkCount: chunks, plaintextSize: plaintext)
        } catch let error as EncryptionError {
            throw error.at(path)
        }
    }
}
