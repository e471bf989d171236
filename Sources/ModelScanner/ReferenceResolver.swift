import ModelSecIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Follows the files that scanned pickles make joblib load.
///
/// A joblib `NDArrayWrapper` makes `joblib.load` call
/// `np.load(os.path.join(dirname(pickle file), name), allow_pickle=True)`:
/// that file is loaded (and unpickled unless it is a .npy/.npz) whatever its
/// name. So each name a report lists is resolved beside the referencing file:
/// - a name that is empty, absolute, contains a `..` component or a NUL, or
///   that resolves (through symbolic links) outside the referencing file's
///   directory is a `dangerous` `external-reference` finding;
/// - a missing file is an `error` `external-reference` finding;
/// - an existing file is scanned as `np.load` reads it (zip, .npy, else a
///   pickle), unless it already was scanned in a way that covers that
///   reading; its findings are merged into its own report (a skipped file
///   becomes a scanned one). Its own references are followed in turn.
struct ReferenceResolver {
    private(set) var files: [FileScanReport]
    private(set) var skipped: [String]
    let limits: ScanLimits

    /// Formats whose scan covers what `np.load(allow_pickle=True)` does with the file.
    private static let numpyLoadCovered: Set<ModelFileFormat> = [.zip, .npz, .pytorchZip, .npy, .pickle, .pytorchLegacy]

    /// Index of each report by its path's bytes (the first report for a path);
    /// built by `run` only when some report lists a reference (hashing every
    /// path of a directory of 2,000 small pickles that reference nothing was
    /// 3% of scanning it, callgrind).
    private var indexByPath: [ExactString: Int] = [:]

    init(files: [FileScanReport], skipped: [String], limits: ScanLimits) {
        self.files = files
        self.skipped = skipped
        self.limits = limits
    }

    mutating func run() {
        guard files.contains(where: { !$0.references.isEmpty }) else { return }
        for (index, file) in files.enumerated() where indexByPath[ExactString(file.path)] == nil {
            indexByPath[ExactString(file.path)] = index
        }
        var queue = Array(files.indices)
        var next = 0
        var visited = 0
        var rescanned = Set<ExactString>()
        var followed = Set<[UInt8]>()
        var nowScanned = Set<ExactString>()
        defer { if !nowScanned.isEmpty { skipped.removeAll { nowScanned.contains(ExactString($0)) } } }
        while next < queue.count {
            let index = queue[next]
            next += 1
            for name in files[index].references {
                let pair = Array(files[index].path.utf8) + [0] + Array(name.utf8)
                guard !followed.contains(pair) else { continue }
                followed.insert(pair)
                visited += 1
                guard visited <= limits.maxZipEntries else {
                    attach(files[index].path, .error, .resourceLimit, "more than \(limits.maxZipEntries) file references; the rest are not followed")
                    return
                }
                guard let target = resolve(name, from: files[index].path) else { continue }
                let key = ExactString(target)
                guard !rescanned.contains(key) else { continue }
                rescanned.insert(key)
                if let existing = indexByPath[key] {
                    guard !ReferenceResolver.numpyLoadCovered.contains(files[existing].format) else { continue }
                    let extra = ModelScanner.scanFile(at: target, limits: limits, mode: .numpyLoad)
                    files[existing] = files[existing].merging(extra)
                    queue.append(existing)
                } else {
                    nowScanned.insert(key)
                    files.append(ModelScanner.scanFile(at: target, limits: limits, mode: .numpyLoad))
                    indexByPath[key] = files.count - 1
                    queue.append(files.count - 1)
                }
            }
        }
    }

    /// The path `name` names beside `referrer`, or nil (with a finding) when it
    /// must not or cannot be followed.
    private mutating func resolve(_ name: String, from referrer: String) -> String? {
        let components = name.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if name.isEmpty || name.utf8.first == UInt8(ascii: "/") || name.utf8.contains(0)
            || components.contains(where: { $0.elementsEqual("..".utf8) }) {
            attach(referrer, .dangerous, .externalReference,
                   "a joblib NDArrayWrapper makes joblib load \(name.debugDescription), which is not a file inside the model's directory")
            return nil
        }
        // The directory part of the referrer's path, cut at its last '/' (as
        // os.path.dirname does), so the target is spelled as a walker spells it.
        let referrerBytes = Array(referrer.utf8)
        let base: String, target: String
        if let slash = referrerBytes.lastIndex(of: UInt8(ascii: "/")) {
            base = slash == 0 ? "/" : String(decoding: referrerBytes[..<slash], as: UTF8.self)
            target = (slash == 0 ? "/" : base + "/") + name
        } else {
            base = "."
            target = name   // os.path.join("", name)
        }
        var info = stat()
        guard stat(target, &info) == 0 else {
            attach(referrer, .error, .externalReference,
                   "a joblib NDArrayWrapper makes joblib load \(name.debugDescription), which does not exist beside the file")
            return nil
        }
        guard let realBase = ReferenceResolver.realPath(base), let realTarget = ReferenceResolver.realPath(target),
              realTarget.utf8.starts(with: (realBase + "/").utf8) || realBase == "/" && realTarget.utf8.first == UInt8(ascii: "/") else {
            attach(referrer, .dangerous, .externalReference,
                   "a joblib NDArrayWrapper makes joblib load \(name.debugDescription), which resolves outside the model's directory")
            return nil
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            attach(referrer, .error, .externalReference,
                   "a joblib NDArrayWrapper makes joblib load \(name.debugDescription), which is not a regular file")
            return nil
        }
        return target
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private mutating func attach(_ path: String, _ severity: FindingSeverity, _ kind: FindingKind, _ message: String) {
        guard let index = indexByPath[ExactString(path)] else { return }
        files[index] = files[index].merging(FileScanReport(path: path, format: files[index].format, size: files[index].size, streams: [],
                                                           findings: [ScanFinding(severity: severity, kind: kind, location: path, message: message)],
                                                           references: []))
    }
}

extension FileScanReport {
    /// This report with the streams, findings and references of another scan of the same file.
    func merging(_ other: FileScanReport) -> FileScanReport {
        var references = self.references
        for name in other.references where !references.contains(where: { $0.bytesEqual(name) }) { references.append(name) }
        let findings = (self.findings + other.findings).enumerated()
            .sorted { ($0.element.severity, $0.offset) < ($1.element.severity, $1.offset) }.map(\.element)
        return FileScanReport(path: path, format: format, size: size ?? other.size, streams: streams + other.streams,
                              findings: findings, references: references)
    }
}
