@testable import ModelRelease
import ModelSecCrypto
@testable import TransparencyLog
import XCTest

/// How the gate counts witnesses given by their Ed25519 public key (a PEM
/// file, no name): a cosignature line says nothing of its name in what it
/// signs, so anyone who edits the (unsigned) proof file can copy a witness's
/// line under another name with that name's key id.
final class ReleaseTransparencyWitnessTests: XCTestCase {
    private let witnessKey = Ed25519.PrivateKey()

    private func checkpoint() throws -> (SignedCheckpoint, NoteSigner) {
        let log = try NoteSigner(name: "example.com/models", type: .ed25519, key: Ed25519.PrivateKey())
        let signed = try SignedCheckpoint(checkpoint: Checkpoint(origin: "example.com/models", size: 1, root: Merkle.leafHash([1])), signer: log)
        return (signed, try NoteSigner(name: "witness.example/w1", type: .cosignatureV1, key: witnessKey))
    }

    /// A line of `signature` bytes under `name`, with the key id the witness key has under that name.
    private func line(_ name: String, _ signature: [UInt8]) -> SignedNote.Signature {
        .init(name: name, keyID: noteKeyID(name: name, type: .cosignatureV1, publicKey: witnessKey.publicKey.rawRepresentation), signature: signature)
    }

    /// review12 B1: the witness's line copied under another name, put first,
    /// made its PEM key match the copy and its vkey the original, and a
    /// quorum of 2 passed with one witness. One key is one witness.
    func testACosignatureCopiedUnderAnotherNameIsStillOneWitness() throws {
        var (signed, witness) = try checkpoint()
        let original = witness.sign(text: signed.note.text, timestamp: 5)
        signed.note.add(line("evil.example/w", original.signature))
        signed.note.add(original)
        let byPEM = try XCTUnwrap(try ReleaseTransparency.witness(witnessKey.publicKey, in: signed.note))
        XCTAssertEqual(try signed.cosignerCount([witness.verifier, byPEM]), 1)
        XCTAssertEqual(try signed.cosignerCount([byPEM]), 1)
    }

    /// review12 B6: a junk line with the witness key's id under another name,
    /// put before the witness's own line, no longer hides it.
    func testAJunkLineBeforeTheWitnessesOwnDoesNotHideIt() throws {
        var (signed, witness) = try checkpoint()
        signed.note.add(line("junk.example/w", [UInt8](repeating: 0, count: 72)))
        signed.note.add(witness.sign(text: signed.note.text, timestamp: 5))
        let byPEM = try XCTUnwrap(try ReleaseTransparency.witness(witnessKey.publicKey, in: signed.note))
        XCTAssertEqual(Array(byPEM.name.utf8), Array("witness.example/w1".utf8))
        XCTAssertEqual(try signed.cosignerCount([byPEM]), 1)
        // Only junk: the failure is reported, not counted as no cosignature.
        var (junkOnly, _) = try checkpoint()
        junkOnly.note.add(line("junk.example/w", [UInt8](repeating: 0, count: 72)))
        let junk = try XCTUnwrap(try ReleaseTransparency.witness(witnessKey.publicKey, in: junkOnly.note))
        XCTAssertThrowsError(try junkOnly.cosignerCount([junk]))
    }
}
