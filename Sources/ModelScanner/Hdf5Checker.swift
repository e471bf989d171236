/// Legacy Keras HDF5 models (`.h5`): the `model_config` attribute of the root
/// group holds the model's JSON configuration, checked with `KerasConfigCheck`.
///
/// No HDF5 library is used. The HDF5 signature `\x89HDF\r\n\x1a\n` is looked
/// for where the HDF5 library looks (offset 0, 512, 1024, 2048, ... within the
/// file); the superblock there gives the size of file offsets. The first
/// `searchLength` bytes after it are searched for attribute messages named
/// `model_config` or `training_config` (message versions 1, 2 and 3; name
/// `model_config\0`), whose value is a scalar string: fixed-length (datatype
/// class 3, the bytes inline) or variable-length (class 9, a global heap ID:
/// a `GCOL` collection address and object index, resolved in the collection).
/// A file where no `model_config` is found is an error finding (a weights-only
/// file cannot be told apart from a config the scanner failed to find).
struct Hdf5Checker {
    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    /// How far past the superblock attribute messages are looked for.
    static let searchLength = 64 << 20
    /// Largest configuration read.
    static let maxConfigBytes = 16 << 20

    let file: RandomAccessFile
    var findings: [FormatFinding] = []

    /// Offsets where the HDF5 library would find a superblock (0, then powers of two from 512).
    /// `head` is the file's first bytes when the caller has them (offsets
    /// inside it are not read again).
    static func superblockOffsets(_ file: RandomAccessFile, head: [UInt8] = []) -> [UInt64] {
        var offsets: [UInt64] = []
        var offset: UInt64 = 0
        while offset + 8 <= file.size {
            if offset + 8 <= UInt64(head.count) {
                let start = Int(offset)
                if head[start..<(start + 8)].elementsEqual(signature) { offsets.append(offset) }
            } else if let bytes = try? file.read(at: offset, count: 8), bytes == signature {
                offsets.append(offset)
            }
            offset = offset == 0 ? 512 : offset * 2
        }
        return offsets
    }

    /// Checks the file whose superblock is at `base`.
    mutating func check(base: UInt64) {
        do {
            let superblock = try file.read(at: base, count: Int(min(file.size - base, 16)))
            guard superblock.count >= 14 else { throw Failure("superblock is truncated") }
            let version = superblock[8]
            let offsetSize = version <= 1 ? Int(superblock[13]) : Int(superblock[9])
            guard [2, 4, 8].contains(offsetSize) else { throw Failure("superblock gives an invalid offset size \(offsetSize)") }
            let length = Int(min(file.size - base, UInt64(Hdf5Checker.searchLength)))
            let source = ByteSource(file: file, offset: base, count: length)
            var configs: [(name: String, bytes: [UInt8])] = []
            for name in ["model_config", "training_config"] {
                let needle = Array(name.utf8) + [0]
                var position = 0
                while let found = try find(needle, in: source, from: position) {
                    position = found + 1
                    if let value = try attributeValue(source, nameAt: found, nameLength: needle.count, offsetSize: offsetSize, base: base) {
                        configs.append((name, value))
                    }
                }
            }
            guard configs.contains(where: { $0.name == "model_config" }) else {
                findings.append(FormatFinding(.error, .malformedModel,
                    "HDF5 file without a model_config attribute the scanner can find (a weights-only file, or a configuration stored where it does not look); what Keras would build from it is unknown"))
                return
            }
            for name in ["model_config", "training_config"] where configs.filter({ $0.name == name }).count > 1 {
                findings.append(FormatFinding(.error, .malformedModel, "HDF5 file has more than one \(name) attribute message; which one a reader uses cannot be told"))
            }
            for config in configs {
                findings += KerasConfigCheck.check(Hdf5Checker.trimmed(config.bytes), what: "HDF5 \(config.name)")
            }
        } catch let failure as Failure {
            findings.append(FormatFinding(.error, .malformedModel, "cannot read the HDF5 file: \(failure.reason)"))
        } catch {
            findings.append(FormatFinding(.error, .malformedModel, "cannot read the HDF5 file: \(error)"))
        }
    }

    struct Failure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// A fixed-length string's bytes without its NUL or space padding.
    static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0 || bytes[end - 1] == 0x20 { end -= 1 }
        return Array(bytes[0..<end])
    }

    private func find(_ needle: [UInt8], in source: ByteSource, from start: Int) throws -> Int? {
        var index = start
        while index + needle.count <= source.count {
            guard let first = try source.firstIndex(of: needle[0], from: index, limit: source.count - index) else { return nil }
            guard first + needle.count <= source.count else { return nil }
            if try source.bytes(first, needle.count) == needle { return first }
            index = first + 1
        }
        return nil
    }

    /// The value of the attribute message whose name starts at `nameAt`, or nil when the bytes there are not one.
    private func attributeValue(_ source: ByteSource, nameAt: Int, nameLength: Int, offsetSize: Int, base: UInt64) throws -> [UInt8]? {
        for (version, headerLength) in [(UInt8(1), 8), (UInt8(2), 8), (UInt8(3), 9)] where nameAt >= headerLength {
            let header = try source.bytes(nameAt - headerLength, headerLength)
            guard header[0] == version, Int(le16(header, 2)) == nameLength else { continue }
            if version == 1, header[1] != 0 { continue }
            let datatypeSize = Int(le16(header, 4)), dataspaceSize = Int(le16(header, 6))
            func padded(_ n: Int) -> Int { version == 1 ? (n + 7) / 8 * 8 : n }
            let datatypeAt = nameAt + padded(nameLength)
            let dataspaceAt = datatypeAt + padded(datatypeSize)
            let dataAt = dataspaceAt + padded(dataspaceSize)
            guard datatypeSize >= 8, dataAt <= source.count else { continue }
            let datatype = try source.bytes(datatypeAt, datatypeSize)
            let typeClass = datatype[0] & 0x0F
            let size = Int(le32(datatype, 4))
            if typeClass == 3 {
                guard size <= Hdf5Checker.maxConfigBytes, dataAt + size <= source.count else {
                    throw Failure("model configuration of \(size) bytes runs past the searched part of the file or the limit")
                }
                return try source.bytes(dataAt, size)
            }
            if typeClass == 9, datatype[1] & 0x0F == 1 {
                guard dataAt + 4 + offsetSize + 4 <= source.count else { continue }
                let reference = try source.bytes(dataAt, 4 + offsetSize + 4)
                let length = Int(le32(reference, 0))
                var address: UInt64 = 0
                for i in (0..<offsetSize).reversed() { address = address << 8 | UInt64(reference[4 + i]) }
                let index = le32(reference, 4 + offsetSize)
                return try heapObject(at: address, index: index, length: length, base: base)
            }
            throw Failure("attribute message with datatype class \(typeClass), not a string")
        }
        return nil
    }

    /// Object `index` of the global heap collection at `address` (relative to the superblock).
    private func heapObject(at address: UInt64, index: UInt32, length: Int, base: UInt64) throws -> [UInt8] {
        guard length <= Hdf5Checker.maxConfigBytes else { throw Failure("model configuration of \(length) bytes is over the limit") }
        let (start, overflow) = base.addingReportingOverflow(address)
        guard !overflow, start <= file.size, file.size - start >= 16 else { throw Failure("global heap address runs past the file") }
        let header = try file.read(at: start, count: 16)
        guard Array(header[0..<4]) == Array("GCOL".utf8) else { throw Failure("no global heap collection at the referenced address") }
        let collectionSize = le64(header, 8)
        guard collectionSize >= 16, collectionSize <= file.size - start else { throw Failure("global heap collection runs past the file") }
        var offset: UInt64 = 16
        while offset + 16 <= collectionSize {
            let objectHeader = try file.read(at: start + offset, count: 16)
            let objectIndex = UInt32(le16(objectHeader, 0)), objectSize = le64(objectHeader, 8)
            guard objectSize <= collectionSize - offset - 16 else { break }
            if objectIndex == index && objectIndex != 0 {
                guard objectSize >= UInt64(length) else { throw Failure("global heap object is shorter than the string") }
                return try file.read(at: start + offset + 16, count: length)
            }
            if objectIndex == 0 { break }   // free space runs to the end of the collection
            offset += 16 + (objectSize + 7) / 8 * 8
        }
        throw Failure("global heap object \(index) not found")
    }
}
