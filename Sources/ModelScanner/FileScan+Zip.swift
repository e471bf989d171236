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
        var pickles = 0, arrays = 0, files = 0, torchPickle = false, kerasConfig = false
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
            if entry.name.bytesEqual("config.json") {
                // Keras 3 `.keras`: `saving_lib` reads the model from this member.
                kerasConfig = true
                do {
                    guard entry.uncompressedSize <= UInt64(Hdf5Checker.maxConfigBytes),
                          let source = try readEntry(entry, in: archive, location: location, limits: limits) else {
                        add(.error, .resourceLimit, location, "Keras config.json of \(entry.uncompressedSize) bytes is over the \(Hdf5Checker.maxConfigBytes)-byte limit; not checked")
                        continue
                    }
                    add(KerasConfigCheck.check(try source.bytes(0, source.count), what: "Keras config.json").map {
                        FormatFinding($0.severity, $0.kind, $0.message, at: "config.json")
                    })
                } catch let error as ZipArchive.Failure {
                    add(.error, .unreadableEntry, location, "cannot read zip entry: \(error)")
                }
                continue
            }
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
                    try scanLenientMember(entry, in: archive, location: location, limits: limits)
                }
            } catch let error as ZipArchive.Failure {
                add(.error, .unreadableEntry, location, "cannot read zip entry: \(error)")
            }
        }
        if torchPickle {
            format = .pytorchZip
        } else if kerasConfig {
            format = .keras
        } else if arrays > 0 && arrays == files {
            format = .npz
        }
        if pickles == 0 && arrays == 0 && streams.isEmpty && !kerasConfig {
            add(.error, .unknownFormat, path, "zip archive without pickle (.pkl) or .npy members: not a model format the scanner knows")
        }
    }

    /// A member nobody is known to unpickle but that starts like a pickle:
    /// stored members are read in place; deflated ones from their first 64 KiB,
    /// and whole (within the in-memory limit) only when the parse runs past them.
    private mutating func scanLenientMember(_ entry: ZipArchive.Entry, in archive: ZipArchive, location: String, limits: ScanLimits) throws {
        if entry.method == 0 {
            guard let source = try readEntry(entry, in: archive, location: location, limits: limits) else { return }
            scanLenient(source, location: location, limits: limits)
            return
        }
        let firstCount = Int(min(entry.uncompressedSize, 1 << 16))
        let first = FileScan.scanStream(ByteSource(try archive.prefix(of: entry, count: firstCount)), from: 0, location: location, limits: limits)
        guard first.end == nil, first.ranOutOfInput, UInt64(firstCount) < entry.uncompressedSize else {
            keepImportFindings(of: first, location: location)
            return
        }
        guard let source = try readEntry(entry, in: archive, location: location, limits: limits) else {
            keepImportFindings(of: first, location: location)
            return
        }
        scanLenient(source, location: location, limits: limits)
    }

    /// `text` with only the ASCII letters lowercased (as miniz compares names),
    /// so no non-ASCII character can fold into an ASCII one.
    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
