/// Legacy PyTorch tar checkpoints, as `torch.load`'s `legacy_load` reads them:
/// - `storages`: a pickle (the storage count n), then n times a pickle
///   `(key, location, storage_type)` followed by raw data (an int64 element
///   count and count x element size bytes), then a pickle (storage views);
/// - `tensors`: a pickle (the tensor count n), then n times a pickle
///   `(key, storage_id, tensor_type)` followed by raw data (int32 ndim, 4
///   bytes, ndim int64 sizes, ndim int64 strides, an int64 offset);
/// - `pickle`: one pickle, the checkpoint object.
/// The storages and tensors files are read unbuffered, so every pickle in
/// them must end where its frame ends. Each of the three must be followed
/// exactly (anything the scanner cannot follow is a finding); every other
/// member that starts like a pickle is read as one and its imports reported.
extension FileScan {
    /// Element sizes of the storage classes a legacy `storages` member may name.
    static let storageElementSizes: [String: UInt64] = {
        let sizes: [String: UInt64] = [
            "Float": 4, "Double": 8, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2, "Char": 1, "Byte": 1,
            "Bool": 1, "ComplexFloat": 8, "ComplexDouble": 16, "QInt8": 1, "QUInt8": 1, "QInt32": 4, "QUInt4x2": 1, "QUInt2x4": 1,
        ]
        var table: [String: UInt64] = [:]
        for (name, size) in sizes {
            table["torch.\(name)Storage"] = size
            table["torch.cuda.\(name)Storage"] = size
        }
        return table
    }()

    mutating func scanTar(_ file: RandomAccessFile, limits: ScanLimits) throws {
        let archive: TarArchive
        do {
            archive = try TarArchive(file: file, limits: limits)
        } catch let error as TarArchive.Failure {
            add(.error, .malformedArchive, path, "invalid or ambiguous tar archive: \(error)")
            return
        }
        var torchMembers = 0
        for member in archive.members where !member.isDirectory {
            let location = "\(path):\(member.name)"
            let bytes = ByteSource(file: file, offset: member.dataOffset, count: Int(member.size))
            let role = ["pickle", "storages", "tensors"].first { $0.bytesEqual(member.name) }
            guard let role else {
                let head = try file.read(at: member.dataOffset, count: min(2, Int(member.size)))
                if head.count == 2, head[0] == 0x80, head[1] <= 5 {
                    scanLenient(bytes, location: location, limits: limits)
                }
                continue
            }
            torchMembers += 1
            switch role {
            case "pickle": scanSinglePickle(bytes, from: 0, location: location, limits: limits)
            case "storages": followLegacyLayout(bytes, location: location, storages: true, limits: limits)
            default: followLegacyLayout(bytes, location: location, storages: false, limits: limits)
            }
        }
        if torchMembers == 0 && format == .pytorchTar {
            add(.error, .unknownFormat, path, "tar archive without the legacy PyTorch members (pickle, storages, tensors): not a model format the scanner knows")
        }
    }

    /// Follows a `storages` or `tensors` member: counted pickles with raw data between them.
    private mutating func followLegacyLayout(_ bytes: ByteSource, location: String, storages: Bool, limits: ScanLimits) {
        var offset = 0
        var number = 0
        func fail(_ message: String) {
            add(.error, .malformedArchive, location, "cannot follow the legacy PyTorch \(storages ? "storages" : "tensors") layout: \(message)", offset: offset)
        }
        /// The next pickle: scanned, recorded, and its value returned (nil when incomplete).
        func nextPickle() -> PickleScanner.PickleLiteral? {
            number += 1
            let result = FileScan.scanStream(bytes, from: offset, location: "\(location)#\(number)", limits: limits, framedReader: true)
            record(result, location: "\(location)#\(number)")
            guard let end = result.end else { return nil }
            offset = end
            return result.value ?? .other
        }
        /// Skips `count` raw bytes; false when they run past the member.
        func skip(_ count: UInt64) -> Bool {
            guard count <= UInt64(bytes.count - offset) else { return false }
            offset += Int(count)
            return true
        }
        guard let countValue = nextPickle() else { return }
        guard case .int(let count) = countValue, count >= 0, count <= bytes.count else {
            fail("the first pickle is not a count")
            return
        }
        for _ in 0..<count {
            guard let entry = nextPickle() else { return }
            guard case .tuple(let fields) = entry, fields.count == 3 else {
                fail("an entry pickle is not a 3-tuple")
                return
            }
            if storages {
                guard case .global(let module, let name) = fields[2],
                      let elementSize = FileScan.storageElementSizes.first(where: { $0.key.bytesEqual(GlobalClassifier.canonicalName(module: module, name: name)) })?.value else {
                    fail("a storage entry does not name a known storage type")
                    return
                }
                guard offset + 8 <= bytes.count, let raw = try? bytes.bytes(offset, 8) else { fail("storage data is truncated"); return }
                let elements = le64(raw, 0)
                offset += 8
                guard elements <= UInt64(Int64.max), let length = NumpyDtype.multiply(elements, elementSize), skip(length) else {
                    fail("storage data runs past the member")
                    return
                }
            } else {
                guard offset + 8 <= bytes.count, let raw = try? bytes.bytes(offset, 4) else { fail("tensor header is truncated"); return }
                let ndim = Int32(bitPattern: le32(raw, 0))
                offset += 8   // ndim, then 4 bytes legacy code skips
                guard ndim >= 0, skip(UInt64(ndim) * 16 + 8) else {
                    fail("tensor header runs past the member")
                    return
                }
            }
        }
        if storages {
            guard nextPickle() != nil else { return }   // storage views
        }
        if offset < bytes.count {
            add(.error, .trailingData, location, "\(bytes.count - offset) bytes after the legacy PyTorch layout are unexplained", offset: offset)
        }
    }
}
