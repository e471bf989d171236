import Foundation

/// A C2SP tlog-proof (`c2sp.org/tlog-proof@v1`): optional extra data, the
/// entry index, the inclusion proof and the (cosigned) checkpoint note.
public struct TlogProof: Sendable, Equatable {
    /// The first line.
    public static let header = "c2sp.org/tlog-proof@v1"
    /// The largest proof file accepted.
    public static let maxBytes = SignedNote.maxBytes + 64 * 1024

    /// Unauthenticated extra data (modelsec puts `name@version` of a release entry here).
    public let extra: [UInt8]?
    /// The entry's index.
    public let index: UInt64
    /// The inclusion proof, from the leaf's sibling to the root's child.
    public let hashes: [TreeHash]
    /// The checkpoint note, verbatim.
    public let checkpoint: SignedNote

    /// A proof from its parts.
    public init(extra: [UInt8]?, index: UInt64, hashes: [TreeHash], checkpoint: SignedNote) {
        self.extra = extra
        self.index = index
        self.hashes = hashes
        self.checkpoint = checkpoint
    }

    /// The file contents.
    public var bytes: [UInt8] {
        var text = Self.header + "\n"
        if let extra { text += "extra \(Data(extra).base64EncodedString())\n" }
        text += "index \(index)\n"
        for hash in hashes { text += hash.base64 + "\n" }
        text += "\n"
        return Array(text.utf8) + checkpoint.bytes
    }

    /// Parses a proof file; `what` names it in errors.
    public init(bytes: [UInt8], what: String) throws {
        guard bytes.count <= Self.maxBytes else { throw TransparencyLogError.tooLarge(what: what, limit: Self.maxBytes) }
        func bad(_ reason: String) -> TransparencyLogError { .malformedProof(what: what, reason: reason) }
        // The header part ends at the first empty line; the checkpoint follows.
        guard let blank = zip(bytes.indices, bytes.dropFirst()).first(where: { bytes[$0.0] == 0x0A && $0.1 == 0x0A })?.0 else {
            throw bad("no empty line before the checkpoint")
        }
        guard let head = String(validating: bytes[...blank], as: UTF8.self) else { throw bad("not UTF-8") }
        var lines = head.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
        guard lines.first == Self.header else { throw bad("the first line is not \(Self.header)") }
        lines = lines.dropFirst()
        var extra: [UInt8]?
        if let line = lines.first, line.hasPrefix("extra ") {
            let encoded = String(line.dropFirst(6))
            guard let data = Data(base64Encoded: encoded), data.base64EncodedString() == encoded else { throw bad("extra data is not canonical base64") }
            extra = Array(data)
            lines = lines.dropFirst()
        }
        guard let indexLine = lines.first, indexLine.hasPrefix("index ") else { throw bad("no index line") }
        let digits = indexLine.dropFirst(6)
        guard !digits.isEmpty, digits.utf8.count <= 20, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              digits == "0" || !digits.hasPrefix("0"), let index = UInt64(digits) else { throw bad("the index is not a decimal number without leading zeros") }
        lines = lines.dropFirst()
        guard lines.count <= 64 else { throw TransparencyLogError.tooLarge(what: "\(what) inclusion proof", limit: 64) }
        var hashes: [TreeHash] = []
        for line in lines {
            guard let hash = TreeHash(base64: line) else { throw bad("a proof line is not base64 of 32 bytes") }
            hashes.append(hash)
        }
        self.init(extra: extra, index: index, hashes: hashes, checkpoint: try SignedNote(bytes: Array(bytes[(blank + 2)...]), what: what))
    }

    /// Checks the proof for `entry`: the checkpoint is signed by `logKey`
    /// (whose name is the origin) and cosigned by at least `requiredWitnesses`
    /// of `witnesses`, and the inclusion proof leads from the entry's leaf
    /// hash at `index` to the checkpoint's root. Returns the checkpoint.
    @discardableResult
    public func verify(entry: [UInt8], logKey: NoteVerifier, witnesses: [NoteVerifier] = [], requiredWitnesses: Int = 0,
                       what: String) throws -> SignedCheckpoint {
        let signed = try SignedCheckpoint(bytes: checkpoint.bytes, logKey: logKey, what: what)
        let cosigners = try signed.cosignerCount(witnesses)
        guard cosigners >= requiredWitnesses else {
            throw TransparencyLogError.cosignaturesMissing(required: requiredWitnesses, found: cosigners)
        }
        if let extra, extra != Self.label(for: entry) {
            let found = String(decoding: extra.prefix(300), as: UTF8.self)
            throw TransparencyLogError.proofForAnotherEntry(expected: Self.label(for: entry).map { String(decoding: $0, as: UTF8.self) } ?? "this entry",
                                                            found: found)
        }
        try InclusionProof.verify(leaf: Merkle.leafHash(entry), index: index, size: signed.checkpoint.size, proof: hashes,
                                  root: signed.checkpoint.root)
        return signed
    }

    /// The extra data modelsec puts in a proof: `name@version` for a
    /// release entry (so a proof for another release is named as such), nil
    /// for other entries. Unauthenticated: only used to explain a failure;
    /// the inclusion check decides.
    public static func label(for entry: [UInt8]) -> [UInt8]? {
        (try? ReleaseLogEntry(bytes: entry)).map { Array($0.release.utf8) }
    }
}
