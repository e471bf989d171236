import ArtifactEncryption
import Foundation
import ModelSecCrypto
import XCTest

/// Recipients and identities are protocols: a key held elsewhere (a KMS, an
/// HSM) plugs in by writing and opening the format's own stanza types, and
/// the header code stays closed to anything else.
final class RecipientSeamTests: XCTestCase {
    /// A stand-in for a KMS: it holds the key and counts what it is asked to do.
    final class CountingKMS: @unchecked Sendable { // the counters are only touched on the test's thread
        let key = SecretKey(randomByteCount: 32)
        var wraps = 0
        var unwraps = 0
    }

    struct KMSRecipient: Recipient {
        let kms: CountingKMS
        var stanzaKind: Stanza.Kind { .symmetricKey }
        func wrap(_ fileKey: SecretKey) throws -> Stanza {
            kms.wraps += 1
            return try SymmetricKeyRecipient(kms.key).wrap(fileKey)
        }
    }

    struct KMSIdentity: Identity {
        let kms: CountingKMS
        var stanzaKind: Stanza.Kind { .symmetricKey }
        func unwrap(_ stanza: Stanza) throws -> SecretKey? {
            kms.unwraps += 1
            return try SymmetricKeyIdentity(kms.key).unwrap(stanza)
        }
    }

    /// A recipient that writes a stanza its type does not allow.
    struct SloppyRecipient: Recipient {
        let kind: Stanza.Kind
        let size: Int
        var stanzaKind: Stanza.Kind { .symmetricKey }
        func wrap(_ fileKey: SecretKey) throws -> Stanza { Stanza(kind: kind, body: [UInt8](repeating: 7, count: size)) }
    }

    func testRecipientSeam_customConformancesRoundTripThroughTheFormat() throws {
        let kms = CountingKMS()
        let x25519 = X25519.PrivateKey()
        let plaintext = Fixtures.plaintext(10_000)
        let file = try Fixtures.encrypt(plaintext, to: [KMSRecipient(kms: kms), .x25519(x25519.publicKey)])
        XCTAssertEqual(kms.wraps, 1)
        XCTAssertEqual(try Fixtures.decrypt(file, with: [KMSIdentity(kms: kms)]), plaintext)
        XCTAssertEqual(kms.unwraps, 1)
        // The built-in identity for the same key opens it too: the stanza is the format's own.
        XCTAssertEqual(try Fixtures.decrypt(file, with: [.symmetricKey(kms.key)]), plaintext)
        // An identity is only offered stanzas of its own type: a KMS that holds
        // another key is asked about the symmetric-key stanza, never the X25519 one.
        let other = CountingKMS()
        XCTAssertEqual(try Fixtures.decrypt(file, with: [KMSIdentity(kms: other), .x25519(x25519)]), plaintext)
        XCTAssertEqual(other.unwraps, 1)
        let stranger = CountingKMS()
        XCTAssertEqual(assertEncryptionError(try Fixtures.decrypt(file, with: [KMSIdentity(kms: stranger)]))?.problem,
                       .noMatchingIdentity(stanzaTypes: ["symmetric-key", "x25519"]))
        XCTAssertEqual(stranger.unwraps, 1)
    }

    func testRecipientSeam_stanzasOfTheWrongSizeOrTypeAreRefusedWhenWriting() {
        for (kind, size) in [(Stanza.Kind.symmetricKey, 63), (.symmetricKey, 65), (.x25519, Stanza.Kind.x25519.bodySize)] {
            let error = assertEncryptionError(try Fixtures.encrypt([1, 2, 3], to: [SloppyRecipient(kind: kind, size: size)]))
            XCTAssertEqual(error?.problem, .recipientStanzaSize(type: kind.name, size: size))
            XCTAssertEqual(error?.code, "encryption.recipient-stanza-size")
            XCTAssertEqual(error?.category, .invalidInput)
        }
    }

    func testRecipientSeam_aPassphraseStaysTheOnlyRecipient() {
        let pass = SecretBytes(copying: Array("pw".utf8))
        let error = assertEncryptionError(try Fixtures.encrypt([], to: [.passphrase(pass, Fixtures.fastArgon2), KMSRecipient(kms: CountingKMS())]))
        XCTAssertEqual(error?.problem, .passphraseNotOnlyRecipient)
    }
}
