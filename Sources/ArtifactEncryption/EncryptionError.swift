import ModelSecCrypto
import ModelSecIO

/// Why encryption or decryption failed: ``problem`` as data, ``path`` the
/// file when known. Messages never contain key material, passphrases or
/// plaintext.
public struct EncryptionError: ModelSecError, Equatable {
    /// The four kinds of failure, which decide the category.
    public enum Kind: Sendable, Equatable {
        /// The input is not a well-formed encrypted file (bad magic, unknown
        /// version, out-of-range parameters, wrong stanza size). Exit code 2.
        case malformed
        /// Authentication failed: tampered, truncated or extended data, or a
        /// header MAC mismatch. Exit code 1.
        case authenticationFailed
        /// None of the given identities can open the file (wrong key or
        /// passphrase). Exit code 1.
        case noMatchingIdentity
        /// The caller asked for something unsupported (bad recipients, bad
        /// parameters). Exit code 2.
        case invalidRequest
    }

    /// What exactly went wrong.
    public enum Problem: Sendable, Equatable {
        // Malformed input.
        /// The input ends inside the header (`part`: the part being read, if known).
        case headerTruncated(part: String?)
        /// The first bytes are not the format's magic.
        case badMagic
        /// A format version this reader does not know.
        case unsupportedVersion(UInt8)
        /// Header flags this reader does not know.
        case unknownFlags(UInt8)
        /// The header's chunk size is not a power of two in the allowed range.
        case chunkSizeOutOfRange(Int)
        /// The header's recipient count is outside 1...maximum.
        case recipientCountOutOfRange(Int)
        /// Recipient stanza `index` (1-based) has a type this reader does not know.
        case unknownStanzaType(index: Int, type: UInt8)
        /// Recipient stanza `index` (1-based) has the wrong body size for its type.
        case stanzaSize(index: Int, type: String, size: Int, expected: Int)
        /// The header is larger than the format allows.
        case headerTooLarge
        /// A passphrase stanza declares Argon2id parameters outside the accepted range.
        case argon2ParametersOutOfRange(iterations: UInt32, memoryKiB: UInt32)
        /// A passphrase stanza next to other stanzas.
        case passphraseNotAlone
        /// An X25519 stanza's ephemeral key is a low-order point.
        case lowOrderEphemeralKey

        // Failed authentication.
        /// The file ends before its final chunk.
        case truncated
        /// The file size does not end on a valid final chunk.
        case sizeNotOnChunkBoundary
        /// The header MAC does not verify with the file key.
        case headerAuthenticationFailed
        /// Chunk `index` (0-based) failed authentication; `isFinal` if it is the last chunk.
        case chunkAuthenticationFailed(index: UInt64, isFinal: Bool)
        /// The file changed size while it was being read.
        case sizeChanged

        // No identity opens the file.
        /// The passphrase does not open the passphrase stanza.
        case wrongPassphrase
        /// None of the identities opens any stanza (`stanzaTypes`: what the file is encrypted to).
        case noMatchingIdentity(stanzaTypes: [String])

        // Unsupported requests.
        /// Encryption without recipients.
        case noRecipients
        /// More recipients than the format allows.
        case tooManyRecipients(Int)
        /// A requested chunk size that is not a power of two in the allowed range.
        case invalidChunkSize(Int)
        /// A passphrase recipient next to other recipients.
        case passphraseNotOnlyRecipient
        /// Requested Argon2id parameters outside the accepted range.
        case unsupportedArgon2Parameters(iterations: UInt32, memoryKiB: UInt32, parallelism: UInt32)
        /// An empty passphrase.
        case emptyPassphrase
        /// An X25519 recipient key that is a low-order point.
        case lowOrderRecipientKey
        /// A symmetric recipient key that is not 32 bytes.
        case symmetricKeyLength(Int)
        /// A recipient's stanza does not have the size its type fixes.
        case recipientStanzaSize(type: String, size: Int)
        /// Decryption without identities.
        case noIdentities
        /// A key of the wrong algorithm: encryption and decryption keys are X25519.
        case notX25519(KeyAlgorithm, publicKey: Bool)
        /// The crypto backend failed to seal a chunk.
        case sealingFailed
    }

    /// What went wrong.
    public let problem: Problem
    /// The file involved, when known (`<stdin>` for standard input).
    public var path: String?

    /// A failure `problem`, about `path` when given.
    public init(_ problem: Problem, path: String? = nil) {
        self.problem = problem
        self.path = path
    }

    /// This error, naming `path` (unless it already names a file).
    public func at(_ path: String) -> EncryptionError {
        var copy = self
        if copy.path == nil { copy.path = path == "-" ? "<stdin>" : path }
        return copy
    }

    /// The kind of failure.
    public var kind: Kind {
        switch problem {
        case .headerTruncated, .badMagic, .unsupportedVersion, .unknownFlags, .chunkSizeOutOfRange, .recipientCountOutOfRange,
             .unknownStanzaType, .stanzaSize, .headerTooLarge, .argon2ParametersOutOfRange, .passphraseNotAlone, .lowOrderEphemeralKey:
            return .malformed
        case .truncated, .sizeNotOnChunkBoundary, .headerAuthenticationFailed, .chunkAuthenticationFailed, .sizeChanged:
            return .authenticationFailed
        case .wrongPassphrase, .noMatchingIdentity:
            return .noMatchingIdentity
        case .noRecipients, .tooManyRecipients, .invalidChunkSize, .passphraseNotOnlyRecipient, .unsupportedArgon2Parameters,
             .emptyPassphrase, .lowOrderRecipientKey, .symmetricKeyLength, .recipientStanzaSize, .noIdentities, .notX25519, .sealingFailed:
            return .invalidRequest
        }
    }

    public var category: FailureCategory {
        switch kind {
        case .malformed, .invalidRequest: return .invalidInput
        case .authenticationFailed, .noMatchingIdentity: return .verificationFailed
        }
    }

    /// `encryption.…`, one per problem.
    public var code: String {
        switch problem {
        case .headerTruncated: return "encryption.header-truncated"
        case .badMagic: return "encryption.bad-magic"
        case .unsupportedVersion: return "encryption.unsupported-version"
        case .unknownFlags: return "encryption.unknown-flags"
        case .chunkSizeOutOfRange: return "encryption.chunk-size-out-of-range"
        case .recipientCountOutOfRange: return "encryption.recipient-count-out-of-range"
        case .unknownStanzaType: return "encryption.unknown-stanza-type"
        case .stanzaSize: return "encryption.stanza-size"
        case .headerTooLarge: return "encryption.header-too-large"
        case .argon2ParametersOutOfRange: return "encryption.argon2-parameters-out-of-range"
        case .passphraseNotAlone: return "encryption.passphrase-not-alone"
        case .lowOrderEphemeralKey: return "encryption.low-order-ephemeral-key"
        case .truncated: return "encryption.truncated"
        case .sizeNotOnChunkBoundary: return "encryption.size-not-on-chunk-boundary"
        case .headerAuthenticationFailed: return "encryption.header-authentication-failed"
        case .chunkAuthenticationFailed: return "encryption.chunk-authentication-failed"
        case .sizeChanged: return "encryption.size-changed"
        case .wrongPassphrase: return "encryption.wrong-passphrase"
        case .noMatchingIdentity: return "encryption.no-matching-identity"
        case .noRecipients: return "encryption.no-recipients"
        case .tooManyRecipients: return "encryption.too-many-recipients"
        case .invalidChunkSize: return "encryption.invalid-chunk-size"
        case .passphraseNotOnlyRecipient: return "encryption.passphrase-not-only-recipient"
        case .unsupportedArgon2Parameters: return "encryption.unsupported-argon2-parameters"
        case .emptyPassphrase: return "encryption.empty-passphrase"
        case .lowOrderRecipientKey: return "encryption.low-order-recipient-key"
        case .symmetricKeyLength: return "encryption.symmetric-key-length"
        case .recipientStanzaSize: return "encryption.recipient-stanza-size"
        case .noIdentities: return "encryption.no-identities"
        case let .notX25519(_, publicKey): return publicKey ? "encryption.recipient-not-x25519" : "encryption.identity-not-x25519"
        case .sealingFailed: return "encryption.sealing-failed"
        }
    }

    /// What went wrong, for a person (without the path).
    public var reason: String {
        let range = "a power of two from \(ArtifactEncryption.minimumChunkSize) to \(ArtifactEncryption.maximumChunkSize)"
        switch problem {
        case let .headerTruncated(part):
            return "not a modelsec encrypted file: it ends inside the header" + (part.map { " (\($0))" } ?? "")
        case .badMagic: return "not a modelsec encrypted file (bad magic bytes)"
        case let .unsupportedVersion(version):
            return "unsupported encryption format version \(version) (this modelsec reads version \(ArtifactEncryption.formatVersion))"
        case let .unknownFlags(flags): return "unknown header flags 0x\(String(flags, radix: 16))"
        case let .chunkSizeOutOfRange(size): return "chunk size \(size) is out of range (\(range))"
        case let .recipientCountOutOfRange(count):
            return "recipient count \(count) is out of range (1...\(ArtifactEncryption.maximumRecipients))"
        case let .unknownStanzaType(index, type): return "recipient \(index) has unknown type \(type)"
        case let .stanzaSize(index, type, size, expected): return "recipient \(index) (\(type)) is \(size) bytes; it must be exactly \(expected)"
        case .headerTooLarge: return "the header is larger than \(ArtifactEncryption.maximumHeaderSize) bytes"
        case let .argon2ParametersOutOfRange(iterations, memoryKiB):
            return "Argon2id parameters out of range (iterations \(iterations), memory \(memoryKiB) KiB; accepted: \(PassphraseStanza.acceptedRange))"
        case .passphraseNotAlone: return "a passphrase recipient must be the only recipient"
        case .lowOrderEphemeralKey: return "an X25519 stanza has a low-order ephemeral key"
        case .truncated: return "the file is truncated: it ends before its final chunk"
        case .sizeNotOnChunkBoundary: return "the file was truncated or extended: its size does not end on a valid final chunk"
        case .headerAuthenticationFailed:
            return "header authentication failed: the header was altered (or the file key does not commit to it)"
        case let .chunkAuthenticationFailed(index, isFinal):
            return isFinal ? "chunk \(index) (the final chunk) failed authentication: the file was truncated, extended or altered"
                : "chunk \(index) failed authentication: the file was altered, truncated or its chunks reordered"
        case .sizeChanged: return "the file changed size while being read"
        case .wrongPassphrase: return "wrong passphrase (or the file was altered)"
        case let .noMatchingIdentity(types):
            return "none of the given keys can decrypt this file (it is encrypted to: \(types.joined(separator: ", ")))"
        case .noRecipients: return "no recipients given"
        case let .tooManyRecipients(count): return "too many recipients (\(count)); at most \(ArtifactEncryption.maximumRecipients)"
        case let .invalidChunkSize(size): return "chunk size \(size) must be \(range)"
        case .passphraseNotOnlyRecipient: return "a passphrase must be the only recipient"
        case let .unsupportedArgon2Parameters(iterations, memoryKiB, parallelism):
            return "Argon2id parameters not accepted (iterations \(iterations), memory \(memoryKiB) KiB, parallelism \(parallelism); accepted: \(PassphraseStanza.acceptedRange))"
        case .emptyPassphrase: return "the passphrase is empty"
        case .lowOrderRecipientKey: return "the X25519 recipient key is a low-order point and cannot be used"
        case let .symmetricKeyLength(count): return "a symmetric recipient key must be 32 bytes, not \(count)"
        case let .recipientStanzaSize(type, size): return "a \(type) recipient made a \(size)-byte stanza, which its type does not allow"
        case .noIdentities: return "no identity given to decrypt with"
        case let .notX25519(algorithm, publicKey):
            return publicKey ? "is an \(algorithm.rawValue) key; encryption needs an x25519 public key"
                : "is an \(algorithm.rawValue) key; decryption needs an x25519 private key"
        case .sealingFailed: return "AES-256-GCM sealing failed in the crypto backend"
        }
    }

    public var description: String {
        if let path { return "\(path): \(reason)" }
        return reason
    }
}
