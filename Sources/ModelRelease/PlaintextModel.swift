#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelSecIO

/// The regular files of a model given to `release create`, found by walking
/// the directory with raw `readdir` names.
///
/// Hand-written rather than `FileManager.enumerator` because names must be
/// checked as raw bytes (a release path must be valid UTF-8, which Foundation
/// would paper over) and symbolic links must be refused, not followed.
struct PlaintextModel {
    /// One file.
    struct File {
        /// Path relative to the model (POSIX, UTF-8).
        let path: String
        /// Where it is on disk.
        let fileSystemPath: String
        /// Size in bytes when walked.
        var size: UInt64 { UInt64(stamp.size) }
        /// Identity, size and timestamps when walked.
        let stamp: FileStamp
    }

    /// Every regular file, sorted by path bytes.
    let files: [File]

    /// The first file (its path on disk) that is not as the walk found it:
    /// written, truncated, replaced or removed. Nil when none changed.
    func firstFileChangedSinceWalk() -> String? {
        files.first(where: { FileStamp.of(path: $0.fileSystemPath) != $0.stamp })?.fileSystemPath
    }

    /// Walks `model`: a directory, or a single file (released under its own name).
    static func walk(_ model: String) throws -> PlaintextModel {
        var st = stat()
        guard lstat(model, &st) == 0 else {
            throw ReleaseInputError(path: model, reason: "cannot read the model: \(String(cString: strerror(errno)))")
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            let name = URL(fileURLWithPath: model).lastPathComponent
            return PlaintextModel(files: [File(path: name, fileSystemPath: model, stamp: FileStamp(st))])
        case S_IFDIR:
            var files: [File] = []
            try walkDirectory(model, relative: nil, depth: 0, into: &files)
            guard !files.isEmpty else { throw ReleaseInputError(path: model, reason: "the model directory has no files") }
            files.sort { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
            return PlaintextModel(files: files)
        case S_IFLNK:
            throw ReleaseInputError(path: model, reason: "is a symbolic link; give the model's real path")
        default:
            throw ReleaseInputError(path: model, reason: "is neither a regular file nor a directory")
        }
    }

    private static func walkDirectory(_ directory: String, relative: String?, depth: Int, into files: inout [File]) throws {
        guard depth < 128 else { throw ReleaseInputError(path: directory, reason: "directories nested more than 128 levels deep") }
        guard let handle = opendir(directory) else {
            throw ReleaseInputError(path: directory, reason: "cannot list: \(String(cString: strerror(errno)))")
        }
        defer { closedir(handle) }
        var names: [[UInt8]] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(name)
        }
        for raw in names {
            let fullPath = directory + "/" + String(decoding: raw, as: UTF8.self)
            guard let name = String(validating: raw, as: UTF8.self) else {
                throw ReleaseInputError(path: directory, reason: "holds a file whose name is not valid UTF-8; rename it before releasing")
            }
            if relative == nil {
                if ReleaseLayout.ignoredTopLevelNames.contains(name) { continue }
                if name == ReleaseLayout.provenanceDirectory {
                    throw ReleaseInputError(path: fullPath, reason: "the model must not contain \(ReleaseLayout.provenanceDirectory)/ (the deploy gate writes release provenance there)")
                }
            }
            let path = relative.map { "\($0)/\(name)" } ?? name
            var st = stat()
            guard lstat(fullPath, &st) == 0 else {
                throw ReleaseInputError(path: fullPath, reason: "cannot read: \(String(cString: strerror(errno)))")
            }
            switch st.st_mode & S_IFMT {
            case S_IFREG: files.append(File(path: path, fileSystemPath: fullPath, stamp: FileStamp(st)))
            case S_IFDIR: try walkDirectory(fullPath, relative: path, depth: depth + 1, into: &files)
            case S_IFLNK: throw ReleaseInputError(path: fullPath, reason: "is a symbolic link; releases contain regular files only")
            default: throw ReleaseInputError(path: fullPath, reason: "is not a regular file or directory")
            }
        }
    }
}
