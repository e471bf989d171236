/// A strict, bounded reader of zip archives that refuses every archive two
/// zip readers could read differently.
///
/// Why hand-written rather than ZIPFoundation: a scanner must fail closed on
/// malformed and ambiguous archives. The loaders that matter read zips
/// differently: Python's `zipfile` (numpy) takes the *last* `PK\x05\x06` in the
/// final 64 KiB + 22 bytes without checking its comment length, assumes the
/// zip64 record sits right before its locator, shifts every offset by data
/// prepended to the archive, decodes names as cp437 unless flag bit 11 is set
/// and cuts them at NUL; miniz (PyTorch) follows the zip64 locator's offset
/// and finds names case-insensitively (ASCII); streaming readers trust local
/// headers. So this reader requires one reading for all of them:
/// - exactly one end-of-central-directory record, the last signature in the
///   search window, whose comment reaches exactly the end of the file and
///   holds no zip signature;
/// - with zip64: the locator at the record's position minus 20, the zip64
///   record right before it (size 44, no extensible data), and classic fields
///   either saturated or equal to the zip64 ones;
/// - a central directory that ends where the (zip64) end record starts and
///   whose entries fill it exactly (so nothing is prepended or appended);
/// - names that are valid UTF-8 without NUL or backslash, non-ASCII only with
///   flag bit 11, unique even when compared ASCII-case-insensitively;
/// - at most one zip64 extra field per entry, supplying every saturated field;
/// - for every entry, a local header that agrees with the central entry (name
///   bytes, flags, method, and CRC/sizes unless a data descriptor follows,
///   whose values must then agree too);
/// - entries that tile the file from offset 0 to the central directory with
///   no gap and no overlap.
/// Entry data is read only within its bounds, inflated with a bounded
/// decoder, and checked against the declared size and CRC-32.
struct ZipArchive {
    /// One entry (central directory values, checked against its local header).
    struct Entry {
        let name: String
        let flags: UInt16
        let method: UInt16
        let crc32: UInt32
        let compressedSize: UInt64
        let uncompressedSize: UInt64
        let localHeaderOffset: UInt64
        /// Where the entry's data starts (after the local header, name and extra field).
        let dataOffset: UInt64

        var isEncrypted: Bool { flags & 0x0001 != 0 || flags & 0x0040 != 0 }
        var isDirectory: Bool { name.hasSuffix("/") }
    }

    /// Why the archive (or one entry) cannot be read.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    let file: RandomAccessFile
    let entries: [Entry]
    /// Where the central directory starts (entry data ends there).
    let centralDirectoryOffset: UInt64

    /// The zip record signatures a comment must not contain.
    private static let signatures: [[UInt8]] = [
        [0x50, 0x4B, 0x01, 0x02], [0x50, 0x4B, 0x03, 0x04], [0x50, 0x4B, 0x05, 0x06],
        [0x50, 0x4B, 0x06, 0x06], [0x50, 0x4B, 0x06, 0x07], [0x50, 0x4B, 0x07, 0x08],
    ]

    /// Reads and validates the whole structure of `file`.
    init(file: RandomAccessFile, limits: ScanLimits) throws {
        self.file = file
        let size = file.size
        guard size >= 22 else { throw Failure("too short to be a zip archive") }
        // Python's zipfile searches the last 64 KiB + 22 bytes; miniz a little less.
        let tailLength = Int(min(size, 65_536 + 22))
        let tail = try file.read(at: size - UInt64(tailLength), count: tailLength)
        guard let eocd = ZipArchive.lastIndex(of: [0x50, 0x4B, 0x05, 0x06], in: tail) else {
            throw Failure("no end-of-central-directory record at the end of the file")
        }
        guard eocd + 22 <= tail.count, Int(le16(tail, eocd + 20)) == tail.count - eocd - 22 else {
            throw Failure("the last end-of-central-directory signature is not a record whose comment reaches the end of the file (readers would disagree on which record to use)")
        }
        let comment = tail[(eocd + 22)...]
        for signature in ZipArchive.signatures where ZipArchive.lastIndex(of: signature, in: Array(comment)) != nil {
            throw Failure("the archive comment contains a zip record signature (readers that search for records would disagree)")
        }
        let eocdOffset = size - UInt64(tail.count - eocd)
        let diskNumber = le16(tail, eocd + 4), cdDisk = le16(tail, eocd + 6)
        let classicOnDisk = UInt64(le16(tail, eocd + 8)), classicTotal = UInt64(le16(tail, eocd + 10))
        let classicSize = UInt64(le32(tail, eocd + 12)), classicOffset = UInt64(le32(tail, eocd + 16))
        var entriesOnDisk = classicOnDisk, totalEntries = classicTotal, cdSize = classicSize, cdOffset = classicOffset
        var cdEnd = eocdOffset

        let needsZip64 = classicOnDisk == 0xFFFF || classicTotal == 0xFFFF || classicSize == 0xFFFF_FFFF || classicOffset == 0xFFFF_FFFF
        let locator = eocdOffset >= 20 ? try file.read(at: eocdOffset - 20, count: 20) : []
        if locator.count == 20, le32(locator, 0) == 0x0706_4B50 {
            guard le32(locator, 4) == 0, le32(locator, 16) <= 1 else { throw Failure("multi-disk zip64 archives are not supported") }
            // Python's zipfile ignores the locator's offset and reads the 56 bytes before it.
            guard eocdOffset >= 76, le64(locator, 8) == eocdOffset - 76 else {
                throw Failure("zip64 end-of-central-directory record is not right before its locator (readers would disagree on where it is)")
            }
            let zip64Offset = eocdOffset - 76
            let record = try file.read(at: zip64Offset, count: 56)
            guard le32(record, 0) == 0x0606_4B50 else { throw Failure("bad zip64 end-of-central-directory signature") }
            guard le64(record, 4) == 44 else { throw Failure("zip64 end-of-central-directory record with extensible data is not supported") }
            guard le32(record, 16) == 0, le32(record, 20) == 0 else { throw Failure("multi-disk archives are not supported") }
            entriesOnDisk = le64(record, 24)
            totalEntries = le64(record, 32)
            cdSize = le64(record, 40)
            cdOffset = le64(record, 48)
            cdEnd = zip64Offset
            guard (classicOnDisk == 0xFFFF || classicOnDisk == entriesOnDisk), (classicTotal == 0xFFFF || classicTotal == totalEntries),
                  (classicSize == 0xFFFF_FFFF || classicSize == cdSize), (classicOffset == 0xFFFF_FFFF || classicOffset == cdOffset) else {
                throw Failure("the classic and zip64 end records disagree (readers that ignore zip64 would read another directory)")
            }
        } else if needsZip64 {
            throw Failure("archive needs zip64 but has no zip64 locator")
        }
        guard diskNumber == 0 || diskNumber == 0xFFFF, cdDisk == 0 || cdDisk == 0xFFFF, entriesOnDisk == totalEntries else {
            throw Failure("multi-disk archives are not supported")
        }
        guard totalEntries <= UInt64(limits.maxZipEntries) else {
            throw Failure("\(totalEntries) entries, more than the \(limits.maxZipEntries)-entry limit")
        }
        guard cdOffset <= cdEnd, cdSize == cdEnd - cdOffset else {
            throw Failure("central directory size/offset do not match its position in the file (prepended or appended data?)")
        }
        // 46 fixed bytes plus names, extras and comments: 4 KiB an entry on average is far above real archives.
        guard cdSize <= UInt64(max(totalEntries, 1)) * 4096, cdSize <= 1 << 24 else {
            throw Failure("central directory of \(cdSize) bytes is implausibly large for \(totalEntries) entries")
        }
        let directory = try file.read(at: cdOffset, count: Int(cdSize))
        let central = try ZipArchive.readCentralDirectory(directory, count: Int(totalEntries))
        self.entries = try central.map { try ZipArchive.checkLocalHeader(of: $0, in: file, before: cdOffset) }
        self.centralDirectoryOffset = cdOffset
        try ZipArchive.checkTiling(entries, file: file, centralDirectoryOffset: cdOffset)
    }

    /// A central directory entry before its local header is read.
    private struct CentralEntry {
        let name: String
        let nameBytes: [UInt8]
        let flags: UInt16
        let method: UInt16
        let crc32: UInt32
        let compressedSize: UInt64
        let uncompressedSize: UInt64
        let localHeaderOffset: UInt64
    }

    private static func readCentralDirectory(_ directory: [UInt8], count: Int) throws -> [CentralEntry] {
        var entries: [CentralEntry] = []
        var exactNames = Set<[UInt8]>(), foldedNames = Set<[UInt8]>()
        var cursor = 0
        for number in 0..<count {
            guard cursor + 46 <= directory.count, le32(directory, cursor) == 0x0201_4B50 else {
                throw Failure("central directory entry \(number) is truncated or has a bad signature")
            }
            let flags = le16(directory, cursor + 8), method = le16(directory, cursor + 10)
            let crc = le32(directory, cursor + 16)
            var compressed = UInt64(le32(directory, cursor + 20)), uncompressed = UInt64(le32(directory, cursor + 24))
            let nameLength = Int(le16(directory, cursor + 28)), extraLength = Int(le16(directory, cursor + 30))
            let commentLength = Int(le16(directory, cursor + 32))
            let disk = le16(directory, cursor + 34)
            var localOffset = UInt64(le32(directory, cursor + 42))
            let nameStart = cursor + 46
            let extraStart = nameStart + nameLength
            let next = extraStart + extraLength + commentLength
            guard next <= directory.count else { throw Failure("central directory entry \(number) runs past the directory") }
            let nameBytes = Array(directory[nameStart..<extraStart])
            let name = try checkedName(nameBytes, flags: flags, number: number)
            // Zip64 extended information: present fields follow the order of those set to 0xFFFFFFFF.
            let extras = try extraFields(directory, from: extraStart, to: extraStart + extraLength, entry: name)
            let zip64 = extras.filter { $0.tag == 0x0001 }
            guard zip64.count <= 1 else { throw Failure("entry \(name.debugDescription) has more than one zip64 extra field") }
            if let field = zip64.first {
                var at = field.start
                func take() throws -> UInt64 {
                    guard at + 8 <= field.end else { throw Failure("entry \(name.debugDescription): zip64 field is too short") }
                    defer { at += 8 }
                    return le64(directory, at)
                }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try take() }
                if compressed == 0xFFFF_FFFF { compressed = try take() }
                if localOffset == 0xFFFF_FFFF { localOffset = try take() }
            } else if uncompressed == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF {
                throw Failure("entry \(name.debugDescription) has a saturated size or offset without a zip64 extra field")
            }
            guard disk == 0 || disk == 0xFFFF else { throw Failure("entry \(name.debugDescription) is on another disk") }
            guard !exactNames.contains(nameBytes) else {
                throw Failure("duplicate entry name \(name.debugDescription) (a loader may read either copy)")
            }
            let folded = nameBytes.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
            guard !foldedNames.contains(folded) else {
                throw Failure("entry names that differ only in case (\(name.debugDescription)): PyTorch's reader finds names case-insensitively")
            }
            exactNames.insert(nameBytes)
            foldedNames.insert(folded)
            entries.append(CentralEntry(name: name, nameBytes: nameBytes, flags: flags, method: method, crc32: crc,
                                        compressedSize: compressed, uncompressedSize: uncompressed, localHeaderOffset: localOffset))
            cursor = next
        }
        guard cursor == directory.count else { throw Failure("central directory has \(directory.count - cursor) unexplained trailing bytes") }
        return entries
    }

    /// An entry name every reader reads the same way.
    private static func checkedName(_ bytes: [UInt8], flags: UInt16, number: Int) throws -> String {
        guard !bytes.isEmpty else { throw Failure("central directory entry \(number) has an empty name") }
        guard let name = String(validating: bytes, as: UTF8.self) else {
            throw Failure("central directory entry \(number) has a name that is not UTF-8")
        }
        guard !bytes.contains(0) else { throw Failure("entry \(name.debugDescription) has a NUL in its name (Python's zipfile cuts the name there)") }
        guard !bytes.contains(0x5C) else {
            throw Failure("entry \(name.debugDescription) has a backslash in its name (some readers take it as a directory separator)")
        }
        if bytes.contains(where: { $0 >= 0x80 }), flags & 0x0800 == 0 {
            throw Failure("entry \(name.debugDescription) has a non-ASCII name without the UTF-8 flag (Python's zipfile reads it as cp437)")
        }
        return name
    }

    /// The extra fields in `bytes[from..<to]`: tag and data range; they must fill the area exactly.
    private static func extraFields(_ bytes: [UInt8], from: Int, to: Int, entry: String) throws -> [(tag: UInt16, start: Int, end: Int)] {
        var fields: [(tag: UInt16, start: Int, end: Int)] = []
        var at = from
        while at + 4 <= to {
            let tag = le16(bytes, at), length = Int(le16(bytes, at + 2))
            guard at + 4 + length <= to else { throw Failure("entry \(entry.debugDescription): extra field overruns") }
            fields.append((tag, at + 4, at + 4 + length))
            at += 4 + length
        }
        return fields
    }

    /// Reads `entry`'s local header and checks it against the central directory.
    private static func checkLocalHeader(of entry: CentralEntry, in file: RandomAccessFile, before cdOffset: UInt64) throws -> Entry {
        let label = entry.name.debugDescription
        guard entry.localHeaderOffset <= cdOffset, cdOffset - entry.localHeaderOffset >= 30 else {
            throw Failure("entry \(label) has its local header outside the entry area")
        }
        let header = try file.read(at: entry.localHeaderOffset, count: 30)
        guard le32(header, 0) == 0x0403_4B50 else { throw Failure("entry \(label) has no local header at its offset") }
        let localFlags = le16(header, 6), localMethod = le16(header, 8)
        let nameLength = Int(le16(header, 26)), extraLength = Int(le16(header, 28))
        let variable = UInt64(nameLength + extraLength)
        guard variable <= cdOffset - entry.localHeaderOffset - 30 else { throw Failure("entry \(label): local header runs into the central directory") }
        let rest = try file.read(at: entry.localHeaderOffset + 30, count: nameLength + extraLength)
        guard nameLength == entry.nameBytes.count, rest[0..<nameLength].elementsEqual(entry.nameBytes) else {
            throw Failure("entry \(label): local header names a different file")
        }
        guard localFlags == entry.flags else { throw Failure("entry \(label): local header disagrees on the flags") }
        guard localMethod == entry.method else { throw Failure("entry \(label): local header disagrees on the compression method") }
        var localCompressed = UInt64(le32(header, 18)), localUncompressed = UInt64(le32(header, 22))
        let localCRC = le32(header, 14)
        let localExtras = try extraFields(rest, from: nameLength, to: rest.count, entry: entry.name)
        let localZip64 = localExtras.filter { $0.tag == 0x0001 }
        guard localZip64.count <= 1 else { throw Failure("entry \(label): local header has more than one zip64 extra field") }
        if let field = localZip64.first, localUncompressed == 0xFFFF_FFFF || localCompressed == 0xFFFF_FFFF {
            // The local zip64 field holds both sizes, uncompressed first.
            guard field.end - field.start >= 16 else { throw Failure("entry \(label): local zip64 field is too short") }
            localUncompressed = le64(rest, field.start)
            localCompressed = le64(rest, field.start + 8)
        }
        if entry.flags & 0x0008 == 0 {
            guard localCRC == entry.crc32, localCompressed == entry.compressedSize, localUncompressed == entry.uncompressedSize else {
                throw Failure("entry \(label): local header disagrees on the CRC or sizes (streaming readers would read other data)")
            }
        } else {
            guard localCRC == 0 || localCRC == entry.crc32,
                  localCompressed == 0 || localCompressed == entry.compressedSize,
                  localUncompressed == 0 || localUncompressed == entry.uncompressedSize else {
                throw Failure("entry \(label): local header disagrees on the CRC or sizes")
            }
        }
        let dataOffset = entry.localHeaderOffset + 30 + variable
        let (dataEnd, overflow) = dataOffset.addingReportingOverflow(entry.compressedSize)
        guard !overflow, dataEnd <= cdOffset else { throw Failure("entry \(label): data runs into the central directory") }
        return Entry(name: entry.name, flags: entry.flags, method: entry.method, crc32: entry.crc32,
                     compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize,
                     localHeaderOffset: entry.localHeaderOffset, dataOffset: dataOffset)
    }

    /// Entries must cover the file from offset 0 to the central directory,
    /// each followed directly by the next: nothing hidden between them.
    private static func checkTiling(_ entries: [Entry], file: RandomAccessFile, centralDirectoryOffset: UInt64) throws {
        let ordered = entries.sorted(by: { $0.localHeaderOffset < $1.localHeaderOffset })
        var expected: UInt64 = 0
        for (index, entry) in ordered.enumerated() {
            guard entry.localHeaderOffset == expected else {
                throw Failure(entry.localHeaderOffset < expected
                              ? "entry \(entry.name.debugDescription) overlaps the previous entry"
                              : "\(entry.localHeaderOffset - expected) bytes before entry \(entry.name.debugDescription) belong to no entry (prepended or hidden data)")
            }
            expected = entry.dataOffset + entry.compressedSize
            if entry.flags & 0x0008 != 0 {
                // The descriptor's form (signature or not, 32- or 64-bit sizes) is
                // the one that leads exactly to the next entry or the directory.
                let next = index + 1 < ordered.count ? ordered[index + 1].localHeaderOffset : centralDirectoryOffset
                let lengths = try descriptorLengths(after: entry, file: file, limit: centralDirectoryOffset)
                guard let length = lengths.first(where: { expected + $0 == next }) else {
                    throw Failure("entry \(entry.name.debugDescription): data descriptor is missing, disagrees with the central directory, or is followed by unexplained bytes")
                }
                expected += length
            }
        }
        guard expected == centralDirectoryOffset else {
            throw Failure("\(centralDirectoryOffset > expected ? centralDirectoryOffset - expected : 0) bytes before the central directory belong to no entry")
        }
    }

    /// The lengths a data descriptor after `entry`'s data can have while
    /// repeating its CRC and sizes: 12 or 20 bytes (32- or 64-bit sizes), plus 4 with the signature.
    private static func descriptorLengths(after entry: Entry, file: RandomAccessFile, limit: UInt64) throws -> [UInt64] {
        let start = entry.dataOffset + entry.compressedSize
        let bytes = try file.read(at: start, count: Int(min(limit - start, 24)))
        var lengths: [UInt64] = []
        for base in [0, 4] where base == 0 || (bytes.count >= 4 && le32(bytes, 0) == 0x0807_4B50) {
            if bytes.count >= base + 12, le32(bytes, base) == entry.crc32,
               UInt64(le32(bytes, base + 4)) == entry.compressedSize, UInt64(le32(bytes, base + 8)) == entry.uncompressedSize {
                lengths.append(UInt64(base + 12))
            }
            if bytes.count >= base + 20, le32(bytes, base) == entry.crc32,
               le64(bytes, base + 4) == entry.compressedSize, le64(bytes, base + 12) == entry.uncompressedSize {
                lengths.append(UInt64(base + 20))
            }
        }
        return lengths
    }

    /// The last index where `needle` starts in `haystack`.
    private static func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = haystack.count - needle.count
        while index >= 0 {
            if haystack[index] == needle[0], haystack[index + 1] == needle[1], haystack[index + 2] == needle[2], haystack[index + 3] == needle[3] {
                return index
            }
            index -= 1
        }
        return nil
    }

    /// Why `entry` cannot be read, or nil when its method and flags are supported.
    func unsupportedReason(_ entry: Entry) -> String? {
        if entry.isEncrypted { return "is encrypted" }
        if entry.flags & 0x2000 != 0 { return "has a masked (encrypted) central directory" }
        if entry.flags & 0x0020 != 0 { return "is compressed patched data" }
        if entry.method != 0 && entry.method != 8 { return "uses compression method \(entry.method) (only stored and deflate are supported)" }
        return nil
    }

    /// The first `count` uncompressed bytes of `entry` (fewer when it is
    /// shorter), without reading or checking the rest (used for .npy headers
    /// and content sniffing of large members, whose data the scanner does not need).
    func prefix(of entry: Entry, count: Int) throws -> [UInt8] {
        if let reason = unsupportedReason(entry) { throw Failure("entry \(entry.name) \(reason)") }
        if entry.method == 0 {
            guard entry.compressedSize == entry.uncompressedSize else { throw Failure("entry \(entry.name): stored sizes disagree") }
            return try file.read(at: entry.dataOffset, count: Int(min(entry.compressedSize, UInt64(count))))
        }
        // `count` output bytes normally need at most `count` input bytes plus block
        // headers and code tables; if hostile input needs more, the prefix read
        // fails and the entry is reported unreadable (fail closed).
        let input = try file.read(at: entry.dataOffset, count: Int(min(entry.compressedSize, UInt64(count) + 65_536)))
        do {
            return try Inflate.prefix(input, count: Int(min(entry.uncompressedSize, UInt64(count))))
        } catch {
            throw Failure("entry \(entry.name): \(error)")
        }
    }

    /// The uncompressed bytes of `entry` as a pickle input, checked against
    /// its declared sizes and CRC-32: a stored entry is read in place through
    /// a bounded window (its CRC computed chunk by chunk), a deflated one is
    /// inflated into memory and refused when larger than `inMemoryLimit`.
    func source(of entry: Entry, inMemoryLimit: Int) throws -> ByteSource {
        if let reason = unsupportedReason(entry) { throw Failure("entry \(entry.name) \(reason)") }
        guard entry.method == 0 else { return ByteSource(try contents(of: entry, limit: inMemoryLimit)) }
        guard entry.compressedSize == entry.uncompressedSize else { throw Failure("entry \(entry.name): stored sizes disagree") }
        guard entry.uncompressedSize <= UInt64(Int.max) else { throw Failure("entry \(entry.name) is too large") }
        var crc: UInt32 = 0
        var done: UInt64 = 0
        while done < entry.uncompressedSize {
            let chunk = Int(min(entry.uncompressedSize - done, UInt64(ByteSource.windowSize)))
            crc = CRC32.update(crc, try file.read(at: entry.dataOffset + done, count: chunk))
            done += UInt64(chunk)
        }
        guard crc == entry.crc32 else { throw Failure("entry \(entry.name): CRC-32 mismatch") }
        return ByteSource(file: file, offset: entry.dataOffset, count: Int(entry.uncompressedSize))
    }

    /// The uncompressed bytes of `entry`, checked against its declared sizes
    /// and CRC-32; refuses entries larger than `limit`.
    func contents(of entry: Entry, limit: Int) throws -> [UInt8] {
        if let reason = unsupportedReason(entry) { throw Failure("entry \(entry.name) \(reason)") }
        guard entry.uncompressedSize <= UInt64(limit), entry.compressedSize <= UInt64(limit) else {
            throw Failure("entry \(entry.name) is \(entry.uncompressedSize) bytes, more than the \(limit)-byte limit")
        }
        let raw = try file.read(at: entry.dataOffset, count: Int(entry.compressedSize))
        let data: [UInt8]
        if entry.method == 0 {
            guard entry.compressedSize == entry.uncompressedSize else { throw Failure("entry \(entry.name): stored sizes disagree") }
            data = raw
        } else {
            do {
                data = try Inflate.decompress(raw, limit: Int(entry.uncompressedSize))
            } catch {
                throw Failure("entry \(entry.name): \(error)")
            }
            guard UInt64(data.count) == entry.uncompressedSize else {
                throw Failure("entry \(entry.name): inflates to \(data.count) bytes, not the declared \(entry.uncompressedSize)")
            }
        }
        guard CRC32.checksum(data) == entry.crc32 else { throw Failure("entry \(entry.name): CRC-32 mismatch") }
        return data
    }
}

@inline(__always) func le16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
    UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
}

@inline(__always) func le32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    UInt32(le16(bytes, at)) | UInt32(le16(bytes, at + 2)) << 16
}

@inline(__always) func le64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
    UInt64(le32(bytes, at)) | UInt64(le32(bytes, at + 4)) << 32
}
