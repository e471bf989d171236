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
    /// when their content looks like a model format (`looksLikeModel`), and
    /// listed as skipped otherwise.
    public static let modelFileExtensions: Set<String> = [
        "pkl", "pickle", "p", "sav", "joblib", "dat", "pt", "pth", "bin", "ckpt", "npy", "npz", "safetensors", "mar", "pt2", "tar",
        "gguf", "onnx", "keras", "h5", "hdf5", "pb",
    ]

    /// Scans `paths` (files are scanned whatever their name; directories are
    /// walked with ``ModelTree``, following symbolic links), then the files
    /// the scanned pickles make their loader read (`report(files:skipped:limits:)`),
    /// and returns the whole report. Never throws: unreadable paths are
    /// `unreadable-file` findings, and the report's `exitCode` says 2.
    public static func scan(paths: [String], limits: ScanLimits = ScanLimits(),
                            progress: ProgressReporter? = nil) -> ScanReport {
        var files: [FileScanReport] = []
        var skipped: [String] = []
        var followedInTree = Set<Int>()
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
                // Their references were followed through the walk: not again by path below.
                let reports = scan.scanned.map(\.report) + scan.unattached
                followedInTree.formUnion(files.count..<(files.count + reports.count))
                files += reports
                skipped += scan.skipped.map(\.displayPath)
            } else {
                files.append(scanFile(at: path, limits: limits))
                progress?.advance(items: 1)
            }
        }
        progress?.finish()
        return report(files: files, skipped: skipped, limits: limits, tree: nil, alreadyFollowed: followedInTree)
    }

    /// Scans the files of a walked model. Each report is attached to the
    /// file's ``ModelPath`` by construction, so a caller never has to match
    /// paths as strings to find which file a finding belongs to.
    ///
    /// Files with a model extension are always scanned; others only when their
    /// content looks like a model format, and are listed as skipped otherwise.
    public static func scan(tree: ModelTree, limits: ScanLimits = ScanLimits(),
                            progress: ProgressReporter? = nil) -> ModelTreeScan {
        // Each file is judged and scanned on its own, so the files are spread
        // over the cores (the project's one parallel-for); results keep the
        // tree's order, nil for a skipped file.
        let results = ResultSlots<FileScanReport?>(count: tree.files.count)
        // Files are opened through their directories' descriptors, as the
        // walk saw them (a directory or file swapped for a link since is not
        // followed out of the model): one opener per lane.
        let openers = (0..<ParallelWork.defaultLanes).map { _ in ModelTree.Opener(tree) }
        // The jobs never throw.
        try? ParallelWork.forEach(count: tree.files.count, lanes: openers.count) { index, lane in
            let file = tree.files[index]
            let path = file.displayPath
            let opened: RandomAccessFile
            do {
                opened = RandomAccessFile(adopting: try openers[lane.index].openUnchanged(file), path: path, size: UInt64(file.size))
            } catch {
                // Unreadable counts as a model, so its failure is reported.
                results.set(index, unreadable(path, openFailure(error)))
                progress?.advance(items: 1)
                return
            }
            if tree.isSingleFile || modelFileExtensions.contains(fileExtension(bytes: file.path.bytes)) || looksLikeModel(opened, limits: limits) {
                results.set(index, scanFile(opened, limits: limits, mode: .detect))
                progress?.advance(items: 1)
            } else {
                results.set(index, nil)
            }
        }
        let slots = results.values
        var reports: [FileScanReport] = []
        var skippedPaths: [String] = []
        for (file, report) in zip(tree.files, slots) {
            if let report { reports.append(report) } else { skippedPaths.append(file.displayPath) }
        }
        // Files the pickles make their loader read are scanned too, then each
        // report is attached back to its file by the exact bytes of its path.
        let resolved = report(files: reports, skipped: skippedPaths, limits: limits, tree: tree)
        // The resolver keeps the reports it was given first, in order (it
        // merges into them and appends new ones), so most reports are
        // attached by position, each checked against its file's path bytes;
        // only the rest are looked up by path (hashing every path was 3% of
        // scanning a directory of 2,000 small pickles, callgrind).
        var scannedFiles: [ModelTree.File] = []
        scannedFiles.reserveCapacity(reports.count)
        for (file, report) in zip(tree.files, slots) where report != nil { scannedFiles.append(file) }
        var fileByPath: [[UInt8]: ModelTree.File]?
        var scanned: [ModelTreeScan.Entry] = []
        scanned.reserveCapacity(resolved.files.count)
        var extra: [FileScanReport] = []
        for (index, report) in resolved.files.enumerated() {
            if index < scannedFiles.count, isPath(report.path, of: scannedFiles[index]) {
                scanned.append(.init(file: scannedFiles[index], report: report))
                continue
            }
            if fileByPath == nil {
                var table: [[UInt8]: ModelTree.File] = [:]
                for file in tree.files { table[Array(file.displayPath.utf8)] = file }
                fileByPath = table
            }
            if let file = fileByPath?[Array(report.path.utf8)] {
                scanned.append(.init(file: file, report: report))
            } else {
                extra.append(report)   // a referenced file spelled differently: kept, never dropped
            }
        }
        let skippedFiles: [ModelTree.File]
        if resolved.skipped.isEmpty {
            skippedFiles = []
        } else {
            let stillSkipped = Set(resolved.skipped.map { Array($0.utf8) })
            skippedFiles = tree.files.filter { stillSkipped.contains(Array($0.displayPath.utf8)) }
        }
        return ModelTreeScan(root: tree.root, scanned: scanned, skipped: skippedFiles, unattached: extra)
    }

    /// Whether `path` is exactly `file`'s path on disk (its bytes compared in
    /// one `memcmp`; no String made from the file's bytes).
    private static func isPath(_ path: String, of file: ModelTree.File) -> Bool {
        let bytes = file.fileSystemPath   // NUL-terminated
        let fast = path.utf8.withContiguousStorageIfAvailable { p in
            p.count == bytes.count - 1 && (p.isEmpty || bytes.withUnsafeBufferPointer { memcmp(p.baseAddress!, $0.baseAddress!, p.count) == 0 })
        }
        return fast ?? bytes.dropLast().elementsEqual(path.utf8)
    }

    /// The finding for a directory that the walker refused or could not read.
    private static func walkFailure(_ error: ModelTreeError, limits: ScanLimits) -> FileScanReport {
        let kind: FindingKind
        switch error.problem {
        case .tooDeep, .tooManyEntries, .tooManyRepeatedDirectories: kind = .resourceLimit
        default: kind = .unreadableFile
        }
        return FileScanReport(path: error.file, format: .unknown, size: nil, streams: [], findings: [
            ScanFinding(severity: .error, kind: kind, location: error.file, message: error.reason),
        ], references: [])
    }

    /// The report over per-file results, after following references: every
    /// file a scanned pickle makes joblib load (`NDArrayWrapper`) is scanned
    /// as `np.load(allow_pickle=True)` reads it, if it was not already, and a
    /// skipped file that is referenced is scanned and no longer skipped. A
    /// walker that scans files itself must build its report here.
    public static func report(files: [FileScanReport], skipped: [String], limits: ScanLimits = ScanLimits()) -> ScanReport {
        report(files: files, skipped: skipped, limits: limits, tree: nil)
    }

    /// ``report(files:skipped:limits:)`` for the files of `tree` (nil: files
    /// given by path), whose referenced files are opened through the walk;
    /// the references of the reports at `alreadyFollowed` are not followed again.
    static func report(files: [FileScanReport], skipped: [String], limits: ScanLimits, tree: ModelTree?,
                       alreadyFollowed: Set<Int> = []) -> ScanReport {
        var resolver = ReferenceResolver(files: files, skipped: skipped, limits: limits, tree: tree, alreadyFollowed: alreadyFollowed)
        resolver.run()
        return ScanReport(files: resolver.files, skipped: resolver.skipped)
    }

    /// Scans one file, detecting its format from its content. References to
    /// other files are listed in the result but not followed (see `report`).
    public static func scanFile(at path: String, limits: ScanLimits = ScanLimits()) -> FileScanReport {
        scanFile(at: path, limits: limits, mode: .detect)
    }

    static func scanFile(at path: String, limits: ScanLimits, mode: FileScan.Mode) -> FileScanReport {
        let file: RandomAccessFile
        do {
            file = try RandomAccessFile(path: path)
        } catch {
            return unreadable(path, (error as? FileError)?.reason ?? "\(error)")
        }
        return scanFile(file, limits: limits, mode: mode)
    }

    /// Scans an open file (named in the report by its `path`).
    static func scanFile(_ file: RandomAccessFile, limits: ScanLimits, mode: FileScan.Mode) -> FileScanReport {
        let path = file.path
        var scan = FileScan(path: path, size: file.size)
        do {
            try scan.run(file, limits: limits, mode: mode)
        } catch let error as FileError {
            return unreadable(path, error.reason)
        } catch {
            return unreadable(path, "\(error)")
        }
        return scan.report
    }

    /// How many leading bytes `looksLikeModel` reads.
    public static let sniffLength = 64 * 1024

    /// Whether `path` may be a format a loader would read, whatever its name:
    /// its first bytes announce zip, .npy, safetensors, a protocol 2+ pickle or
    /// a tar header as Python's `tarfile` accepts it; or they parse as a
    /// pickle far enough to matter. Protocol 0/1 pickles have no magic, and
    /// `pickle.load` runs what a stream imports as it reads, even when the
    /// stream breaks later, so a file is scanned when a trial parse of its
    /// first bytes reaches STOP, imports anything, or runs out of those bytes
    /// before the file ends. Text such as JSON fails at its first byte and is
    /// skipped. An unreadable file counts as a model, so its failure is reported.
    public static func looksLikeModel(atPath path: String, limits: ScanLimits = ScanLimits()) -> Bool {
        guard let file = try? RandomAccessFile(path: path) else { return true }
        return looksLikeModel(file, limits: limits)
    }

    /// ``looksLikeModel(atPath:limits:)`` of an open file.
    static func looksLikeModel(_ file: RandomAccessFile, limits: ScanLimits) -> Bool {
        let path = file.path
        guard let prefix = try? file.read(at: 0, count: Int(min(file.size, UInt64(sniffLength)))) else {
            return true
        }
        if FileScan.sniff(prefix, size: file.size) != nil || TarArchive.isHeader(prefix) { return true }
        guard !prefix.isEmpty else { return false }
        let trial = PickleScanner.scan(prefix, location: path, limits: limits)
        if trial.end != nil || !trial.globals.isEmpty { return true }
        if trial.findings.contains(where: { FileScan.importKinds.contains($0.kind) }) { return true }
        return trial.ranOutOfInput && UInt64(prefix.count) < file.size
    }

    /// Why a walked file could not be opened, worded as `unreadable` expects.
    static func openFailure(_ error: Error) -> String {
        guard let error = error as? ModelTreeError else { return "\(error)" }
        switch error.problem {
        case let .cannotRead(code): return FileIO.errnoDescription(code)
        case .notRegularFile: return "not a regular file"
        default: return error.reason
        }
    }

    static func unreadable(_ path: String, _ reason: String) -> FileScanReport {
        FileScanReport(path: path, format: .unknown, size: nil, streams: [], findings: [
            ScanFinding(severity: .error, kind: .unreadableFile, location: path, message: "cannot read: \(reason)"),
        ], references: [])
    }

}
