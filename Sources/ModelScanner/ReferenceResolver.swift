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
///
/// For the files of a walked model (``ModelScanner/scan(tree:limits:progress:)``)
/// the referenced file must be one the walk listed, and it is opened through
/// the walk's directory descriptors (``ModelTree/Opener``), never by its path:
/// a directory or file swapped for a symbolic link, or a file replaced,
/// after the walk is an `unreadable-file` finding, never a read of a file
/// outside the model or of another file than the one listed. For a file
/// given by path, the referenced file is opened by its resolved path without
/// following a final link and must be the device and inode that were judged
/// inside the directory, else it is an `unreadable-file` finding.
struct ReferenceResolver {
    private(set) var files: [FileScanReport]
    private(set) var skipped: [String]
    let limits: ScanLimits
    /// The walked model the reports come from (nil: files given by path).
    private let tree: ModelTree?
    /// Opens the tree's files (built with the tables below, when a report lists a reference).
    private var opener: ModelTree.Opener?
    /// The tree's files by the bytes of their paths on disk, and by their paths in the model.
    private var treeFileByPath: [ExactString: ModelTree.File] = [:]
    private var treeFileByModelPath: [ModelPath: ModelTree.File] = [:]
    /// Reports whose references were already followed (in their own tree's scan).
    private let alreadyFollowed: Set<Int>

    /// Formats whose scan covers what `np.load(allow_pickle=True)` does with the file.
    private static let numpyLoadCovered: Set<ModelFileFormat> = [.zip, .npz, .pytorchZip, .npy, .pickle, .pytorchLegacy]

    /// What a followed name was judged to be: a file of the walked model, or
    /// (files given by path) the path with no link left in it and the device
    /// and inode it named when it was judged inside the directory.
    private enum Target {
        case walked(ModelTree.File)
        case byPath(real: String, device: UInt64, inode: UInt64)
    }

    /// Called with a by-path target after it was judged and before it is
    /// opened: tests rename files there.
    private let beforeOpeningByPath: ((String) -> Void)?

    /// Index of each report by its path's bytes (the first report for a path);
    /// built by `run` only when some report lists a reference (hashing every
    /// path of a directory of 2,000 small pickles that reference nothing was
    /// 3% of scanning it, callgrind).
    private var indexByPath: [ExactString: Int] = [:]

    /// A resolver over `files`; `tree` is the walked model they are files
    /// of (nil when they were given by path); the references of the reports
    /// at `alreadyFollowed` are not followed again.
    init(files: [FileScanReport], skipped: [String], limits: ScanLimits, tree: ModelTree? = nil, alreadyFollowed: Set<Int> = [],
         beforeOpeningByPath: ((String) -> Void)? = nil) {
        self.files = files
        self.beforeOpeningByPath = beforeOpeningByPath
        self.skipped = skipped
        self.limits = limits
        self.tree = tree?.isSingleFile == false ? tree : nil   // a single file's neighbours were not walked
        self.alreadyFollowed = alreadyFollowed
    }

    mutating func run() {
        guard files.indices.contains(where: { !alreadyFollowed.contains($0) && !files[$0].references.isEmpty }) else { return }
        for (index, file) in files.enumerated() where indexByPath[ExactString(file.path)] == nil {
            indexByPath[ExactString(file.path)] = index
        }
        if let tree {
            opener = ModelTree.Opener(tree)
            for file in tree.files {
                treeFileByPath[ExactString(file.displayPath)] = file
                treeFileByModelPath[file.path] = file
            }
        }
        var queue = files.indices.filter { !alreadyFollowed.contains($0) }
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
                guard let resolved = resolve(name, from: files[index].path) else { continue }
                let (target, judged) = resolved
                let key = ExactString(target)
                guard !rescanned.contains(key) else { continue }
                rescanned.insert(key)
                if let existing = indexByPath[key] {
                    guard !ReferenceResolver.numpyLoadCovered.contains(files[existing].format) else { continue }
                    let extra = scan(target, judged)
                    files[existing] = files[existing].merging(extra)
                    queue.append(existing)
                } else {
                    nowScanned.insert(key)
                    files.append(scan(target, judged))
                    indexByPath[key] = files.count - 1
                    queue.append(files.count - 1)
                }
            }
        }
    }

    /// Scans `target` as `np.load` reads it: the walked file through the
    /// walk's directory descriptors, else (files given by path) the file
    /// judged inside the directory, opened by its link-free path and checked
    /// to be that same device and inode.
    private func scan(_ target: String, _ judged: Target) -> FileScanReport {
        let opened: RandomAccessFile
        switch judged {
        case let .walked(walked):
            guard let opener else { preconditionFailure("a walked target without the walk's opener") }
            do {
                opened = RandomAccessFile(adopting: try opener.openUnchanged(walked), path: target, size: UInt64(walked.size))
            } catch {
                return ModelScanner.unreadable(target, ModelScanner.openFailure(error))
            }
        case let .byPath(real, device, inode):
            beforeOpeningByPath?(target)
            do {
                opened = try RandomAccessFile(path: target, identity: (real, device, inode))
            } catch {
                return ModelScanner.unreadable(target, (error as? FileError)?.reason ?? "\(error)")
            }
        }
        return ModelScanner.scanFile(opened, limits: limits, mode: .numpyLoad)
    }

    /// The path `name` names beside `referrer` (with the walked file it is,
    /// for a walked model), or nil (with a finding) when it must not or
    /// cannot be followed.
    private mutating func resolve(_ name: String, from referrer: String) -> (String, Target)? {
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
        guard let realBase = ReferenceResolver.realPath(base), let realTarget = ReferenceResolver.realPath(target, identity: &info),
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
        guard tree != nil else { return (target, .byPath(real: realTarget, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))) }
        // A walked model: the file must be one the walk listed, found by its
        // path in the model (the referrer's directory, then the name's
        // components), and it is named as the walk names it.
        guard let from = treeFileByPath[ExactString(referrer)], let relative = ModelPath.normalizedRelative(name) else {
            attach(referrer, .error, .externalReference,
                   "a joblib NDArrayWrapper makes joblib load \(name.debugDescription), which is not a file of the walked model")
            return nil
        }
        var directory = from.path.components
        directory.removeLast()
        let path = directory.reduce(ModelPath(bytes: [])) { $0.appending($1) }
        guard let walked = treeFileByModelPath[relative.components.reduce(path) { $0.appending($1) }] else {
            attach(referrer, .error, .externalReference,
                   "a joblib NDArrayWrapper makes joblib load \(name.debugDescription), which was not there when the model was listed; scan again once nothing is writing to the model")
            return nil
        }
        // What the path resolved to inside the directory must be the file the
        // walk listed (a link the walk followed may since have been pointed
        // elsewhere and back): the file opened is then the one judged inside.
        guard UInt64(info.st_dev) == walked.stamp.device, UInt64(info.st_ino) == walked.stamp.inode else {
            attach(referrer, .error, .externalReference,
                   "a joblib NDArrayWrapper makes joblib load \(name.debugDescription), which is not the file listed there when the model was listed; scan again once nothing is writing to the model")
            return nil
        }
        return (walked.displayPath, .walked(walked))
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The real path of `path`, with `identity` set to what it names (`lstat`
    /// of the resolved path: no link is left to follow in it).
    private static func realPath(_ path: String, identity: inout stat) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        guard lstat(resolved, &identity) == 0 else { return nil }
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
