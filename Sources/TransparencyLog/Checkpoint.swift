/// A C2SP tlog-checkpoint body: origin, tree size, root hash, extension lines.
public struct Checkpoint: Sendable, Equatable {
    /// The log's origin line.
    public let origin: String
    /// Number of entries in the tree.
    public let size: UInt64
    /// The tree's root hash.
    public let root: TreeHash
    /// Extension lines (non-empty), kept as written.
    public let extensions: [String]

    /// A checkpoint body.
    public init(origin: String, size: UInt64, root: TreeHash, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// The note text: each line terminated by a newline.
    public var text: String {
        ([origin, String(size), root.base64] + extensions).map { $0 + "\n" }.joined()
    }

    /// Parses a note text as a checkpoint; `what` names it in errors.
    public init(text: String, what: String) throws {
        func bad(_ reason: String) -> TransparencyLogError { .malformedCheckpoint(what: what, reason: reason) }
        guard text.hasSuffix("\n") else { throw bad("does not end with a newline") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3 else { throw bad("fewer than three lines") }
        guard !lines[0].isEmpty else { throw bad("empty origin line") }
        let sizeLine = lines[1]
        guard !sizeLine.isEmpty, sizeLine.utf8.count <= 20, sizeLine.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              sizeLine == "0" || !sizeLine.hasPrefix("0"), let size = UInt64(sizeLine) else {
            throw bad("the tree size is not a decimal number without leading zeros")
        }
        guard let root = TreeHash(base64: lines[2]) else { throw bad("the root hash is not base64 of 32 bytes") }
        guard !lines[3...].contains(where: \.isEmpty) else { throw bad("an empty extension line") }
        self.init(origin: lines[0], size: size, root: root, extensions: Array(lines[3...]))
    }
}

/// A checkpoint with its signed note, verified by the log's key.
public struct SignedCheckpoint: Sendable, Equatable {
    /// The checkpoint body.
    public let checkpoint: Checkpoint
    /// The whole note (log signature and any cosignatures).
    public var note: SignedNote
    /// The log's key that signed it.
    public let logKey: NoteVerifier

    /// Parses `bytes` and checks the log's signature (the key name must be
    /// the origin, per tlog-checkpoint); `what` names it in errors.
    public init(bytes: [UInt8], logKey: NoteVerifier, what: String) throws {
        let note = try SignedNote(bytes: bytes, what: what)
        let checkpoint = try Checkpoint(text: note.text, what: what)
        guard checkpoint.origin == logKey.name, Array(checkpoint.origin.utf8) == Array(logKey.name.utf8) else {
            throw TransparencyLogError.originMismatch(expected: logKey.name, actual: checkpoint.origin)
        }
        try logKey.verify(note, what: what)
        self.checkpoint = checkpoint
        self.note = note
        self.logKey = logKey
    }

    /// Signs `checkpoint` with the log key.
    public init(checkpoint: Checkpoint, signer: NoteSigner) throws {
        self.checkpoint = checkpoint
        note = try SignedNote(text: checkpoint.text, signatures: [signer.sign(text: checkpoint.text)])
        logKey = signer.verifier
    }

    /// How many of `witnesses` cosigned this checkpoint with a valid
    /// cosignature; throws if a known witness's cosignature fails, or if a
    /// witness key is not a cosignature/v1 key or is the log's own key.
    public func cosignerCount(_ witnesses: [NoteVerifier]) throws -> Int {
        var count = 0
        var seen = Set<[UInt8]>()
        for witness in witnesses {
            // Only a cosignature/v1 key (type 0x04) is a witness's: a plain
            // Ed25519 note key of the log's name would verify the log's own
            // signature line and count the log as its own witness. Nor may a
            // witness hold the log's key under any name or type.
            guard witness.type == .cosignatureV1 else {
                throw TransparencyLogError.malformedKey(reason: "the witness key \(witness.name) is an Ed25519 note signature key (type 0x01, a log's key), not a witness's cosignature/v1 key (type 0x04)")
            }
            guard witness.publicKey.rawRepresentation != logKey.publicKey.rawRepresentation else {
                throw TransparencyLogError.malformedKey(reason: "the witness key \(witness.name) is the log's own key: a log cannot witness its own checkpoints")
            }
            // A witness key given twice, even under two names, counts once: a
            // repeated key must not stand in for a second witness in a quorum.
            guard seen.insert(witness.publicKey.rawRepresentation).inserted else { continue }
            do {
                try witness.verify(note, what: "checkpoint")
                count += 1
            } catch TransparencyLogError.signatureMissing {
                continue
            }
        }
        return count
    }
}
