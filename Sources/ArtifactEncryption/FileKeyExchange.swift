import ModelSecCrypto

/// Making a header for recipients (a fresh file key wrapped for each) and
/// opening one with identities (unwrap the file key, then check the header MAC
/// before anything else is trusted).
enum FileKeyExchange {
    /// A new header for `recipients` and the keys for its payload.
    static func seal(for recipients: [Recipient], chunkSize: Int) throws -> (Header, FileKeys) {
        guard !recipients.isEmpty else { throw EncryptionError(.invalidRequest, "no recipients given") }
        guard recipients.count <= ArtifactEncryption.maximumRecipients else {
            throw EncryptionError(.invalidRequest, "too many recipients (\(recipients.count)); at most \(ArtifactEncryption.maximumRecipients)")
        }
        guard Header.isValidChunkSize(chunkSize) else {
            throw EncryptionError(.invalidRequest, "chunk size \(chunkSize) must be a power of two from \(ArtifactEncryption.minimumChunkSize) to \(ArtifactEncryption.maximumChunkSize)")
        }
        let fileKey = SymmetricKey(randomByteCount: 32)
        var stanzas: [Stanza] = []
        for recipient in recipients {
            switch recipient {
            case let .x25519(key):
                stanzas.append(try X25519Stanza.wrap(fileKey, to: key))
            case let .symmetricKey(key):
                stanzas.append(try SymmetricKeyStanza.wrap(fileKey, with: key))
            case let .passphrase(passphrase, parameters):
                guard recipients.count == 1 else {
                    throw EncryptionError(.invalidRequest, "a passphrase must be the only recipient")
                }
                stanzas.append(try PassphraseStanza.wrap(fileKey, passphrase: passphrase, parameters: parameters))
            }
        }
        var header = Header(chunkSize: chunkSize, salt: SecureRandom.bytes(count: Header.saltSize), stanzas: stanzas)
        let keys = try FileKeys(fileKey: fileKey, salt: header.salt)
        header.mac = keys.mac(for: header)
        return (header, keys)
    }

    /// Finds the file key with one of `identities` and verifies the header MAC.
    static func open(_ header: Header, with identities: [Identity]) throws -> FileKeys {
        guard !identities.isEmpty else { throw EncryptionError(.invalidRequest, "no identity given to decrypt with") }
        var fileKey: SymmetricKey?
        search: for stanza in header.stanzas {
            for identity in identities {
                switch (stanza.kind, identity) {
                case let (.x25519, .x25519(key)):
                    fileKey = try X25519Stanza.unwrap(stanza, with: key)
                case let (.symmetricKey, .symmetricKey(key)):
                    fileKey = try SymmetricKeyStanza.unwrap(stanza, with: key)
                case let (.passphrase, .passphrase(passphrase)):
                    fileKey = try PassphraseStanza.unwrap(stanza, passphrase: passphrase)
                    if fileKey == nil { throw EncryptionError(.noMatchingIdentity, "wrong passphrase (or the file was altered)") }
                default:
                    continue
                }
                if fileKey != nil { break search }
            }
        }
        guard let fileKey else {
            let kinds = Set(header.stanzas.map(\.kind.name)).sorted().joined(separator: ", ")
            throw EncryptionError(.noMatchingIdentity, "none of the given keys can decrypt this file (it is encrypted to: \(kinds))")
        }
        let keys = try FileKeys(fileKey: fileKey, salt: header.salt)
        guard keys.verify(header) else {
            throw EncryptionError.authentication("header authentication failed: the header was altered (or the file key does not commit to it)")
        }
        return keys
    }
}
