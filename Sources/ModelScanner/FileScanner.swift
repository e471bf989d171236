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
        "pkl", "pickle", "joblib", "dat", "pt", "pth", "bin", "ckpt", "npy", "npz", "safetensors", "mar", "pt2", "tar",
    ]

    /// Scans `paths` (files are scanned whatever their name; directories are
    /// walked), then the files the scanned pickles make their loader read
    /// (`report(files:skipped:limits:)`), and returns the whole report. Never
    /// throws: unreadable paths are `unreadable-file` findings, and the
    /// report's `exitCode` says 2.
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
                walk(directory: path, depth: 0, limits: limits, files: &files, skipped: &skipped, progress: progress)
            } else {
                files.append(scanFile(at: path, limits: limits))
                progress?.advance(items: 1)
            }
        }
        progress?.finish()
        return report(files: files, skipped: skipped, limits: limits)
    }

    /// The report over per-file results, after following references: every
    /// file a scanned pickle makes joblib load (`NDArrayWrapper`) is scanned
    /// as `np.load(allow_pickle=True)` reads it, if it was not already, and a
    /// skipped file that is referenced is scanned and no longer skipped. A
    /// walker that scans files itself must build its report here.
    public static func report(files: [FileScanReport], skipped: [String], limits: ScanLimits = ScanLimits()) -> ScanReport {
        var resolver = ReferenceResolver(files: files, skipped: skipped, limits: limits)
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

    /// How many leading bytes `looksLikeModel` needs.
    public static let sniffLength = TarArchive.blockSize

    /// Whether the first bytes of `path` announce a format the scanner reads
    /// (zip, .npy, safetensors, a protocol 2+ pickle, or a tar header as
    /// Python's `tarfile` accepts it). A walker scans such files whatever
    /// their name; an unreadable file counts as a model, so its failure is reported.
    public static func looksLikeModel(atPath path: String) -> Bool {
        guard let file = try? RandomAccessFile(path: path),
              let prefix = try? file.read(at: 0, count: Int(min(file.size, UInt64(sniffLength)))) else {
            return true
        }
        return FileScan.sniff(prefix, size: file.size) != nil || TarArchive.isHeader(prefix)
    }

    static func unreadable(_ path: String, _ reason: String) -> FileScanReport {
        FileScanReport(path: path, format: .unknown, size: nil, streams: [], findings: [
            ScanFinding(severity: .error, kind: .unreadableFile, location: path, message: "cannot read: \(reason)"),
        ], references: [])
    }

    private static func walk(directory: String, depth: Int, limits: ScanLimits, files: inout [FileScanReport],
                             skipped: inout [String], progress: ProgressReporter?) {
        guard depth <= limits.maxDirectoryDepth else {
            files.append(FileScanReport(path: directory, format: .unknown, size: nil, streams: [], findings: [
                ScanFinding(severity: .error, kind: .resourceLimit, location: directory,
                            message: "directory nesting deeper than \(limits.maxDirectoryDepth) levels is not walked"),
            ], references: []))
            return
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            files.append(unreadable(directory, "cannot list the directory"))
            return
        }
        for name in names {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var link = stat()
            guard lstat(path, &link) == 0 else { files.append(unreadable(path, FileIO.errnoDescription(errno))); continue }
            let type = link.st_mode & S_IFMT
            if type == S_IFDIR {
                walk(directory: path, depth: depth + 1, limits: limits, files: &files, skipped: &skipped, progress: progress)
                continue
            }
            if type == S_IFLNK {
                // Follow links to files (a model directory may link its weights);
                // never descend through a link to a directory (loops).
                var target = stat()
                guard stat(path, &target) == 0 else { files.append(unreadable(path, "broken symbolic link")); continue }
                if (target.st_mode & S_IFMT) == S_IFDIR { skipped.append(path); continue }
            } else if type != S_IFREG {
                skipped.append(path)
                continue
            }
            let ext = (name as NSString).pathExtension.lowercased()
            if modelFileExtensions.contains(ext) || looksLikeModel(atPath: path) {
                files.append(scanFile(at: path, limits: limits))
                progress?.advance(items: 1)
            } else {
                skipped.append(path)
            }
        }
    }
}
