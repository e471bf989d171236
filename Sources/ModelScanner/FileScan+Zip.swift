/// Zip archives (PyTorch checkpoints, .npz, others): every member is judged
/// by name *and* content.
///
/// - A member whose name ends in `.pkl` or `.pickle` (ASCII case-insensitive:
///   PyTorch's reader finds `data.pkl` and `constants.pkl` that way) must be
///   one complete pickle stream.
/// - A member that starts with the `\x93NUMPY` magic is a .npy array whatever
///   its name (numpy's `NpzFile` decides by magic); a member named `.npy` must
///   be one.
/// - Any other member that starts with a pickle PROTO opcode is read as a
///   pickle too, and what it imports is reported (its parse may fail: tensor
///   bytes can start that way).
/// Members are sniffed from their first bytes only; tensor data is not read.
extension FileScan {
    mutating func scanZip(_ file: RandomAccessFile, limits: ScanLimits) throws {
        format = .zip
        let archive: ZipArchive
        do {
            archive = try ZipArchive(file: file, limits: limits)
        } catch let error as ZipArchive.Failure {
            add(.error, .malformedArchive, path, "invalid or ambiguous zip archive: \(error)")
            return
        }
        var pickles = 0, arrays = 0, files = 0, torchPickle = false
        for entry in archive.entries {
            let location = "\(path):\(entry.name)"
            let lowered = FileScan.asciiLowercased(entry.name)
            let namedPickle = lowered.utf8HasSuffix(".pkl") || lowered.utf8HasSuffix(".pickle")
            let namedArray = lowered.utf8HasSuffix(".npy")
            if lowered.bytesEqual("data.pkl") || lowered.utf8HasSuffix("/data.pkl") { torchPickle = true }
            if let reason = archive.unsupportedReason(entry) {
                add(.error, .unreadableEntry, location, "zip entry \(reason); it cannot be checked")
                if namedPickle { pickles += 1 } else if namedArray { arrays += 1 }
                continue
            }
            if entry.isDirectory && entry.uncompressedSize == 0 { continue }
            files += 1
            do {
                let head = try archive.prefix(of: entry, count: 16)
                let isArray = head.starts(with: NumpyArrayHeader.magic)
                if namedPickle {
                    pickles += 1
                    guard let bytes = try readEntry(entry, in: archive, location: location, limits: limits) else { continue }
                    scanSinglePickle(bytes, from: 0, location: location, limits: limits)
                } else if isArray || namedArray {
                    arrays += 1
                    try scanNpyMember(entry, in: archive, location: location, limits: limits)
                } else if head.count >= 2, head[0] == 0x80, head[1] <= 5 {
                    try scanLenient(size: entry.uncompressedSize, location: location, limits: limits) { count in
                        count >= entry.uncompressedSize ? try archive.contents(of: entry, limit: limits.maxPickleBytes)
                                                       : try archive.prefix(of: entry, count: count)
                    }
                }
            } catch let error as ZipArchive.Failure {
                add(.error, .unreadableEntry, location, "cannot read zip entry: \(error)")
            }
        }
        if torchPickle {
            format = .pytorchZip
        } else if arrays > 0 && arrays == files {
            format = .npz
        }
        if pickles == 0 && arrays == 0 && streams.isEmpty {
            add(.error, .unknownFormat, path, "zip archive without pickle (.pkl) or .npy members: not a model format the scanner knows")
        }
    }

    /// `text` with only the ASCII letters lowercased (as miniz compares names),
    /// so no non-ASCII character can fold into an ASCII one.
    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
