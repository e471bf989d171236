import Foundation

/// The scan of one file: every reading a real loader could apply to it.
///
/// Formats are told by content. Because loaders decide differently (torch:
/// zip if the file starts with `PK\x03\x04`, else a tar if `tarfile` accepts
/// the first block, else pickles; numpy: zip, else .npy, else a pickle;
/// joblib and pickle: a pickle), a file is read in every way that applies:
/// its announced format, plus the tar reading whenever the first block is a
/// tar header (a polyglot is itself an error finding), plus a pickle reading
/// of a tar file.
struct FileScan {
    /// How the file is to be read.
    enum Mode {
        /// By its content, in every way a loader could read it.
        case detect
        /// As `np.load(path, allow_pickle=True)` reads it (the target of a
        /// joblib `NDArrayWrapper`): zip, else .npy, else a pickle.
        case numpyLoad
    }

    let path: String
    let size: UInt64
    var format: ModelFileFormat = .unknown
    var streams: [PickleStreamReport] = []
    var findings: [ScanFinding] = []
    /// `NDArrayWrapper` file names, as written, in first-seen order.
    var references: [String] = []
    private var referenceNames = Set<[UInt8]>()
    /// The file's first `headLength` bytes (all of a smaller file), read once
    /// by `run`: every reading starts from them, so a small file is read
    /// with one `pread` (each reading read it again, and the HDF5 probe read
    /// it twice more).
    private(set) var head: [UInt8] = []
    /// How many leading bytes `run` reads at once.
    static let headLength = 4096

    init(path: String, size: UInt64) {
        self.path = path
        self.size = size
    }

    var report: FileScanReport {
        FileScanReport(path: path, format: format, size: size, streams: streams,
                       findings: findings.enumerated().sorted { ($0.element.severity, $0.offset) < ($1.element.severity, $1.offset) }.map(\.element),
                       references: references)
    }


    /// The legacy magic number 0x1950a86a20f9469cfc6c as pickled by LONG1.
    static let legacyTorchMagicLong: [UInt8] = [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Whether `prefix` is a first pickle stream holding only the legacy PyTorch
    /// magic number, in any protocol `torch.save(..., pickle_protocol=2...5)`
    /// writes: PROTO, an optional FRAME (protocol 4+), the LONG1, STOP.
    /// `torch.load` then reads five streams and raw storage data.
    static func isLegacyTorchMagic(_ prefix: [UInt8]) -> Bool {
        guard prefix.count >= 2, prefix[0] == 0x80, (2...5).contains(prefix[1]) else { return false }
        var at = 2
        if prefix.count > at, prefix[at] == 0x95 { at += 9 }
        let end = at + legacyTorchMagicLong.count
        return prefix.count > end && Array(prefix[at..<end]) == legacyTorchMagicLong && prefix[end] == 0x2E
    }

    /// Whether `prefix` starts with a zip local header (what torch's `_is_zipfile` checks).
    static func startsWithZipLocalHeader(_ prefix: [UInt8]) -> Bool {
        prefix.count >= 4 && prefix[0] == 0x50 && prefix[1] == 0x4B && prefix[2] == 0x03 && prefix[3] == 0x04
    }

    /// The format the first bytes announce, or nil when they announce none
    /// (the caller then tries a tar header and a protocol 0/1 pickle).
    static func sniff(_ prefix: [UInt8], size: UInt64) -> ModelFileFormat? {
        if startsWithZipLocalHeader(prefix) { return .zip }
        if prefix.count >= 4, prefix[0] == 0x50, prefix[1] == 0x4B, prefix[2] == 0x05, prefix[3] == 0x06 { return .zip }
        if prefix.count >= 6, Array(prefix[0..<6]) == NumpyArrayHeader.magic { return .npy }
        if isLegacyTorchMagic(prefix) { return .pytorchLegacy }
        // A safetensors header length can start with 80 00..80 05 (0x480 is 80 04): the
        // safetensors reading wins, and the pickle reading is made too (see run).
        if prefix.count >= 9, prefix[8] == UInt8(ascii: "{"), le64(prefix, 0) <= size - 8 { return .safetensors }
        if prefix.count >= 2, prefix[0] == 0x80, prefix[1] <= 5 { return .pickle }
        if GgufChecker.isGguf(prefix) { return .gguf }
        if prefix.starts(with: Hdf5Checker.signature) { return .hdf5 }
        return nil
    }

    mutating func run(_ file: RandomAccessFile, limits: ScanLimits, mode: Mode) throws {
        guard size > 0 else {
            add(.error, .unknownFormat, path, "empty file: not a model format")
            return
        }
        head = try file.read(at: 0, count: Int(min(size, UInt64(FileScan.headLength))))
        let prefix = Array(head.prefix(TarArchive.blockSize))
        let announced = FileScan.sniff(prefix, size: size)
        if mode == .numpyLoad {
            switch announced {
            case .zip?: try scanZip(file, limits: limits)
            case .npy?:
                format = .npy
                try scanNpyFile(file, limits: limits)
            default:
                format = .pickle
                scanPickles(whole(file), location: path, legacyTorch: false, limits: limits)
            }
            return
        }
        let isTar = !FileScan.startsWithZipLocalHeader(prefix) && TarArchive.isHeader(prefix)
        switch announced {
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
            if prefix[0] == 0x80, prefix[1] <= 5 {
                // pickle.load would read the same bytes: report what that reading imports.
                scanLenient(whole(file), location: path, limits: limits)
            }
        case .pytorchLegacy?:
            format = .pytorchLegacy
            scanPickles(whole(file), location: path, legacyTorch: true, limits: limits)
        case .pickle?:
            format = .pickle
            scanPickles(whole(file), location: path, legacyTorch: false, limits: limits)
        case .gguf?:
            format = .gguf
            var checker = GgufChecker(whole(file))
            checker.check()
            add(checker.findings)
        case .hdf5?:
            format = .hdf5
        default:
            if isTar {
                // pickle.load/joblib.load read the same bytes as a pickle: report
                // what that reading imports before it fails.
                format = .pytorchTar
                scanLenient(whole(file), location: path, limits: limits)
            } else {
                try scanUnannounced(file, prefix: prefix, limits: limits)
            }
        }
        scanHdf5Readings(file, announced: announced)
        if isTar {
            if announced != nil {
                add(.error, .malformedArchive, path,
                    "the file is also a tar archive to Python's tarfile (torch.load reads it as a legacy tar checkpoint); its tar members were scanned too")
            }
            try scanTar(file, limits: limits)
        }
    }

    /// A file whose first bytes announce no format: a protocol 0/1 pickle starts
    /// with any opcode, so it is parsed; if that fails the file is unrecognized.
    private mutating func scanUnannounced(_ file: RandomAccessFile, prefix: [UInt8], limits: ScanLimits) throws {
        let ext = ModelScanner.fileExtension(path)
        if ext == "safetensors" {
            // Named safetensors but without a plausible header: report why.
            format = .safetensors
            for problem in try SafetensorsChecker.check(file, limits: limits) {
                add(.error, .malformedSafetensors, path, problem)
            }
            if findings.isEmpty { add(.error, .malformedSafetensors, path, "header does not start with a length and '{'") }
            return
        }
        if try scanProtobufModel(file, prefix: prefix, ext: ext) { return }
        let bytes = whole(file)
        let trial = PickleScanner.scan(bytes, location: path, limits: limits)
        if trial.end != nil || ["pkl", "pickle", "joblib", "dat"].contains(ext) {
            format = .pickle
            scanPickles(bytes, location: path, legacyTorch: false, limits: limits, first: trial)
        } else {
            add(.error, .unknownFormat, path, FormatMagic.unknownFormatMessage(prefix))
            // Whatever a pickle reading imports before it fails still runs in pickle.load.
            keepImportFindings(of: FileScan.scanStream(bytes, from: 0, location: path, limits: limits), location: path)
        }
    }

    mutating func add(_ severity: FindingSeverity, _ kind: FindingKind, _ location: String, _ message: String, offset: Int? = nil) {
        findings.append(ScanFinding(severity: severity, kind: kind, location: location, offset: offset, message: message))
    }

    /// The whole file as a pickle input, read through a bounded window.
    func whole(_ file: RandomAccessFile) -> ByteSource {
        ByteSource(file: file, offset: 0, count: Int(size), window: head)
    }

    /// Scans consecutive pickle streams. Plain pickle files must hold one or
    /// more complete streams and nothing else; legacy PyTorch files hold five
    /// streams (magic, protocol, sys info, the object, storage keys) and then
    /// raw storage bytes.
    /// `first`, when given, is `PickleScanner.scan` of the first stream already made.
    mutating func scanPickles(_ bytes: ByteSource, location: String, legacyTorch: Bool, limits: ScanLimits,
                              first: PickleScanner.Result? = nil) {
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
                    keepImportFindings(of: FileScan.scanStream(bytes, from: offset, location: streamLocation, limits: limits),
                                       location: streamLocation)
                    return
                }
            }
            let result = number == 1 ? FileScan.completeStream(first, bytes, location: streamLocation, limits: limits)
                                     : FileScan.scanStream(bytes, from: offset, location: streamLocation, limits: limits)
            record(result, location: streamLocation)
            for reference in result.references where referenceNames.insert(Array(reference.name.utf8)).inserted {
                references.append(reference.name)
            }
            guard let end = result.end else { return }
            offset = end
            number += 1
            if legacyTorch && number > 5 { return }
        }
    }

    /// Scans one stream. When it uses joblib's array wrappers, the
    /// bytes are also read with plain pickle semantics (what `pickle.load`
    /// would do with the same file), and imports only that reading reaches
    /// are reported too, so a file cannot be benign for joblib and hostile for pickle.
    static func scanStream(_ bytes: ByteSource, from start: Int, location: String, limits: ScanLimits,
                           framedReader: Bool = false) -> PickleScanner.Result {
        var result = PickleScanner.scan(bytes, from: start, location: location, limits: limits, framedReader: framedReader)
        guard result.followedJoblibLayout || result.importsJoblibWrapper else { return result }
        let plain = PickleScanner.scan(bytes, from: start, location: location, limits: limits, joblib: false, framedReader: framedReader)
        let seen = Set(result.findings.map { "\($0.kind.rawValue)|\($0.global ?? "")|\($0.offset ?? -1)" })
        for finding in plain.findings where FileScan.importKinds.contains(finding.kind)
            && !seen.contains("\(finding.kind.rawValue)|\(finding.global ?? "")|\(finding.offset ?? -1)") {
            result.findings.append(ScanFinding(severity: finding.severity, kind: finding.kind, location: finding.location,
                                               offset: finding.offset, global: finding.global,
                                               message: "if read with pickle.load instead of joblib: \(finding.message)"))
        }
        return result
    }

    /// `scanStream` of the stream at offset 0, reusing a plain `PickleScanner.scan` of it when there is one.
    static func completeStream(_ scanned: PickleScanner.Result?, _ bytes: ByteSource, location: String, limits: ScanLimits) -> PickleScanner.Result {
        guard let scanned, !scanned.followedJoblibLayout, !scanned.importsJoblibWrapper else {
            return scanStream(bytes, from: 0, location: location, limits: limits)
        }
        return scanned
    }

    /// Finding kinds about what a stream imports or makes its loader do (as
    /// opposed to whether it parses): they stand even when the parse fails later,
    /// because the unpickler has already acted on them by then.
    static let importKinds: Set<FindingKind> = [
        .dangerousGlobal, .unknownGlobal, .unresolvedGlobal, .extensionCode, .externalReference, .forgedObjectFlag, .resourceLimit,
    ]

    mutating func record(_ result: PickleScanner.Result, location: String) {
        streams.append(PickleStreamReport(location: location, pickleProtocol: result.pickleProtocol,
                                          opcodeCount: result.opcodeCount, complete: result.end != nil,
                                          globals: result.globals))
        findings.append(contentsOf: result.findings)
    }

    /// Records only what a stream imports (for readings that are expected to
    /// fail to parse, such as a tar archive or raw tensor bytes read as a pickle);
    /// the stream itself is listed when it parsed completely or led to a finding.
    mutating func keepImportFindings(of result: PickleScanner.Result, location: String) {
        let kept = result.findings.filter { FileScan.importKinds.contains($0.kind) }
        guard result.end != nil || !kept.isEmpty else { return }
        streams.append(PickleStreamReport(location: location, pickleProtocol: result.pickleProtocol,
                                          opcodeCount: result.opcodeCount, complete: result.end != nil,
                                          globals: result.globals))
        findings.append(contentsOf: kept)
    }

    /// Scans one pickle held in memory that must end exactly at the end of `bytes`.
    mutating func scanSinglePickle(_ bytes: ByteSource, from start: Int, location: String, limits: ScanLimits,
                                   framedReader: Bool = false) {
        let result = FileScan.scanStream(bytes, from: start, location: location, limits: limits, framedReader: framedReader)
        record(result, location: location)
        if let end = result.end, end < bytes.count {
            add(.error, .trailingData, location, "\(bytes.count - end) bytes follow the pickle stream's STOP", offset: end)
        }
    }

    /// Reads content that may or may not be a pickle (a tar archive, an archive
    /// member nobody is known to unpickle) as a pickle and keeps what it imports.
    /// Only as many bytes are read as the parse consumes.
    mutating func scanLenient(_ bytes: ByteSource, location: String, limits: ScanLimits) {
        keepImportFindings(of: FileScan.scanStream(bytes, from: 0, location: location, limits: limits), location: location)
    }
}
