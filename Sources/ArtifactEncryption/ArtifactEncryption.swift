/// Streamed, key-committing AES-256-GCM encryption of model artifacts for one
/// or more recipients. The byte format is specified in docs/encryption-format.md.
///
/// Entry points: ``Encryptor`` (push plaintext, get ciphertext), ``Decryptor``
/// (pull plaintext from ciphertext), ``RandomAccessDecryptor`` (decrypt a byte
/// range of a file), ``EncryptedFile`` (whole files and standard streams, as the
/// CLI uses them) and ``EncryptedFileInfo`` (what a header says, no key needed).
public enum ArtifactEncryption {
    /// The format version this library writes and the only one it reads.
    public static let formatVersion: UInt8 = 1
    /// The default plaintext chunk size: 64 KiB.
    public static let defaultChunkSize = 64 * 1024
    /// The smallest chunk size a header may declare (4 KiB).
    public static let minimumChunkSize = 4 * 1024
    /// The largest chunk size a header may declare (1 MiB).
    public static let maximumChunkSize = 1024 * 1024
    /// The most recipients one file may have.
    public static let maximumRecipients = 32
    /// The largest header a reader accepts, in bytes.
    public static let maximumHeaderSize = 4096
}

/// ``Recipient`` under a name that cannot clash with a client's own
/// `Recipient` type.
public typealias EncryptionRecipient = Recipient
/// ``Identity`` under a name that cannot clash with a client's own
/// `Identity` type.
public typealias EncryptionIdentity = Identity

// The namespace enum shares the module's name, so `ArtifactEncryption.X`
// resolves to a member of the enum: make the main types reachable that way.
extension ArtifactEncryption {
    /// ``Recipient``, reachable as `ArtifactEncryption.Recipient`.
    public typealias Recipient = EncryptionRecipient
    /// ``Identity``, reachable as `ArtifactEncryption.Identity`.
    public typealias Identity = EncryptionIdentity
}
