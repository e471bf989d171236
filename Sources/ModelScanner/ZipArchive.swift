/// A strict, bounded reader of a zip archive's central directory.
///
/// Why hand-written rather than ZIPFoundation: a scanner must fail closed on
/// malformed archives and must not trust local headers. This reader takes
/// every entry from the central directory (the table the loaders use),
/// requires the end-of-central-directory record to sit exactly at the end of
/// the file, supports zip64, rejects multi-disk archives, duplicate names,
/// entries whose data overlaps another entry or the central directory, local
/// headers that disagree with the central directory, and then reads an
/// entry's data only within its declared bounds, checking sizes and CRC-32.
struct ZipArchive {
    /// One central-directory entry.
    struct Entry {
        let name: String
        let flags: UInt16
        let method: UInt16
        let crc32: UInt32
        let compressedSize: UInt64
        let uncompressedSize: UInt64
        let localHeaderOffset: UInt64

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
    /// Where the central directory starts (entry data must end before it).
    let centralDirectoryOffset: UInt64

    /// Reads and validates the central directory of `file`.
    init(file: RandomAccessFile, limits: ScanLimits) throws {
        self.file = file
        let size = file.size
        guard size >= 22 else { throw Failure("too short to be a zip archive") }
        // The EOCD record: 22 bytes plus a comment of up to 65535 bytes.
        let tailLength = Int(min(size, 22 + 65_535))
        let tail = try file.read(at: size - UInt64(tailLength), count: tailLength)
        var eocdIndex: Int?
        var index = tail.count - 22
        while index >= 0 {
            if tail[index] == 0x50, tail[index + 1] == 0x4B, tail[index + 2] == 0x05, tail[index + 3] == 0x06,
               Int(le16(tail, index + 20)) == tail.count - index - 22 {
                eocdIndex = index
                break
            }
            index -= 1
        }
        guard let eocd = eocdIndex else {
            throw Failure("no end-of-central-directory record at the end of the file")
        }
        let eocdOffset = size - UInt64(tail.count - eocd)
        let diskNumber = le16(tail, eocd + 4), cdDisk = le16(tail, eocd + 6)
        var entriesOnDisk = UInt64(le16(tail, eocd + 8)), totalEntries = UInt64(le16(tail, eocd + 10))
        var cdSize = UInt64(le32(tail, eocd + 12)), cdOffset = UInt64(le32(tail, eocd + 16))
        var cdEnd = eocdOffset

        let needsZip64 = entriesOnDisk == 0xFFFF || totalEntries == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF
        if eocdOffset >= 20 {
            let locator = try file.read(at: eocdOffset - 20, count: 20)
            if le32(locator, 0) == 0x0706_4B50 {
                let zip64Offset = le64(locator, 8)
                guard le32(locator, 4) == 0, le32(locator, 16) <= 1 else { throw Failure("multi-disk zip64 archives are not supported") }
                guard zip64Offset <= eocdOffset - 20, eocdOffset - 20 - zip64Offset >= 56 else {
                    throw Failure("zip64 end-of-central-directory record is out of bounds")
                }
                let record = try file.read(at: zip64Offset, count: 56)
                guard le32(record, 0) == 0x0606_4B50 else { throw Failure("bad zip64 end-of-central-directory signature") }
                guard le32(record, 16) == 0, le32(record, 20) == 0 else { throw Failure("multi-disk archives are not supported") }
                entriesOnDisk = le64(record, 24)
                totalEntries = le64(record, 32)
                cdSize = le64(record, 40)
                cdOffset = le64(record, 48)
                cdEnd = zip64Offset
            } else if needsZip64 {
                throw Failure("archive needs zip64 but has no zip64 locator")
            }
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
        guard cdSize <= UInt64(max(totalEntries, 1)) * 4096, cdSize <= 1 << 28 else {
            throw Failure("central directory of \(cdSize) bytes is implausibly large for \(totalEntries) entries")
        }
        let directory = try file.read(at: cdOffset, count: Int(cdSize))

        var entries: [Entry] = []
        var names = Set<String>()
        var cursor = 0
        for number in 0..<Int(totalEntries) {
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
            let nameBytes = directory[nameStart..<extraStart]
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw Failure("central directory entry \(number) has a name that is not UTF-8")
            }
            // Zip64 extended information: present fields follow the order of those set to 0xFFFFFFFF.
            var extra = extraStart
            let extraEnd = extraStart + extraLength
            while extra + 4 <= extraEnd {
                let tag = le16(directory, extra), length = Int(le16(directory, extra + 2))
                guard extra + 4 + length <= extraEnd else { throw Failure("entry \(name): extra field overruns") }
                if tag == 0x0001 {
                    var field = extra + 4
                    func take() throws -> UInt64 {
                        guard field + 8 <= extra + 4 + length else { throw Failure("entry \(name): zip64 field is too short") }
                        defer { field += 8 }
                        return le64(directory, field)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try take() }
                    if compressed == 0xFFFF_FFFF { compressed = try take() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try take() }
                }
                extra += 4 + length
            }
            guard disk == 0 || disk == 0xFFFF else { throw Failure("entry \(name) is on another disk") }
            guard !names.contains(name) else { throw Failure("duplicate entry name \(name) (a loader may read either copy)") }
            names.insert(name)
            entries.append(Entry(name: name, flags: flags, method: method, crc32: crc, compressedSize: compressed,
                                 uncompressedSize: uncompressed, localHeaderOffset: localOffset))
            cursor = next
        }
        guard cursor == directory.count else { throw Failure("central directory has \(directory.count - cursor) unexplained trailing bytes") }

        // Entries must not overlap each other or the central directory.
        let ordered = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        var previousEnd: UInt64 = 0
        for entry in ordered {
            guard entry.localHeaderOffset >= previousEnd else { throw Failure("entry \(entry.name) overlaps the previous entry") }
            let (headerEnd, overflow1) = entry.localHeaderOffset.addingReportingOverflow(30)
            let (sum, overflow2) = headerEnd.addingReportingOverflow(entry.compressedSize)
            guard !overflow1, !overflow2, sum <= cdOffset else { throw Failure("entry \(entry.name) extends into the central directory") }
            previousEnd = sum
        }
        self.entries = entries
        self.centralDirectoryOffset = cdOffset
    }

    /// Why `entry` cannot be read, or nil when its method and flags are supported.
    func unsupportedReason(_ entry: Entry) -> String? {
        if entry.isEncrypted { return "is encrypted" }
        if entry.method != 0 && entry.method != 8 { return "uses compression method \(entry.method) (only stored and deflate are supported)" }
        return nil
    }

    /// The first `count` uncompressed bytes of `entry` (fewer when it is
    /// shorter), without reading or checking the rest (used for .npy headers
    /// of large numeric members, whose data the scanner does not need).
    func prefix(of entry: Entry, count: Int) throws -> [UInt8] {
        if let reason = unsupportedReason(entry) { throw Failure("entry \(entry.name) \(reason)") }
        let (dataStart, _) = try dataRange(of: entry)
        if entry.method == 0 {
            guard entry.compressedSize == entry.uncompressedSize else { throw Failure("entry \(entry.name): stored sizes disagree") }
            return try file.read(at: dataStart, count: Int(min(entry.compressedSize, UInt64(count))))
        }
        // `count` output bytes normally need at most `count` input bytes plus block
        // headers and code tables; if hostile input needs more, the prefix read
        // fails and the entry is reported unreadable (fail closed).
        let input = try file.read(at: dataStart, count: Int(min(entry.compressedSize, UInt64(count) + 65_536)))
        do {
            return try Inflate.prefix(input, count: Int(min(entry.uncompressedSize, UInt64(count))))
        } catch {
            throw Failure("entry \(entry.name): \(error)")
        }
    }

    /// Where `entry`'s data lies, after checking its local header against the central directory.
    private func dataRange(of entry: Entry) throws -> (start: UInt64, end: UInt64) {
        let header = try file.read(at: entry.localHeaderOffset, count: 30)
        guard le32(header, 0) == 0x0403_4B50 else { throw Failure("entry \(entry.name) has no local header at its offset") }
        let localMethod = le16(header, 8)
        let nameLength = Int(le16(header, 26)), extraLength = Int(le16(header, 28))
        let localName = try file.read(at: entry.localHeaderOffset + 30, count: nameLength)
        guard localName.elementsEqual(entry.name.utf8) else {
            throw Failure("entry \(entry.name): local header names a different file")
        }
        guard localMethod == entry.method else { throw Failure("entry \(entry.name): local header disagrees on the compression method") }
        let dataStart = entry.localHeaderOffset + 30 + UInt64(nameLength) + UInt64(extraLength)
        let (dataEnd, overflow) = dataStart.addingReportingOverflow(entry.compressedSize)
        guard !overflow, dataEnd <= centralDirectoryOffset else {
            throw Failure("entry \(entry.name): data runs into the central directory")
        }
        return (dataStart, dataEnd)
    }

    /// The uncompressed bytes of `entry`, checked against its local header,
    /// declared sizes and CRC-32; refuses entries larger than `limit`.
    func contents(of entry: Entry, limit: Int) throws -> [UInt8] {
        if let reason = unsupportedReason(entry) { throw Failure("entry \(entry.name) \(reason)") }
        guard entry.uncompressedSize <= UInt64(limit), entry.compressedSize <= UInt64(limit) else {
            throw Failure("entry \(entry.name) is \(entry.uncompressedSize) bytes, more than the \(limit)-byte limit")
        }
        let (dataStart, _) = try dataRange(of: entry)
        let raw = try file.read(at: dataStart, count: Int(entry.compressedSize))
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
