import ModelSecIO

/// The compact right edge of a Merkle tree: the root hashes of the complete
/// subtrees that make up a tree of `size` leaves (one per set bit of the
/// size, largest first). Enough to append leaves and compute the root
/// without reading any earlier leaf; at most 64 hashes.
public struct LogFrontier: Sendable, Equatable {
    /// Leaves in the tree.
    public private(set) var size: UInt64
    /// The complete subtrees' root hashes, left to right.
    public private(set) var hashes: [TreeHash]

    /// The empty tree.
    public init() {
        size = 0
        hashes = []
    }

    /// The frontier of a tree of `size` leaves stored as the concatenated
    /// hashes `bytes`; throws unless there is exactly one hash per set bit.
    public init(size: UInt64, bytes: [UInt8], what: String) throws {
        guard bytes.count == size.nonzeroBitCount * TreeHash.byteCount else {
            throw TransparencyLogError.truncated(path: what, reason: "the stored frontier holds \(bytes.count) bytes, a tree of \(size) needs \(size.nonzeroBitCount * TreeHash.byteCount)")
        }
        self.size = size
        hashes = stride(from: 0, to: bytes.count, by: TreeHash.byteCount).map { TreeHash(bytes: Array(bytes[$0..<($0 + TreeHash.byteCount)]))! }
    }

    /// The concatenated hashes (what a store keeps).
    public var bytes: [UInt8] { hashes.flatMap(\.bytes) }

    /// Appends a leaf hash: merges the complete subtrees it completes.
    public mutating func append(leaf: TreeHash) {
        var hash = leaf
        var bits = size
        while bits & 1 == 1 {
            hash = Merkle.nodeHash(hashes.removeLast(), hash)
            bits >>= 1
        }
        hashes.append(hash)
        size += 1
    }

    /// The tree's root hash (RFC 6962: the subtrees folded from the right).
    public var root: TreeHash {
        guard var root = hashes.last else { return TreeHash.empty }
        for hash in hashes.dropLast().reversed() { root = Merkle.nodeHash(hash, root) }
        return root
    }
}

/// One transparency log as a store keeps it (the log's row).
public struct StoredLog: Sendable, Equatable {
    /// The origin (the checkpoint's first line and the log key's name).
    public var origin: String
    /// The log's verifier key (`origin+keyid+base64`).
    public var vkey: String
    /// The frontier of the tree (its size is the log's size).
    public var frontier: LogFrontier
    /// The latest signed checkpoint, as note bytes.
    public var checkpoint: [UInt8]

    /// A log row.
    public init(origin: String, vkey: String, frontier: LogFrontier, checkpoint: [UInt8]) {
        self.origin = origin
        self.vkey = vkey
        self.frontier = frontier
        self.checkpoint = checkpoint
    }

    /// The log's key.
    public func verifier() throws -> NoteVerifier { try NoteVerifier(vkey: vkey) }

    /// The checkpoint, verified by the log's key, whose size and root must
    /// be the frontier's (a row changed behind the store's back is refused).
    public func signedCheckpoint(store: String) throws -> SignedCheckpoint {
        let what = "\(store) log \(origin)"
        let signed = try SignedCheckpoint(bytes: checkpoint, logKey: try verifier(), what: what)
        guard signed.checkpoint.size == frontier.size, signed.checkpoint.root == frontier.root else {
            throw TransparencyLogError.rootMismatch(size: frontier.size)
        }
        return signed
    }
}

/// What one store append did.
public struct StoredAppend: Sendable, Equatable {
    /// The index of each given entry, in order (an entry already in the log
    /// keeps its index).
    public var indices: [UInt64]
    /// How many entries were new.
    public var added: Int
    /// The log's checkpoint after the append (unchanged if nothing was new).
    public var checkpoint: SignedCheckpoint

    /// What an append did.
    public init(indices: [UInt64], added: Int, checkpoint: SignedCheckpoint) {
        self.indices = indices
        self.added = added
        self.checkpoint = checkpoint
    }
}

/// A transparency log kept in the shared store (SQLite file or PostgreSQL):
/// per origin, the entries in order with their leaf hashes, the frontier,
/// and the latest signed checkpoint. Both engines apply ``ReleaseLogRules``.
public protocol ReleaseLogStore: AnyObject {
    /// The store's name in messages (its redacted URL).
    var storeName: String { get }
    /// The log row of `origin`, or nil.
    func log(origin: String) throws -> StoredLog?
    /// Every log row, by origin.
    func logs() throws -> [StoredLog]
    /// Entries `[from, from + count)` of `origin`, in index order.
    func entries(origin: String, from: UInt64, count: Int) throws -> [[UInt8]]
    /// Appends `entries` in one transaction that holds the log's lock: an
    /// entry already present (same leaf hash) keeps its index, the new ones
    /// take the next indices, and a new checkpoint signed by `signer` is
    /// stored with them. With `create`, a missing log is created (empty,
    /// with `signer`'s key) in the same transaction.
    func append(origin: String, entries: [[UInt8]], signer: NoteSigner, create: Bool) throws -> StoredAppend
    /// Stores a whole log (its row and every entry) in one transaction; the
    /// origin must not exist yet. Used by `store copy` and to move a
    /// directory log into the store.
    func importLog(_ log: StoredLog, entries: [[UInt8]]) throws
}

/// The rules every engine applies inside its append transaction.
public enum ReleaseLogRules {
    /// Entries fetched per query when reading a log back.
    public static let pageSize = 4096
    /// Longest origin accepted.
    public static let maxOriginBytes = 1024
    /// Most entries in one append.
    public static let maxBatch = 100_000

    /// An empty log of `signer`: its row with a signed size-0 checkpoint.
    public static func emptyLog(signer: NoteSigner) throws -> StoredLog {
        try checkOrigin(signer.name)
        let signed = try SignedCheckpoint(checkpoint: Checkpoint(origin: signer.name, size: 0, root: TreeHash.empty), signer: signer)
        return StoredLog(origin: signer.name, vkey: signer.verifier.vkey, frontier: LogFrontier(), checkpoint: signed.note.bytes)
    }

    /// Refuses an origin that could not be a checkpoint's first line.
    public static func checkOrigin(_ origin: String) throws {
        guard NoteKeyName.isValid(origin), origin.utf8.count <= maxOriginBytes else {
            throw TransparencyLogError.malformedKey(reason: "the origin must be 1 to \(maxOriginBytes) bytes, without spaces or +")
        }
    }

    /// A new entry to insert.
    public struct Insert: Sendable, Equatable {
        /// Its index.
        public var index: UInt64
        /// Its RFC 6962 leaf hash.
        public var leafHash: TreeHash
        /// Its bytes.
        public var entry: [UInt8]
    }

    /// The plan of one append.
    public struct Plan: Sendable {
        /// The index of each given entry.
        public var indices: [UInt64]
        /// The rows to insert, in index order.
        public var inserts: [Insert]
        /// The log row after the append (frontier and checkpoint updated
        /// when something was new).
        public var log: StoredLog
        /// The checkpoint after the append.
        public var checkpoint: SignedCheckpoint
    }

    /// The leaf hashes of `entries` (after checking their sizes and the batch size).
    public static func leafHashes(_ entries: [[UInt8]]) throws -> [TreeHash] {
        guard !entries.isEmpty, entries.count <= maxBatch else {
            throw TransparencyLogError.tooLarge(what: "one append (entries)", limit: maxBatch)
        }
        return try entries.map { entry in
            guard entry.count <= EntryBundle.maxEntryBytes else {
                throw TransparencyLogError.tooLarge(what: "a log entry", limit: EntryBundle.maxEntryBytes)
            }
            return Merkle.leafHash(entry)
        }
    }

    /// Plans an append to `log` (read under the log's lock): `existing`
    /// maps the leaf hashes already in the log to their indices. Checks the
    /// signer is the log's key and the stored checkpoint matches the
    /// frontier, assigns indices, extends the frontier and signs the new
    /// checkpoint.
    public static func plan(log: StoredLog, entries: [[UInt8]], leafHashes: [TreeHash], existing: [TreeHash: UInt64],
                            signer: NoteSigner, store: String) throws -> Plan {
        guard Array(signer.verifier.vkey.utf8) == Array(log.vkey.utf8) else {
            throw TransparencyLogError.malformedKey(reason: "the signing key is not the key of the log \(log.origin) in \(store)")
        }
        let current = try log.signedCheckpoint(store: store)
        var frontier = log.frontier
        var assigned = existing
        var indices: [UInt64] = []
        var inserts: [Insert] = []
        for (entry, leaf) in zip(entries, leafHashes) {
            if let index = assigned[leaf] {
                indices.append(index)
                continue
            }
            let index = frontier.size
            frontier.append(leaf: leaf)
            assigned[leaf] = index
            indices.append(index)
            inserts.append(Insert(index: index, leafHash: leaf, entry: entry))
        }
        guard !inserts.isEmpty else { return Plan(indices: indices, inserts: [], log: log, checkpoint: current) }
        let next = try SignedCheckpoint(checkpoint: Checkpoint(origin: log.origin, size: frontier.size, root: frontier.root), signer: signer)
        var updated = log
        updated.frontier = frontier
        updated.checkpoint = next.note.bytes
        return Plan(indices: indices, inserts: inserts, log: updated, checkpoint: next)
    }

    /// Checks a whole log before it is imported: entries rebuild the
    /// frontier and the checkpoint verifies against it.
    public static func checkImport(_ log: StoredLog, entries: [[UInt8]], store: String) throws {
        try checkOrigin(log.origin)
        guard UInt64(entries.count) == log.frontier.size else { throw TransparencyLogError.rootMismatch(size: log.frontier.size) }
        var frontier = LogFrontier()
        for entry in entries {
            guard entry.count <= EntryBundle.maxEntryBytes else {
                throw TransparencyLogError.tooLarge(what: "a log entry", limit: EntryBundle.maxEntryBytes)
            }
            frontier.append(leaf: Merkle.leafHash(entry))
        }
        guard frontier == log.frontier else { throw TransparencyLogError.rootMismatch(size: frontier.size) }
        _ = try log.signedCheckpoint(store: store)
    }

    /// Every entry of `origin` in `store`, in index order.
    public static func allEntries(_ store: any ReleaseLogStore, log: StoredLog) throws -> [[UInt8]] {
        var result: [[UInt8]] = []
        while UInt64(result.count) < log.frontier.size {
            let count = Int(min(UInt64(pageSize), log.frontier.size - UInt64(result.count)))
            let page = try store.entries(origin: log.origin, from: UInt64(result.count), count: count)
            guard page.count == count else {
                throw TransparencyLogError.truncated(path: "\(store.storeName) log \(log.origin)", reason: "entries from \(result.count) are missing")
            }
            result += page
        }
        return result
    }
}
