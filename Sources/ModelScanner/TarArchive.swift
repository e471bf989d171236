/// A strict, bounded reader of tar archives as Python's `tarfile` reads them
/// (the reader `torch.load` uses for legacy tar checkpoints).
///
/// `torch.load` tries `tarfile.open(mode="r:")` on every file that does not
/// start with `PK\x03\x04`, whatever its name. `tarfile` accepts a first
/// 512-byte block as a header when it is not all NUL and the octal number in
/// bytes 148..<156 equals the unsigned or the signed sum of the block (with
/// those 8 bytes counted as spaces): no magic is needed, so old v7 headers,
/// and files that are also pickles, .npy or safetensors files, are tar
/// archives to torch. `isHeader` makes exactly that check (reading the number
/// as Python's `int(text, 8)` does), so nothing `tarfile` accepts is missed.
///
/// The member listing is stricter than `tarfile`: only regular files
/// (`0`, NUL, `7`) and empty directories (`5`, or a regular name ending in `/`)
/// are accepted, each optionally preceded by one pax extended header (`x`)
/// whose records only set times, ids or owner names; numeric fields must be
/// plain octal, names UTF-8, names unique (tarfile's `getmember` returns the
/// last duplicate), the archive must end with a NUL block, and member data
/// must lie inside the file. Links, other pax records (`path`, `size`,
/// `linkpath`, ...), global pax and GNU extension headers, sparse files and
/// anything else are refused: `extractfile`/`extract` follow links and
/// extension headers rename or resize members.
struct TarArchive {
    /// One member.
    struct Member {
        /// The name as `tarfile` reports it (ustar prefix joined, directories without their trailing `/`).
        let name: String
        let isDirectory: Bool
        /// Where the member's data starts in the file.
        let dataOffset: UInt64
        let size: UInt64
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let blockSize = 512

    let members: [Member]

    /// Whether `block` (the first 512 bytes of a file) is a header Python's `tarfile` accepts.
    static func isHeader(_ block: [UInt8]) -> Bool {
        guard block.count >= blockSize, !block[0..<blockSize].allSatisfy({ $0 == 0 }),
              let stored = pythonNumber(block[148..<156]) else { return false }
        var unsigned = 256, signed = 256
        for (index, byte) in block[0..<blockSize].enumerated() where !(148..<156).contains(index) {
            unsigned += Int(byte)
            signed += Int(Int8(bitPattern: byte))
        }
        return stored == unsigned || stored == signed
    }

    /// Python's `tarfile.nti`: base-256 when the first byte is 0x80 or 0xFF;
    /// otherwise the text up to the first NUL, ASCII, stripped of whitespace,
    /// read as `int(text or "0", 8)` (sign, `0o` prefix and single underscores
    /// between digits allowed). Nil where Python raises.
    static func pythonNumber(_ field: ArraySlice<UInt8>) -> Int? {
        let bytes = Array(field)
        guard let first = bytes.first else { return 0 }
        if first == 0x80 || first == 0xFF {
            var value = 0
            for byte in bytes.dropFirst() {
                guard value <= (Int.max >> 8) else { return nil }
                value = value << 8 | Int(byte)
            }
            return first == 0xFF ? value - (1 << (8 * (bytes.count - 1))) : value
        }
        var text = bytes.prefix { $0 != 0 }
        guard text.allSatisfy({ $0 < 0x80 }) else { return nil }
        let isSpace: (UInt8) -> Bool = { (0x09...0x0D).contains($0) || (0x1C...0x20).contains($0) }
        while let c = text.first, isSpace(c) { text.removeFirst() }
        while let c = text.last, isSpace(c) { text.removeLast() }
        if text.isEmpty { return 0 }
        var negative = false
        if let sign = text.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            text.removeFirst()
        }
        var afterPrefix = false
        if text.count >= 2, text.first == UInt8(ascii: "0"), text.dropFirst().first.map({ $0 | 0x20 }) == UInt8(ascii: "o") {
            text.removeFirst(2)
            afterPrefix = true
        }
        let digits = Array(text)
        let isOctal: (UInt8) -> Bool = { (0x30...0x37).contains($0) }
        var index = 0
        if afterPrefix, index < digits.count, digits[index] == UInt8(ascii: "_") { index += 1 }   // `0o_17`
        guard index < digits.count, isOctal(digits[index]) else { return nil }
        var value = 0
        while index < digits.count {
            if digits[index] == UInt8(ascii: "_") {
                index += 1   // one underscore, and only between digits
                guard index < digits.count, isOctal(digits[index]) else { return nil }
            }
            guard isOctal(digits[index]), value <= (Int.max >> 3) else { return nil }
            value = value << 3 | Int(digits[index] - 0x30)
            index += 1
        }
        return negative ? -value : value
    }

    /// A strictly plain octal field (optional leading spaces, digits, then NULs or spaces).
    private static func plainOctal(_ field: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        var index = field.startIndex
        while index < field.endIndex, field[index] == 0x20 { index += 1 }
        while index < field.endIndex, (0x30...0x37).contains(field[index]) {
            guard value <= (UInt64.max >> 3) else { return nil }
            value = value << 3 | UInt64(field[index] - 0x30)
            digits += 1
            index += 1
        }
        guard digits > 0, field[index...].allSatisfy({ $0 == 0 || $0 == 0x20 }) else { return nil }
        return value
    }

    /// pax keywords that leave a member's name, size, type and content as
    /// the ustar header gives them (what Python's tarfile writes for float
    /// mtimes and long user names, as in PyTorch's legacy tar checkpoints).
    static let harmlessPaxKeywords: Set<String> = ["mtime", "atime", "ctime", "uid", "gid", "uname", "gname"]

    /// Checks the records of a pax extended header: `"<length> <keyword>=<value>\n"`,
    /// where length counts the whole record, up to the first NUL. Any keyword
    /// that could rename, resize, relink or re-type the member is refused.
    static func checkPaxRecords(_ data: [UInt8], at offset: UInt64) throws {
        var position = 0
        while position < data.count, data[position] != 0 {
            var cursor = position
            var length = 0
            while cursor < data.count, (0x30...0x39).contains(data[cursor]), length < 1 << 20 {
                length = length * 10 + Int(data[cursor] - 0x30)
                cursor += 1
            }
            guard cursor > position, cursor < data.count, data[cursor] == 0x20, length > cursor - position + 1,
                  position + length <= data.count, data[position + length - 1] == 0x0A,
                  let equals = data[(cursor + 1)..<(position + length - 1)].firstIndex(of: UInt8(ascii: "=")),
                  let keyword = String(validating: data[(cursor + 1)..<equals], as: UTF8.self) else {
                throw Failure("pax extended header at offset \(offset) has a malformed record")
            }
            guard harmlessPaxKeywords.contains(where: { $0.bytesEqual(keyword) }) else {
                throw Failure("pax extended header at offset \(offset) sets \(keyword.debugDescription), which changes how the member is read")
            }
            position += length
        }
    }

    /// A NUL-terminated text field (`tarfile.nts`), as UTF-8.
    private static func text(_ field: ArraySlice<UInt8>) -> String? {
        String(validating: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Lists the members of `file`, which must start with a tar header.
    init(file: RandomAccessFile, limits: ScanLimits) throws {
        var members: [Member] = []
        var names = Set<[UInt8]>()
        var offset: UInt64 = 0
        var afterPaxHeader = false
        let block = UInt64(TarArchive.blockSize)
        while true {
            guard offset <= file.size, file.size - offset >= block else {
                throw Failure("archive ends at offset \(offset) without an end-of-archive block")
            }
            let header = try file.read(at: offset, count: TarArchive.blockSize)
            if header.allSatisfy({ $0 == 0 }) {
                if afterPaxHeader { throw Failure("a pax extended header at the end of the archive describes no member") }
                break
            }
            guard TarArchive.isHeader(header) else {
                throw Failure("header at offset \(offset) has a bad checksum (Python's tarfile stops reading there)")
            }
            guard let rawName = TarArchive.text(header[0..<100]), let prefix = TarArchive.text(header[345..<500]) else {
                throw Failure("header at offset \(offset) has a name that is not UTF-8")
            }
            guard let size = TarArchive.plainOctal(header[124..<136]) else {
                throw Failure("header at offset \(offset) has a size that is not plain octal")
            }
            for (field, range) in [("mode", 100..<108), ("uid", 108..<116), ("gid", 116..<124), ("mtime", 136..<148)]
            where header[range].contains(where: { $0 != 0 && $0 != 0x20 }) && TarArchive.plainOctal(header[range]) == nil {
                throw Failure("header at offset \(offset) has a \(field) that is not plain octal")
            }
            let type = header[156]
            var isDirectory: Bool
            switch type {
            case 0x30, 0x37: isDirectory = false                        // '0' regular, '7' contiguous
            case 0x00: isDirectory = rawName.hasSuffix("/")              // v7: a directory is a regular name ending in '/'
            case 0x35: isDirectory = true                                // '5' directory
            case 0x78 where !afterPaxHeader:                             // 'x' pax header for the next member
                guard size <= 1 << 16, size <= file.size - (offset + block) else {
                    throw Failure("pax extended header at offset \(offset) is larger than 64 KiB or runs past the file")
                }
                try TarArchive.checkPaxRecords(try file.read(at: offset + block, count: Int(size)), at: offset)
                afterPaxHeader = true
                offset += block + (size + block - 1) / block * block
                continue
            default:
                throw Failure("member \(rawName.debugDescription) has type \(String(UnicodeScalar(type)).debugDescription) (links, pax/GNU extension headers and special files are not accepted)")
            }
            var name = rawName
            if isDirectory { while name.hasSuffix("/") { name.removeLast() } }
            if !prefix.isEmpty { name = prefix + "/" + name }
            guard !name.isEmpty else { throw Failure("member at offset \(offset) has an empty name") }
            if isDirectory, size != 0 { throw Failure("directory \(name.debugDescription) has \(size) bytes of data (Python's tarfile would read them as headers)") }
            guard !names.contains(Array(name.utf8)) else {
                throw Failure("duplicate member name \(name.debugDescription) (tarfile returns the last one)")
            }
            guard members.count < limits.maxZipEntries else { throw Failure("more than \(limits.maxZipEntries) members") }
            names.insert(Array(name.utf8))
            let dataOffset = offset + block
            guard size <= file.size - dataOffset else {
                throw Failure("member \(name.debugDescription) runs past the end of the file")
            }
            members.append(Member(name: name, isDirectory: isDirectory, dataOffset: dataOffset, size: size))
            afterPaxHeader = false
            let padded = (size + block - 1) / block * block
            offset = dataOffset + padded
        }
        self.members = members
    }
}
