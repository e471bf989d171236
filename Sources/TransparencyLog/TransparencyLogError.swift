import ModelSecIO

/// Every failure of the transparency log library: malformed notes, proofs,
/// tiles and entries (unusable input), and failed checks (a signature that
/// does not verify, a tile that does not match its entries, a fork).
public enum TransparencyLogError: ModelSecError, Equatable {
    /// A signed note is not well formed (`what` names the note or file).
    case malformedNote(what: String, reason: String)
    /// A checkpoint body is not a C2SP tlog-checkpoint.
    case malformedCheckpoint(what: String, reason: String)
    /// A tlog-proof file is not well formed.
    case malformedProof(what: String, reason: String)
    /// A log entry (or entry bundle) is not well formed.
    case malformedEntry(what: String, reason: String)
    /// A verifier key (vkey) or key name is not usable.
    case malformedKey(reason: String)
    /// A file or value is larger than the limit for its kind.
    case tooLarge(what: String, limit: Int)
    /// The log directory is not usable (missing, already initialised, locked).
    case logUnusable(path: String, reason: String)
    /// No signature by the expected key is on the note.
    case signatureMissing(what: String, keyName: String)
    /// A signature by a known key does not verify.
    case signatureInvalid(what: String, keyName: String)
    /// The checkpoint is for another log.
    case originMismatch(expected: String, actual: String)
    /// An entry in an entry bundle does not hash to the level-0 tile's hash.
    case entryChanged(index: UInt64, path: String)
    /// A tile's hashes differ from those recomputed from the entries.
    case tileMismatch(level: Int, index: UInt64, path: String)
    /// A tile or entry bundle holds more than the log wrote there (bytes
    /// appended to it, or a larger file put in its place).
    case altered(path: String, reason: String)
    /// The root hash recomputed from the log differs from the checkpoint's.
    case rootMismatch(size: UInt64)
    /// A tile or entry bundle the checkpoint needs is missing or short.
    case truncated(path: String, reason: String)
    /// An inclusion proof does not lead from the entry to the checkpoint root.
    case inclusionFailed(index: UInt64, size: UInt64)
    /// A consistency proof fails: the two tree heads are not one history.
    case inconsistent(oldSize: UInt64, newSize: UInt64)
    /// A newer checkpoint is smaller than one already seen.
    case rollback(oldSize: UInt64, newSize: UInt64)
    /// The proof carries another entry than the one being checked.
    case proofForAnotherEntry(expected: String, found: String)
    /// Fewer trusted witnesses cosigned than required.
    case cosignaturesMissing(required: Int, found: Int)
    /// An index or size is outside the tree.
    case indexOutOfRange(index: UInt64, size: UInt64)
    /// The release (`name@version`) has no entry in the log.
    case entryNotFound(release: String, log: String)
    /// The release signature did not verify with the keys the log accepts.
    case releaseSignatureRejected(path: String, reason: String)

    public var category: FailureCategory {
        switch self {
        case .malformedNote, .malformedCheckpoint, .malformedProof, .malformedEntry, .malformedKey, .tooLarge, .logUnusable,
             .indexOutOfRange:
            return .invalidInput
        case .signatureMissing, .signatureInvalid, .originMismatch, .entryChanged, .tileMismatch, .altered, .rootMismatch, .truncated,
             .inclusionFailed, .inconsistent, .rollback, .proofForAnotherEntry, .cosignaturesMissing, .entryNotFound,
             .releaseSignatureRejected:
            return .verificationFailed
        }
    }

    public var code: String {
        switch self {
        case .malformedNote: return "tlog.note-malformed"
        case .malformedCheckpoint: return "tlog.checkpoint-malformed"
        case .malformedProof: return "tlog.proof-malformed"
        case .malformedEntry: return "tlog.entry-malformed"
        case .malformedKey: return "tlog.key-malformed"
        case .tooLarge: return "tlog.too-large"
        case .logUnusable: return "tlog.log-unusable"
        case .signatureMissing: return "tlog.signature-missing"
        case .signatureInvalid: return "tlog.signature-invalid"
        case .originMismatch: return "tlog.origin-mismatch"
        case .entryChanged: return "tlog.entry-changed"
        case .tileMismatch: return "tlog.tile-mismatch"
        case .altered: return "tlog.file-altered"
        case .rootMismatch: return "tlog.root-mismatch"
        case .truncated: return "tlog.truncated"
        case .inclusionFailed: return "tlog.inclusion-failed"
        case .inconsistent: return "tlog.inconsistent"
        case .rollback: return "tlog.rollback"
        case .proofForAnotherEntry: return "tlog.proof-other-entry"
        case .cosignaturesMissing: return "tlog.cosignatures-missing"
        case .indexOutOfRange: return "tlog.index-out-of-range"
        case .entryNotFound: return "tlog.entry-not-found"
        case .releaseSignatureRejected: return "tlog.release-signature-rejected"
        }
    }

    public var path: String? {
        switch self {
        case let .logUnusable(path, _), let .entryChanged(_, path), let .tileMismatch(_, _, path), let .altered(path, _), let .truncated(path, _),
             let .entryNotFound(_, path), let .releaseSignatureRejected(path, _):
            return path
        default:
            return nil
        }
    }

    public var description: String {
        switch self {
        case let .malformedNote(what, reason): return "\(what): not a valid signed note: \(reason)"
        case let .malformedCheckpoint(what, reason): return "\(what): not a valid checkpoint: \(reason)"
        case let .malformedProof(what, reason): return "\(what): not a valid tlog-proof: \(reason)"
        case let .malformedEntry(what, reason): return "\(what): not a valid log entry: \(reason)"
        case let .malformedKey(reason): return "unusable note key: \(reason)"
        case let .tooLarge(what, limit): return "\(what) is larger than the limit of \(limit)"
        case let .logUnusable(path, reason): return "\(path): \(reason)"
        case let .signatureMissing(what, keyName):
            return "\(what) carries no signature by the key \(keyName) (signed by another key, or not signed)"
        case let .signatureInvalid(what, keyName): return "\(what): the signature by \(keyName) does not verify (the note was altered)"
        case let .originMismatch(expected, actual): return "the checkpoint is for the log \(actual), not \(expected)"
        case let .entryChanged(index, path): return "\(path): entry \(index) does not match the hash the log recorded for it (the entry was changed)"
        case let .tileMismatch(level, index, path):
            return "\(path): level-\(level) tile \(index) differs from the hashes recomputed from the entries (a tile was altered or reordered)"
        case let .rootMismatch(size): return "the log's tiles give another root hash than its checkpoint for size \(size) (the log was rewritten)"
        case let .truncated(path, reason): return "\(path): \(reason) (the log is truncated)"
        case let .altered(path, reason): return "\(path): \(reason) (the file was altered: it holds more than the log wrote)"
        case let .inclusionFailed(index, size): return "the inclusion proof for entry \(index) does not lead to the root of the tree of size \(size)"
        case let .inconsistent(oldSize, newSize):
            return "the tree of size \(newSize) is not an extension of the tree of size \(oldSize): the log forked or rewrote its history"
        case let .rollback(oldSize, newSize): return "the checkpoint's size \(newSize) is smaller than the size \(oldSize) already seen (the log was rolled back)"
        case let .proofForAnotherEntry(expected, found): return "the proof is for \(found), not for \(expected)"
        case let .cosignaturesMissing(required, found): return "\(found) trusted witness cosignature(s), \(required) required"
        case let .indexOutOfRange(index, size): return "index \(index) is outside the tree of size \(size)"
        case let .entryNotFound(release, log): return "\(log): the release \(release) is not in the log"
        case let .releaseSignatureRejected(path, reason): return "\(path): not logged: \(reason)"
        }
    }
}
