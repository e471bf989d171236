import Foundation
import ModelSecCrypto
@testable import TransparencyLog
import XCTest

/// C2SP signed notes, checkpoints and cosignatures: parsing is strict,
/// key ids follow the spec, signatures by other keys are ignored and
/// altered notes refused.
final class SignedNoteTests: XCTestCase {
    func testKeyIDIsTheSpecHashAndTheVkeyRoundTrips() throws {
        let signer = try newSigner("example.com/models")
        let verifier = signer.verifier
        var h = SHA2.SHA256.hasher()
        h.update(Array("example.com/models\n".utf8) + [0x01] + verifier.publicKey.rawRepresentation)
        let digest = h.finalize().bytes
        XCTAssertEqual(verifier.keyID, UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3]))
        XCTAssertEqual(try NoteVerifier(vkey: verifier.vkey), verifier)
        // The witness key for the same key pair has another id (type byte 0x04).
        XCTAssertNotEqual(try NoteSigner(name: "example.com/models", type: .cosignatureV1, key: Ed25519.PrivateKey()).verifier.keyID, verifier.keyID)
        let parts = verifier.vkey.split(separator: "+")
        assertLogError("tlog.key-malformed") { _ = try NoteVerifier(vkey: "\(parts[0])+00000000+\(parts[2])") }
        assertLogError("tlog.key-malformed") { _ = try NoteVerifier(vkey: "a b+\(parts[1])+\(parts[2])") }
        assertLogError("tlog.key-malformed") { _ = try NoteSigner(name: "has space", type: .ed25519, key: Ed25519.PrivateKey()) }
    }

    func testCheckpointSignedByTheLogVerifiesAndOthersAreRefused() throws {
        let log = try newSigner("example.com/models")
        let checkpoint = Checkpoint(origin: "example.com/models", size: 3, root: Merkle.leafHash([1]), extensions: ["ext line"])
        let signed = try SignedCheckpoint(checkpoint: checkpoint, signer: log)
        let parsed = try SignedCheckpoint(bytes: signed.note.bytes, logKey: log.verifier, what: "cp")
        XCTAssertEqual(parsed.checkpoint, checkpoint)
        // Signed by another key of the same name: no signature by the log key.
        let impostor = try newSigner("example.com/models")
        let forged = try SignedCheckpoint(checkpoint: checkpoint, signer: impostor)
        assertLogError("tlog.signature-missing") { _ = try SignedCheckpoint(bytes: forged.note.bytes, logKey: log.verifier, what: "cp") }
        // Another log's checkpoint.
        let other = try SignedCheckpoint(checkpoint: Checkpoint(origin: "other.example", size: 3, root: checkpoint.root), signer: try newSigner("other.example"))
        assertLogError("tlog.origin-mismatch") { _ = try SignedCheckpoint(bytes: other.note.bytes, logKey: log.verifier, what: "cp") }
        // The size changed after signing.
        let text = String(decoding: signed.note.bytes, as: UTF8.self).replacingOccurrences(of: "\n3\n", with: "\n4\n")
        assertLogError("tlog.signature-invalid") { _ = try SignedCheckpoint(bytes: Array(text.utf8), logKey: log.verifier, what: "cp") }
        // An unknown signature alongside the log's is ignored.
        var both = signed.note
        both.add(impostor.sign(text: both.text))
        XCTAssertNoThrow(try SignedCheckpoint(bytes: both.bytes, logKey: log.verifier, what: "cp"))
    }

    func testMalformedNotesAndCheckpointsAreRefused() throws {
        let log = try newSigner("o")
        let good = try SignedCheckpoint(checkpoint: Checkpoint(origin: "o", size: 0, root: TreeHash.empty), signer: log).note
        let sigLine = good.signatures[0].line
        let cases: [(String, String)] = [
            ("o\n0\n\(TreeHash.empty.base64)\n" + sigLine, "tlog.note-malformed"),                     // no blank line
            ("o\n0\n\(TreeHash.empty.base64)\n\n", "tlog.note-malformed"),                              // no signatures
            ("o\n0\n\(TreeHash.empty.base64)\n\n- o AAAAAAAA\n", "tlog.note-malformed"),                // hyphen, not em dash
            ("o\n0\n\(TreeHash.empty.base64)\r\n\n" + sigLine, "tlog.note-malformed"),                  // control character
            ("o\n00\n\(TreeHash.empty.base64)\n\n" + sigLine, "tlog.checkpoint-malformed"),             // leading zero
            ("o\n-1\n\(TreeHash.empty.base64)\n\n" + sigLine, "tlog.checkpoint-malformed"),
            ("o\n0\n\(TreeHash.empty.hex)\n\n" + sigLine, "tlog.checkpoint-malformed"),                 // hex, not base64
            ("o\n0\n\n" + sigLine, "tlog.checkpoint-malformed"),
        ]
        for (text, code) in cases {
            assertLogError(code) { _ = try SignedCheckpoint(bytes: Array(text.utf8), logKey: log.verifier, what: "cp") }
        }
        assertLogError("tlog.too-large") {
            _ = try SignedNote(bytes: [UInt8](repeating: 0x61, count: SignedNote.maxBytes + 1), what: "big")
        }
    }

    func testCosignatureIsTimestampedAndCoversTheCheckpoint() throws {
        let log = try newSigner("example.com/models")
        let witness = try newSigner("witness.example/w1", type: .cosignatureV1)
        var signed = try SignedCheckpoint(checkpoint: Checkpoint(origin: "example.com/models", size: 9, root: Merkle.leafHash([7])), signer: log)
        let line = witness.sign(text: signed.note.text, timestamp: 1_679_315_147)
        XCTAssertEqual(line.signature.count, 72)
        XCTAssertEqual(Array(line.signature.prefix(8)), [0, 0, 0, 0, 0x64, 0x18, 0x50, 0xCB])
        // The signed message is the spec's: header, time line, note text.
        XCTAssertTrue(witness.verifier.publicKey.isValidSignature(Array(line.signature.dropFirst(8)),
                                                                  for: Array("cosignature/v1\ntime 1679315147\n\(signed.note.text)".utf8)))
        signed.note.add(line)
        let parsed = try SignedCheckpoint(bytes: signed.note.bytes, logKey: log.verifier, what: "cp")
        XCTAssertEqual(try parsed.cosignerCount([witness.verifier]), 1)
        XCTAssertEqual(try witness.verifier.verify(parsed.note, what: "cp"), 1_679_315_147)
        // A changed timestamp breaks the cosignature.
        var stamp = line.signature
        stamp[7] ^= 1
        var altered = parsed.note
        altered.add(.init(name: line.name, keyID: line.keyID, signature: stamp))
        assertLogError("tlog.signature-invalid") { _ = try witness.verifier.verify(altered, what: "cp") }
    }

    /// The log is never its own witness (walk12 F1): the log's vkey given
    /// as a witness key verified the log's own signature line and counted it
    /// as a cosignature, so a fork no witness saw met a quorum of one. Only a
    /// cosignature/v1 key counts, never the log's key under any name or type,
    /// and one key under two names is one witness.
    func testOnlyAnotherKeysCosignatureCountsAsAWitness() throws {
        let logKey = Ed25519.PrivateKey()
        let log = try NoteSigner(name: "example.com/models", type: .ed25519, key: logKey)
        var signed = try SignedCheckpoint(checkpoint: Checkpoint(origin: "example.com/models", size: 3, root: Merkle.leafHash([1])), signer: log)
        // The log's own signature key as a witness.
        assertLogError("tlog.key-malformed") { _ = try signed.cosignerCount([log.verifier]) }
        // The log's key as a cosignature/v1 key, with a cosignature line it made.
        let selfWitness = try NoteSigner(name: "example.com/models", type: .cosignatureV1, key: logKey)
        signed.note.add(selfWitness.sign(text: signed.note.text, timestamp: 1))
        assertLogError("tlog.key-malformed") { _ = try signed.cosignerCount([selfWitness.verifier]) }
        // One witness key under two names cosigns twice: one witness.
        let witnessKey = Ed25519.PrivateKey()
        let w1 = try NoteSigner(name: "witness.example/w1", type: .cosignatureV1, key: witnessKey)
        let w2 = try NoteSigner(name: "witness.example/w2", type: .cosignatureV1, key: witnessKey)
        signed.note.add(w1.sign(text: signed.note.text, timestamp: 2))
        signed.note.add(w2.sign(text: signed.note.text, timestamp: 2))
        XCTAssertEqual(try signed.cosignerCount([w1.verifier]), 1)
        XCTAssertEqual(try signed.cosignerCount([w1.verifier, w2.verifier]), 1)
        // A second, distinct witness makes two.
        let other = try newSigner("witness.example/w3", type: .cosignatureV1)
        signed.note.add(other.sign(text: signed.note.text, timestamp: 3))
        XCTAssertEqual(try signed.cosignerCount([w1.verifier, w2.verifier, other.verifier]), 2)
    }

    /// A signature line's key name is matched as bytes (review12 B3): the
    /// log's line rewritten with a canonically equivalent spelling of its
    /// name (NFD for NFC) is not the log's signature, as Go's sumdb/note
    /// reads it; before, Swift's `==` matched it and the note verified.
    func testKeyNamesMatchAsBytes() throws {
        let log = try newSigner("caf\u{E9}.example/log")
        let signed = try SignedCheckpoint(checkpoint: Checkpoint(origin: "caf\u{E9}.example/log", size: 1, root: Merkle.leafHash([1])), signer: log)
        XCTAssertNoThrow(try SignedCheckpoint(bytes: signed.note.bytes, logKey: log.verifier, what: "cp"))
        // The signature line starts "\u{2014} <name> "; the text's origin line stays NFC.
        let nfc: [UInt8] = Array("\u{2014} caf\u{E9}.example/log ".utf8), nfd: [UInt8] = Array("\u{2014} cafe\u{301}.example/log ".utf8)
        let bytes = signed.note.bytes
        let at = try XCTUnwrap((0...(bytes.count - nfc.count)).first { Array(bytes[$0..<($0 + nfc.count)]) == nfc })
        let relabelled: [UInt8] = Array(bytes[..<at]) + nfd + Array(bytes[(at + nfc.count)...])
        assertLogError("tlog.signature-missing") { _ = try SignedCheckpoint(bytes: relabelled, logKey: log.verifier, what: "cp") }
    }

    func testReleaseEntryCanonicalFormRoundTripsAndRefusesVariants() throws {
        let entry = try ReleaseLogEntry(name: "bert", version: "1.0.0", signerKeyID: String(repeating: "ab", count: 32),
                                        statement: Array("{}".utf8), time: "2026-11-29T01:48:37Z")
        let text = String(decoding: entry.canonicalBytes, as: UTF8.self)
        XCTAssertEqual(text, """
        modelsec-release-entry/v1
        name bert
        version 1.0.0
        signer \(String(repeating: "ab", count: 32))
        statement-sha256 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
        time 2026-11-29T01:48:37Z

        """)
        XCTAssertEqual(try ReleaseLogEntry(bytes: entry.canonicalBytes), entry)
        assertLogError("tlog.entry-malformed") { _ = try ReleaseLogEntry(bytes: Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)) }
        assertLogError("tlog.entry-malformed") { _ = try ReleaseLogEntry(bytes: Array((text + "extra\n").utf8)) }
        assertLogError("tlog.entry-malformed") {
            _ = try ReleaseLogEntry(name: "bert\nsigner x", version: "1", signerKeyID: String(repeating: "ab", count: 32), statement: [], time: "t")
        }
    }
}
