#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelSecIO

extension ModelScanner {
    /// Extensions that name a model or pickle format. In a directory walk,
    /// files with these extensions are always scanned (and a content the
    /// scanner cannot recognize is a finding); other files are scanned only
    /// when their content looks like a model format, and listed as skipped otherwise.
    public static let modelFileExtensions: Set<String> = [
        "pkl", "pickle", "joblib", "dat", "pt", "pth", "bin", "ckpt", "npy", "npz", "safetensors", "mar", "pt2",
    ]

    /// Scans `paths` (files are scanned whatever their name; directories are
    /// walked with ``ModelTree``, following symbolic links) and returns the
    /// whole report. Never throws: unreadable paths are `unreadable-file`
    /// findings, and the report's `exitCode` says 2.
    public static func scan(paths: [String], limits: ScanLimits = ScanLimits(),
                            progress: ProgressReporter? = nil) -> ScanReport {
        var files: [FileScanReport] = []
        var skipped: [String] = []
        for path in paths {
            var info = stat()
            guard stat(path, &info) == 0 else {
                files.append(unreadable(path, FileIO.errnoDescription(errno)))
                continue
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                let tree: ModelTree
                do {
                    // Every entry the walker refuses is reported, and the rest is still scanned.
                    tree = try ModelTree.walk(path, options: .init(allowSymlinks: true, continueAfterProblems: true))
                } catch let error as ModelTreeError {
                    files.append(walkFailure(error, limits: limits))
                    continue
                } catch {
                    files.append(unreadable(path, "\(error)"))
                    continue
                }
                files += tree.problems.map { walkFailure($0, limits: limits) }
                let scan = scan(tree: tree, limits: limits, progress: progress)
                files += scan.scanned.map(\.report)
                skipped += scan.skipped.map(\.displayPath)
            } else {
                files.append(scanFile(at: path, limits: limits))
                progress?.advance(items: 1)
            }
        }
        progress?.finish()
        return ScanReport(files: files, skipped: skipped)
    }

    /// Scans the files of a walked model. Each report is attached to the
    /// file's ``ModelPath`` by construction, so a caller never has to match
    /// paths as strings to find which file a finding belongs to.
    ///
    /// Files with a model extension are always scanned; others only when their
    /// content looks like a model format, and are listed as skipped otherwise.
    public static func scan(tree: ModelTree, limits: ScanLimits = ScanLimits(),
                            progress: ProgressReporter? = nil) -> ModelTreeScan {
        var scanned: [ModelTreeScan.Entry] = []
        var skipped: [ModelTree.File] = []
        for file in tree.files {
            let name = file.path == .singleFileRoot ? file.displayPath : file.path.string
            let ext = (name as NSString).pathExtension.lowercased()
            if tree.isSingleFile || modelFileExtensions.contains(ext) || looksLikeModel(file.displayPath) {
                scanned.append(.init(file: file, report: scanFile(at: file.displayPath, limits: limits)))
                progress?.advance(items: 1)
            } else {
                skipped.append(file)
            }
        }
        return ModelTreeScan(scanned: scanned, skipped: skipped)
    }

    /// The finding for a directory that the walker refused or could not read.
    private static func walkFailure(_ error: ModelTreeError, limits: ScanLimits) -> FileScanReport {
        let kind: FindingKind
        switch error.problem {
        case .tooDeep, .tooManyEntries, .tooManyRepeatedDirectories: kind = .resourceLimit
        default: kind = .unreadableFile
        }
        return FileScanReport(path: error.path, format: .unknown, size: nil, streams: [], findings: [
            ScanFinding(severity: .error, kind: kind, location: error.path, message: error.reason),
        ])
    }

    /// Scans one file, detecting its format from its content.
    public static func scanFile(at path: String, limits: ScanLimits = ScanLimits()) -> FileScanReport {
        let file: RandomAccessFile
        do {
            file = try RandomAccessFile(path: path)
        } catch {
            return unreadable(path, (error as? FileError)?.reason ?? "\(error)")
        }
        var scan = FileScan(path: path, size: file.size)
        do {
            try scan.run(file, limits: limits)
        } catch let error as FileError {
            return unreadable(path, error.reason)
        } catch {
            return unreadable(path, "\(error)")
        }
        return scan.report
    }

    private static func unreadable(_ path: String, _ reason: String) -> FileScanReport {
        FileScanReport(path: path, format: .unknown, size: nil, streams: [], findings: [
            ScanFinding(severity: .error, kind: .unreadableFile, location: path, message: "cannot read: \(reason)"),
        ])
    }

    /// Whether the first bytes of `path` look like a zip, .npy, safetensors or a protocol 2+ pickle.
    private static func looksLikeModel(_ path: String) -> Bool {
        guard let file = try? RandomAccessFile(path: path), let prefix = try? file.read(at: 0, count: Int(min(file.size, 16))) else {
            return true   // unreadable: scan it so the failure is reported
        }
        return FileScan.sniff(prefix, size: file.size) != nil
    }
}

/// The scan of one file: format detection, then the format's reader.
struct FileScan {
    let path: String
    let size: UInt64
    var format: ModelFileFormat = .unknown
    var streams: [PickleStreamReport] = []
    var findings: [ScanFinding] = []

    init(path: String, size: UInt64) {
        self.path = path
        self.size = size
    }

    var report: FileScanReport {
        FileScanReport(path: path, format: format, size: size, streams: streams,
                       findings: findings.enumerated().sorted { ($0.element.severity, $0.offset) < ($1.element.severity, $1.offset) }.map(\.element))
    }

    /// The PyTorch legacy (pre-1.6) magic number pickled with protocol 2.
    static let legacyTorchPrefix: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    /// The format the first bytes announce, or nil when they announce none
    /// (the caller then tries the content as a protocol 0/1 pickle).
    static func sniff(_ prefix: [UInt8], size: UInt64) -> ModelFileFormat? {
        if prefix.count >= 4, prefix[0] == 0x50, prefix[1] == 0x4B,
           (prefix[2] == 0x03 && prefix[3] == 0x04) || (prefix[2] == 0x05 && prefix[3] == 0x06) { return .zip }
        if prefix.count >= 6, Array(prefix[0..<6]) == NumpyArrayHeader.magic { return .npy }
        if prefix.starts(with: legacyTorchPrefix) { return .pytorchLegacy }
        if prefix.count >= 2, prefix[0] == 0x80, prefix[1] <= 5 { return .pickle }
        if prefix.count >= 9, prefix[8] == UInt8(ascii: "{"), le64(prefix, 0) <= size - 8 { return .safetensors }
        return nil
    }

    mutating func run(_ file: RandomAccessFile, limits: ScanLimits) throws {
        guard size > 0 else {
            add(.error, .unknownFormat, path, "empty file: not a model format")
            return
        }
        let prefix = try file.read(at: 0, count: Int(min(size, 16)))
        switch FileScan.sniff(prefix, size: size) {
        case .zip?:
            try scanZip(file, limits: limits)
        case .npy?:
            format = .npy
            try scanNpyFile(file, limits: limits)
        case .safetensors?:
            format = .safetensors
            for problem in try SafetensorsChecker.check(file, limits: limits) {
                add(.error, .malformedSafetensors, path, problem)
            }
        case .pytorchLegacy?:
            format = .pytorchLegacy
            guard let bytes = try readWhole(file, limits: limits) else { return }
            scanPickles(bytes, location: path, legacyTorch: true, limits: limits)
        case .pickle?:
            format = .pickle
            guard let bytes = try readWhole(file, limits: limits) else { return }
            scanPickles(bytes, location: path, legacyTorch: false, limits: limits)
        default:
            let ext = (path as NSString).pathExtension.lowercased()
            if ext == "safetensors" {
                // Named safetensors but without a plausible header: report why.
                format = .safetensors
                for problem in try SafetensorsChecker.check(file, limits: limits) {
                    add(.error, .malformedSafetensors, path, problem)
                }
                if findings.isEmpty { add(.error, .malformedSafetensors, path, "header does not start with a length and '{'") }
                return
            }
            // No magic: a protocol 0/1 pickle starts with any opcode, so try to
            // parse it; if that fails the file is reported as unrecognized.
            guard let bytes = try readWhole(file, limits: limits) else { return }
            let trial = PickleScanner.scan(bytes, location: path, limits: limits)
            if trial.end != nil {
                format = .pickle
                scanPickles(bytes, location: path, legacyTorch: false, limits: limits)
            } else {
                if ["pkl", "pickle", "joblib", "dat"].contains(ext) {
                    format = .pickle
                    scanPickles(bytes, location: path, legacyTorch: false, limits: limits)
                } else {
                    add(.error, .unknownFormat, path,
                        "content is not a pickle, PyTorch zip, .npy, .npz or .safetensors file; the scanner cannot tell what it is")
                }
            }
        }
    }

    private mutating func add(_ severity: FindingSeverity, _ kind: FindingKind, _ location: String, _ message: String, offset: Int? = nil) {
        findings.append(ScanFinding(severity: severity, kind: kind, location: location, offset: offset, message: message))
    }

    private mutating func readWhole(_ file: RandomAccessFile, limits: ScanLimits) throws -> [UInt8]? {
        guard size <= UInt64(limits.maxPickleBytes) else {
            add(.error, .resourceLimit, path, "file is \(size) bytes, more than the \(limits.maxPickleBytes)-byte limit for pickle streams; not scanned")
            return nil
        }
        return try file.read(at: 0, count: Int(size))
    }

    /// Scans consecutive pickle streams. Plain pickle files must hold one or
    /// more complete streams and nothing else; legacy PyTorch files hold five
    /// streams (magic, protocol, sys info, the object, storage keys) and then
    /// raw storage bytes.
    private mutating func scanPickles(_ bytes: [UInt8], location: String, legacyTorch: Bool, limits: ScanLimits) {
        var offset = 0
        var number = 1
        while offset < bytes.count {
            let streamLocation = number == 1 ? location : "\(location)#\(number)"
            if number > 1, !legacyTorch || number > 5 {
                // Only another complete stream may follow; anything else is unexplained data.
                let trial = PickleScanner.scan(bytes, from: offset, location: streamLocation, limits: limits)
                guard trial.end != nil else {
                    if legacyTorch { return }   // raw storage data follows the five streams
                    add(.error, .trailingData, location, "\(bytes.count - offset) bytes after the pickle stream are not a pickle stream", offset: offset)
                    return
                }
            }
            let result = FileScan.scanStream(bytes, from: offset, location: streamLocation, limits: limits)
            record(result, location: streamLocation)
            guard let end = result.end else { return }
            offset = end
            number += 1
            if legacyTorch && number > 5 { return }
        }
    }

    /// Scans one stream. When it follows joblib's inline-array layout, the
    /// bytes are also read with plain pickle semantics (what `pickle.load`
    /// would do with the same file), and imports only that reading reaches
    /// are reported too, so a file cannot be benign for joblib and hostile for pickle.
    static func scanStream(_ bytes: [UInt8], from start: Int, location: String, limits: ScanLimits) -> PickleScanner.Result {
        var result = PickleScanner.scan(bytes, from: start, location: location, limits: limits)
        guard result.followedJoblibLayout else { return result }
        let plain = PickleScanner.scan(bytes, from: start, location: location, limits: limits, joblib: false)
        let importKinds: Set<FindingKind> = [.dangerousGlobal, .unknownGlobal, .unresolvedGlobal, .extensionCode]
        let seen = Set(result.findings.map { "\($0.kind.rawValue)|\($0.global ?? "")|\($0.offset ?? -1)" })
        for finding in plain.findings where importKinds.contains(finding.kind)
            && !seen.contains("\(finding.kind.rawValue)|\(finding.global ?? "")|\(finding.offset ?? -1)") {
            result.findings.append(ScanFinding(severity: finding.severity, kind: finding.kind, location: finding.location,
                                               offset: finding.offset, global: finding.global,
                                               message: "if read with pickle.load instead of joblib: \(finding.message)"))
        }
        return result
    }

    private mutating func record(_ result: PickleScanner.Result, location: String) {
        streams.append(PickleStreamReport(location: location, pickleProtocol: result.pickleProtocol,
                                          opcodeCount: result.opcodeCount, complete: result.end != nil,
                                          globals: result.globals))
        findings.append(contentsOf: result.findings)
    }

    /// Scans one pickle held in memory that must end exactly at the end of `bytes`.
    private mutating func scanSinglePickle(_ bytes: [UInt8], from start: Int, location: String, limits: ScanLimits) {
        let result = FileScan.scanStream(bytes, from: start, location: location, limits: limits)
        record(result, location: location)
        if let end = result.end, end < bytes.count {
            add(.error, .trailingData, location, "\(bytes.count - end) bytes follow the pickle stream's STOP", offset: end)
        }
    }

    private mutating func scanNpyFile(_ file: RandomAccessFile, limits: ScanLimits) throws {
        let prefix = try file.read(at: 0, count: Int(min(size, 12)))
        let headerLength: Int
        do {
            headerLength = try NumpyArrayHeader.headerLength(prefix)
        } catch {
            add(.error, .malformedNumpy, path, "\(error)")
            return
        }
        guard UInt64(headerLength) <= size, headerLength <= limits.maxNpyHeaderBytes + 12 else {
            add(.error, .malformedNumpy, path, "header length \(headerLength) runs past the end of the file or the limit")
            return
        }
        let headerBytes = try file.read(at: 0, count: headerLength)
        let header: NumpyArrayHeader
        do {
            header = try NumpyArrayHeader(headerBytes, limits: limits)
        } catch {
            add(.error, .malformedNumpy, path, "\(error)")
            return
        }
        if header.hasObjects {
            guard let bytes = try readWhole(file, limits: limits) else { return }
            scanSinglePickle(bytes, from: header.dataOffset, location: path, limits: limits)
        } else if let expected = header.expectedDataLength, expected != size - UInt64(header.dataOffset) {
            add(.error, .malformedNumpy, path, "data is \(size - UInt64(header.dataOffset)) bytes, the header describes \(expected)")
        }
    }

    /// The whole member, or nil (with a resource-limit finding) when it is over the pickle size limit.
    private mutating func readEntry(_ entry: ZipArchive.Entry, in archive: ZipArchive, location: String, limits: ScanLimits) throws -> [UInt8]? {
        guard entry.uncompressedSize <= UInt64(limits.maxPickleBytes), entry.compressedSize <= UInt64(limits.maxPickleBytes) else {
            add(.error, .resourceLimit, location, "zip entry is \(entry.uncompressedSize) bytes, more than the \(limits.maxPickleBytes)-byte limit for pickle streams; not scanned")
            return nil
        }
        return try archive.contents(of: entry, limit: limits.maxPickleBytes)
    }

    /// A .npy member: only its header is read, unless it holds objects (then
    /// the whole member is read, CRC-checked, and its pickle scanned).
    private mutating func scanNpyMember(_ entry: ZipArchive.Entry, in archive: ZipArchive, location: String, limits: ScanLimits) throws {
        let head = try archive.prefix(of: entry, count: 12)
        let headerLength: Int
        do {
            headerLength = try NumpyArrayHeader.headerLength(head)
        } catch {
            add(.error, .malformedNumpy, location, "\(error)")
            return
        }
        guard headerLength <= limits.maxNpyHeaderBytes + 12, UInt64(headerLength) <= entry.uncompressedSize else {
            add(.error, .malformedNumpy, location, "header length \(headerLength) runs past the member or the limit")
            return
        }
        let header: NumpyArrayHeader
        do {
            header = try NumpyArrayHeader(try archive.prefix(of: entry, count: headerLength), limits: limits)
        } catch let error as NumpyArrayHeader.Failure {
            add(.error, .malformedNumpy, location, "\(error)")
            return
        }
        if header.hasObjects {
            guard let bytes = try readEntry(entry, in: archive, location: location, limits: limits) else { return }
            scanNpyBytes(bytes, location: location, limits: limits)
        } else if let expected = header.expectedDataLength, expected != entry.uncompressedSize - UInt64(header.dataOffset) {
            add(.error, .malformedNumpy, location, "data is \(entry.uncompressedSize - UInt64(header.dataOffset)) bytes, the header describes \(expected)")
        }
    }

    private mutating func scanNpyBytes(_ bytes: [UInt8], location: String, limits: ScanLimits) {
        let header: NumpyArrayHeader
        do {
            header = try NumpyArrayHeader(bytes, limits: limits)
        } catch {
            add(.error, .malformedNumpy, location, "\(error)")
            return
        }
        if header.hasObjects {
            scanSinglePickle(bytes, from: header.dataOffset, location: location, limits: limits)
        } else if let expected = header.expectedDataLength, expected != UInt64(bytes.count - header.dataOffset) {
            add(.error, .malformedNumpy, location, "data is \(bytes.count - header.dataOffset) bytes, the header describes \(expected)")
        }
    }

    private mutating func scanZip(_ file: RandomAccessFile, limits: ScanLimits) throws {
        format = .zip
        let archive: ZipArchive
        do {
            archive = try ZipArchive(file: file, limits: limits)
        } catch let error as ZipArchive.Failure {
            add(.error, .malformedArchive, path, "invalid zip archive: \(error)")
            return
        }
        let files = archive.entries.filter { !$0.isDirectory }
        let pickles = files.filter { $0.name.hasSuffix(".pkl") || $0.name.hasSuffix(".pickle") }
        let arrays = files.filter { $0.name.hasSuffix(".npy") }
        if files.contains(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) {
            format = .pytorchZip
        } else if !arrays.isEmpty && arrays.count == files.count {
            format = .npz
        }
        for entry in archive.entries {
            let location = "\(path):\(entry.name)"
            if let reason = archive.unsupportedReason(entry) {
                add(.error, .unreadableEntry, location, "zip entry \(reason); it cannot be checked")
            }
        }
        for entry in pickles + arrays where archive.unsupportedReason(entry) == nil {
            let location = "\(path):\(entry.name)"
            do {
                if entry.name.hasSuffix(".npy") {
                    try scanNpyMember(entry, in: archive, location: location, limits: limits)
                } else {
                    guard let bytes = try readEntry(entry, in: archive, location: location, limits: limits) else { continue }
                    scanSinglePickle(bytes, from: 0, location: location, limits: limits)
                }
            } catch let error as ZipArchive.Failure {
                add(.error, .unreadableEntry, location, "cannot read zip entry: \(error)")
            }
        }
        if pickles.isEmpty && arrays.isEmpty {
            add(.error, .unknownFormat, path, "zip archive without pickle (.pkl) or .npy members: not a model format the scanner knows")
        }
    }
}
