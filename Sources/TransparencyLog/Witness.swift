import Foundation
import ModelSecCrypto
import ModelSecIO

/// A C2SP tlog-cosignature witness that keeps, per log origin, the last
/// checkpoint it cosigned (`<state>/<hex SHA-256 of origin>.checkpoint`)
/// and cosigns a new checkpoint only if it is consistent with that one.
public struct Witness {
    /// Where the witness keeps its state.
    public let stateDirectory: String
    /// The witness key (type cosignature/v1).
    public let signer: NoteSigner

    /// A witness with state in `stateDirectory` signing with `signer`.
    public init(stateDirectory: String, signer: NoteSigner) throws {
        guard signer.type == .cosignatureV1 else { throw TransparencyLogError.malformedKey(reason: "a witness key must be a cosignature/v1 key") }
        self.stateDirectory = stateDirectory
        self.signer = signer
    }

    /// The state file for a log origin.
    public func statePath(origin: String) -> String {
        (stateDirectory as NSString).appendingPathComponent(SHA2.SHA256.hash(data: Array(origin.utf8)).hex + ".checkpoint")
    }

    /// The file recording the cosigner name the witness key signs under:
    /// `<state>/<hex of the Ed25519 public key>.name`, holding the name's
    /// UTF-8 bytes. tlog-cosignature forbids one key serving two cosigner
    /// names (a cosignature does not commit to the name, so one key under two
    /// names would pass for two witnesses).
    public var namePath: String {
        (stateDirectory as NSString).appendingPathComponent(Hex.encode(signer.verifier.publicKey.rawRepresentation) + ".name")
    }

    /// The name this state recorded for the witness key, if any.
    public func recordedName() throws -> [UInt8]? {
        guard FileIO.exists(namePath) else { return nil }
        return try FileIO.readRegularFile(namePath, limit: 4096)
    }

    /// The last checkpoint cosigned for the log `logKey` names, if any.
    public func lastCosigned(logKey: NoteVerifier) throws -> SignedCheckpoint? {
        let path = statePath(origin: logKey.name)
        guard FileIO.exists(path) else { return nil }
        return try SignedCheckpoint(bytes: try FileIO.readRegularFile(path, limit: SignedNote.maxBytes), logKey: logKey, what: path)
    }

    /// Cosigns `checkpointBytes` (signed by `logKey`) at time `now`:
    /// refuses a smaller tree (rollback), a different root at the same size
    /// or a failing consistency proof (fork). `consistencyProof` returns the
    /// proof from an older size to the checkpoint's size (from the log's
    /// tiles or the log's response). Returns the cosigned note; the state
    /// is updated durably before returning. The first cosignature records
    /// the witness's name with its key (``namePath``); a later call with the
    /// same key under another name (compared as bytes) is refused with
    /// ``TransparencyLogError/malformedKey(reason:)`` before anything is signed.
    public func cosign(checkpointBytes: [UInt8], logKey: NoteVerifier, now: UInt64,
                       consistencyProof: (UInt64) throws -> [TreeHash]) throws -> SignedNote {
        try DurableWriter.makeDirectories(stateDirectory)
        let lock = try FileLock(path: (stateDirectory as NSString).appendingPathComponent(".lock"))
        defer { lock.unlock() }
        let name = Array(signer.name.utf8)
        let recorded = try recordedName()
        if let recorded, recorded != name {
            throw TransparencyLogError.malformedKey(reason: "this witness key cosigns as \(String(decoding: recorded, as: UTF8.self)) (recorded in \(namePath)), not as \(signer.name): one key serves one cosigner name (tlog-cosignature), or a single witness would count as two")
        }
        // A witness is another party than the log: the log's own key
        // cosigning would let the log vouch for itself.
        guard signer.verifier.publicKey.rawRepresentation != logKey.publicKey.rawRepresentation else {
            throw TransparencyLogError.malformedKey(reason: "the witness key is the log's own key: a log cannot witness its own checkpoints (give the witness's key)")
        }
        var signed = try SignedCheckpoint(bytes: checkpointBytes, logKey: logKey, what: "checkpoint")
        let new = signed.checkpoint
        try new.checkAddressable(what: "checkpoint")
        if let previous = try lastCosigned(logKey: logKey)?.checkpoint {
            if new.size < previous.size { throw TransparencyLogError.rollback(oldSize: previous.size, newSize: new.size) }
            let proof = new.size == previous.size ? [] : try consistencyProof(previous.size)
            try ConsistencyProof.verify(oldSize: previous.size, oldRoot: previous.root, newSize: new.size, newRoot: new.root, proof: proof)
        }
        signed.note.add(signer.sign(text: signed.note.text, timestamp: now))
        var writer = DurableWriter()
        if recorded == nil { try writer.write(name, to: namePath) }
        try writer.write(signed.note.bytes, to: statePath(origin: new.origin))
        try writer.sync()
        return signed.note
    }
}
