#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelSecCrypto
import ModelSecIO

/// `DIR/.leaf-index`: a directory log's local lookup table from leaf hash to
/// index, so that an append finds out whether an entry is logged already
/// with one 4 KiB read instead of reading every level-0 tile. It is a cache
/// the log never depends on: tlog-tiles clients ignore it, a missing,
/// damaged or foreign one is rebuilt from the tiles (checked against the
/// checkpoint), and nothing in it is believed unchecked.
///
/// - A **hit** names an index; it counts only once the leaf hash at that
///   index (from the level-0 tile) is the entry's and an inclusion proof
///   from the tiles leads to the verified checkpoint's root. Otherwise the
///   slot is passed over (a tag collision, or a forged slot).
/// - A **miss** is believed without proof. Whoever can write the index (but
///   not sign checkpoints) can therefore make an entry already logged look
///   new, and it is logged again: the same bytes at a second index. That is
///   wasteful but harmless: the log stays append-only and every proof
///   verifies, the entry cannot be hidden or replaced, and such a writer can
///   equally delete tiles and stop every append. docs/transparency-log.md
///   says so.
///
/// Layout: a 128-byte header (magic `MSLEAFIX`, slot-count exponent, the
/// tree size and root hash it covers, the number of filled slots, a random
/// 16-byte salt, and the first 8 bytes of SHA-256 over those fields), then
/// `2^bits + 256` slots of 16 bytes: an 8-byte tag and index + 1 (0: empty),
/// big-endian. An entry's slot is found by linear probing from the position
/// given by SHA-256(salt || leaf hash), within 256 slots (the table is at
/// most half full; a run longer than that rebuilds the table with a fresh
/// salt). Appends update it under the log's lock after the new checkpoint
/// is in place: the slots are written and flushed before the header says
/// they are covered, so a crash leaves a header that covers fewer entries
/// than the checkpoint, and the next append adds the missing ones from the
/// tiles.
struct LeafIndex {
    /// The file name in the log directory.
    static let fileName = ".leaf-index"
    static let headerBytes = 128
    static let slotBytes = 16
    /// Slots probed per lookup: one read of 4 KiB.
    static let window = 256
    static let magic = Array("MSLEAFIX".utf8)
    static let minimumBits = 10
    static let maximumBits = 36
    /// The largest table read into memory for a batch (2^26 slots, 1 GiB).
    static let maximumMemoryBytes = ((1 << 26) + window) * slotBytes

    let path: String
    private var fd: Int32
    /// The slots in memory, for a batch with more entries than reads would
    /// pay off: one read of the table, lookups and inserts in memory, and the
    /// whole file rewritten (temporary name, flush, rename) at ``commit(size:root:)``.
    private var slots: [UInt8]?
    private(set) var bits: Int
    /// The tree size whose leaves are all in the table.
    private(set) var covered: UInt64
    /// The root hash of the tree of `covered`.
    private(set) var root: TreeHash
    /// Filled slots.
    private(set) var count: UInt64
    /// The random salt of the slot positions (a rebuilt table gets a new one).
    let salt: [UInt8]

    var slotCount: UInt64 { UInt64(1) << UInt64(bits) }
    /// Filled slots the table takes before it is rebuilt larger.
    var capacity: UInt64 { slotCount / 2 }
    /// Bytes of the slot table.
    var tableBytes: Int { (Int(slotCount) + Self.window) * Self.slotBytes }
    /// Bytes one lookup or insert reads from the file.
    static var windowBytes: Int { window * slotBytes }

    /// Reads the whole slot table into memory (see ``slots``).
    mutating func loadAll() throws {
        guard slots == nil else { return }
        var table = [UInt8](repeating: 0, count: tableBytes)
        guard try Self.readFully(fd, &table, at: off_t(Self.headerBytes)) else {
            throw TransparencyLogError.truncated(path: path, reason: "shorter than its header says")
        }
        slots = table
    }

    private init(path: String, fd: Int32, bits: Int, covered: UInt64, root: TreeHash, count: UInt64, salt: [UInt8], slots: [UInt8]? = nil) {
        self.path = path
        self.slots = slots
        self.fd = fd
        self.bits = bits
        self.covered = covered
        self.root = root
        self.count = count
        self.salt = salt
    }

    /// Closes the file.
    func closeFile() { _ = close(fd) }

    // MARK: opening and building

    /// The index at `path` if its header is intact and it covers a prefix of
    /// `tree` (its root is the tree's root at its size); nil when it is
    /// missing or must be rebuilt. `readOnly` opens it for lookups only
    /// (a reader of the log, which must not need write access to DIR).
    static func load(path: String, tree: TiledTree, root currentRoot: TreeHash, readOnly: Bool = false) -> LeafIndex? {
        let fd = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        var keep = false
        defer { if !keep { _ = close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        var header = [UInt8](repeating: 0, count: headerBytes)
        guard (try? readFully(fd, &header, at: 0)) == true, Array(header[0..<8]) == magic,
              Array(header[80..<88]) == Array(SHA2.SHA256.hash(data: Array(header[0..<80])).bytes.prefix(8)) else { return nil }
        let bits = Int(clamping: be64(header, 8))
        let covered = be64(header, 16), count = be64(header, 24)
        guard (minimumBits...maximumBits).contains(bits), let root = TreeHash(bytes: Array(header[32..<64])) else { return nil }
        let slots = UInt64(1) << UInt64(bits)
        guard st.st_size == off_t(headerBytes) + off_t(slots + UInt64(window)) * off_t(slotBytes),
              covered <= tree.size, count <= slots / 2 else { return nil }
        // Of this log: its root is the tree's at its size (a prefix of the checkpoint's tree).
        if covered == tree.size {
            guard root == currentRoot else { return nil }
        } else if covered == 0 {
            guard root == TreeHash.empty else { return nil }
        } else {
            guard let prefix = try? tree.rootHash(size: covered), prefix == root else { return nil }
        }
        keep = true
        return LeafIndex(path: path, fd: fd, bits: bits, covered: covered, root: root, count: count, salt: Array(header[64..<80]))
    }

    /// Writes a new index at `path` holding the first index of each of
    /// `leaves` (the whole tree of `leaves.count` with root `root`), with
    /// room for `room` more entries, and opens it.
    static func build(path: String, leaves: [TreeHash], root: TreeHash, room: Int) throws -> LeafIndex {
        var bits = minimumBits
        while bits < maximumBits, (UInt64(1) << UInt64(bits)) / 2 < UInt64(leaves.count) + UInt64(room) { bits += 1 }
        var attempt = 0
        while true {
            var salt = [UInt8](repeating: 0, count: 16)
            var generator = SystemRandomNumberGenerator()
            for i in salt.indices { salt[i] = generator.next() }
            if let table = fill(leaves: leaves, bits: bits, salt: salt) {
                var bytes = header(bits: bits, covered: UInt64(leaves.count), root: root, count: table.count, salt: salt)
                bytes += table.slots
                var writer = DurableWriter()
                try writer.write(bytes, to: path)
                try writer.sync()
                let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
                guard fd >= 0 else { throw FileError(path: path, reason: FileIO.errnoDescription(errno)) }
                return LeafIndex(path: path, fd: fd, bits: bits, covered: UInt64(leaves.count), root: root, count: table.count, salt: salt,
                                 slots: table.slots)
            }
            // A probe run longer than the window: another salt, and more room after two tries.
            attempt += 1
            if attempt % 2 == 0, bits < maximumBits { bits += 1 }
            guard attempt < 8 else { throw TransparencyLogError.tooLarge(what: path, limit: Int(UInt64(1) << UInt64(maximumBits))) }
        }
    }

    private static func fill(leaves: [TreeHash], bits: Int, salt: [UInt8]) -> (slots: [UInt8], count: UInt64)? {
        let slots = Int(1) << bits
        var table = [UInt8](repeating: 0, count: (slots + window) * slotBytes)
        var seen = Set<TreeHash>(minimumCapacity: leaves.count)
        var count: UInt64 = 0
        for (index, leaf) in leaves.enumerated() where seen.insert(leaf).inserted {
            let (position, tag) = locate(leaf, bits: bits, salt: salt)
            var placed = false
            for slot in position..<(position + window) {
                let offset = slot * slotBytes
                if be64(table, offset + 8) == 0 {
                    put64(&table, offset, tag)
                    put64(&table, offset + 8, UInt64(index) + 1)
                    placed = true
                    break
                }
            }
            guard placed else { return nil }
            count += 1
        }
        return (table, count)
    }

    // MARK: lookups and inserts

    /// The indices the table holds for `leaf` (unverified), in probe order.
    func candidates(_ leaf: TreeHash) throws -> [UInt64] {
        let (position, tag) = Self.locate(leaf, bits: bits, salt: salt)
        return try withWindow(position) { window in
            var out: [UInt64] = []
            for i in 0..<Self.window {
                let value = Self.load64(window, i * Self.slotBytes + 8)
                if value == 0 { break }
                if Self.load64(window, i * Self.slotBytes) == tag { out.append(value - 1) }
            }
            return out
        }
    }

    /// Adds `leaf` at `index` (nothing when that slot is there already).
    /// False when the probe window is full: the table must be rebuilt.
    mutating func insert(_ leaf: TreeHash, index: UInt64) throws -> Bool {
        let (position, tag) = Self.locate(leaf, bits: bits, salt: salt)
        // The first empty slot of the run, or nil when the entry is there or the window is full.
        let free: Int?? = try withWindow(position) { window in
            for i in 0..<Self.window {
                let value = Self.load64(window, i * Self.slotBytes + 8)
                if value == index + 1, Self.load64(window, i * Self.slotBytes) == tag { return .some(nil) }
                if value == 0 { return .some(i) }
            }
            return nil
        }
        guard let free else { return false }
        guard let i = free else { return true }
        var slot = [UInt8](repeating: 0, count: Self.slotBytes)
        Self.put64(&slot, 0, tag)
        Self.put64(&slot, 8, index + 1)
        if slots != nil {
            slots!.replaceSubrange(((position + i) * Self.slotBytes)..<((position + i + 1) * Self.slotBytes), with: slot)
        } else {
            try writeFully(slot, at: Self.slotOffset(position + i))
        }
        count += 1
        return true
    }

    /// Flushes the slots written, then records that the table covers the
    /// tree of `size` with `root` (the header is written last).
    mutating func commit(size: UInt64, root: TreeHash) throws {
        if let slots {
            // In memory: the whole file anew, replacing the old one at once.
            var writer = DurableWriter()
            try writer.write(Self.header(bits: bits, covered: size, root: root, count: count, salt: salt) + slots, to: path)
            try writer.sync()
            let reopened = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            guard reopened >= 0 else { throw FileError(path: path, reason: FileIO.errnoDescription(errno)) }
            _ = close(fd)
            fd = reopened
        } else {
            guard fsync(fd) == 0 else { throw FileError(path: path, reason: "flush failed: \(FileIO.errnoDescription(errno))") }
            try writeFully(Self.header(bits: bits, covered: size, root: root, count: count, salt: salt), at: 0)
        }
        covered = size
        self.root = root
    }

    // MARK: encoding

    /// The first probe position and the tag of `leaf`.
    private static func locate(_ leaf: TreeHash, bits: Int, salt: [UInt8]) -> (Int, UInt64) {
        var hasher = SHA2.SHA256.hasher()
        hasher.update(salt)
        hasher.update(leaf.bytes)
        let digest = hasher.finalize().bytes
        return (Int(be64(digest, 0) >> UInt64(64 - bits)), be64(digest, 8))
    }

    private static func header(bits: Int, covered: UInt64, root: TreeHash, count: UInt64, salt: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: headerBytes)
        bytes.replaceSubrange(0..<8, with: magic)
        put64(&bytes, 8, UInt64(bits))
        put64(&bytes, 16, covered)
        put64(&bytes, 24, count)
        bytes.replaceSubrange(32..<64, with: root.bytes)
        bytes.replaceSubrange(64..<80, with: salt)
        bytes.replaceSubrange(80..<88, with: SHA2.SHA256.hash(data: Array(bytes[0..<80])).bytes.prefix(8))
        return bytes
    }

    private static func slotOffset(_ slot: Int) -> off_t { off_t(headerBytes) + off_t(slot) * off_t(slotBytes) }

    /// Calls `body` with the 256 slots from `position` (from memory, or one read).
    private func withWindow<R>(_ position: Int, _ body: (UnsafeRawBufferPointer) -> R) throws -> R {
        let start = position * Self.slotBytes
        if let slots {
            return slots.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + Self.windowBytes)])) }
        }
        var bytes = [UInt8](repeating: 0, count: Self.windowBytes)
        guard try Self.readFully(fd, &bytes, at: Self.slotOffset(position)) else {
            throw TransparencyLogError.truncated(path: path, reason: "shorter than its header says")
        }
        return bytes.withUnsafeBytes { body($0) }
    }

    private static func load64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Fills `buffer` from `offset`; false at end of file.
    private static func readFully(_ fd: Int32, _ buffer: inout [UInt8], at offset: off_t) throws -> Bool {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, offset + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: fileName, reason: FileIO.errnoDescription(errno))
            }
            if n == 0 { return false }
            done += n
        }
        return true
    }

    private func writeFully(_ bytes: [UInt8], at offset: off_t) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, offset + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, reason: FileIO.errnoDescription(errno))
            }
            done += n
        }
    }

    private static func be64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[offset + i]) }
        return value
    }

    private static func put64(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt64) {
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * i)) }
    }
}
