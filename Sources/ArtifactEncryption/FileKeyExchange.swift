import ModelSecCrypto

/// Making a header for recipients (a fresh file key wrapped for each) and
/// opening one with identities (unwrap the file key, then check the header MAC
/// before anything else is trusted).
enum FileKeyExchange {
    /// A new header for `recipients` and the keys for its payload.
    static func seal(for recipients: [any Recipient], chunkSize: Int) throws -> (Header, FileKeys) {
        guard !recipients.isEmpty else { throw EncryptionError(.noRecipients) }
        guard recipients.count <= ArtifactEncryption.maximumRecipients else {
            throw EncryptionError(.tooManyRecipients(recipients.count))
        }
        guard Header.isValidChunkSize(chunkSize) else { throw EncryptionError(.invalidChunkSize(chunkSize)) }
        if recipients.count > 1, recipients.contains(where: { $0.stanzaKind == .passphrase }) {
            throw EncryptionError(.passphraseNotOnlyRecipient)
        }
        let fileKey = SecretKey(randomByteCount: 32)
        var stanzas: [Stanza] = []
        for recipient in recipients {
            let stanza = try recipient.wrap(fileKey)
            // What a conformance wrote must be a stanza of its declared type, sized as the type fixes.
            guard stanza.kind == recipient.stanzaKind, stanza.body.count == stanza.kind.bodySize else {
                throw EncryptionError(.recipientStanzaSize(type: stanza.kind.name, size: stanza.body.count))
            }
            stanzas.append(stanza)
        }
        var header = Header(chunkSize: chunkSize, salt: SecureRandom.bytes(count: Header.saltSize), stanzas: stanzas)
        let keys = try FileKeys(fileKey: fileKey, salt: header.salt)
        header.mac = keys.mac(for: header)
        return (header, keys)
    }

    /// Finds the file key with one of `identities` and verifies the header MAC.
    /// Each identity is tried only on stanzas of its own type.
    static func open(_ header: Header, with identities: [any Identity]) throws -> FileKeys {
        guard !identities.isEmpty else { throw EncryptionError(.noIdentities) }
        var fileKey: SecretKey?
        search: for stanza in header.stanzas {
            for identity in identities where identity.stanzaKind == stanza.kind {
                fileKey = try identity.unwrap(stanza)
                if fileKey != nil { break search }
                // A passphrase stanza is the file's only one: a wrong passphrase is the answer.
                if stanza.kind == .passphrase { throw EncryptionError(.wrongPassphrase) }
            }
        }
        guard let fileKey else {
            throw EncryptionError(.noMatchingIdentity(stanzaTypes: Set(header.stanzas.map(\.kind.name)).sorted()))
        }
        let keys = try FileKeys(fileKey: fileKey, salt: header.salt)
        guard keys.verify(header) else {
            throw EncryptionError(.headerAuthenticationFailed)
        }
        return keys
    }
}
