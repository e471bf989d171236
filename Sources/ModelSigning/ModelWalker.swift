#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelSecIO

/// One regular file of a model.
public struct ModelFile: Sendable {
    /// The path relative to the model root (`.` for a single-file model).
    public let path: ModelPath
    /// The absolute path as NUL-terminated bytes, ready for `open(2)`.
    let fileSystemPath: [UInt8]
    /// The size when the model was walked.
    public let size: Int64
    /// True when reaching the file followed a symbolic link (allowed links only).
    var followedSymlink = false
    /// Identity, size and timestamps when the model was walked: hashing
    /// refuses a file whose stamp differs when it is opened or finished.
    let stamp: FileStamp

    init(path: ModelPath, fileSystemPath: [UInt8], stamp: FileStamp, followedSymlink: Bool = false) {
        self.path = path
        self.fileSystemPath = fileSystemPath
        self.size = stamp.size
        self.stamp = stamp
        self.followedSymlink = followedSymlink
    }

    /// The absolute path as text, for messages.
    var displayPath: String { String(decoding: fileSystemPath.dropLast(), as: UTF8.self) }
}

/// The files that make up a model, found by walking it.
public struct ModelInventory: Sendable {
    /// True when the model is one regular file rather than a directory.
    public let isSingleFile: Bool
    /// Every regular file not ignored, sorted by `ModelPath` order.
    public let files: [ModelFile]
    /// Every directory walked (the root first) with its stamp then, so that a
    /// signer can tell whether entries were added, removed or renamed while
    /// it was hashing. Empty for a single-file model.
    let directories: [WalkedDirectory]

    /// The directories whose entries changed since the walk (each by its
    /// path as text), in walk order; empty when none did.
    func directoriesChangedSinceWalk() -> [String] {
        directories.filter { FileStamp.of(path: $0.fileSystemPath) != $0.stamp }.map(\.displayPath)
    }
}

/// A directory seen by the walk.
struct WalkedDirectory: Sendable {
    /// The absolute path, NUL-terminated.
    let fileSystemPath: [UInt8]
    /// Its stamp when it was listed.
    let stamp: FileStamp

    var displayPath: String { String(decoding: fileSystemPath.dropLast(), as: UTF8.self) }
}

/// Walks a model directory with `readdir(3)`, keeping every name as the raw
/// bytes the kernel returns (FileManager would hand back `String`s, whose
/// equality folds Unicode normalisation forms together).
///
/// Rules, matching the OMS reference implementation: dotfiles are included;
/// paths equal to or under an ignored path are skipped; symbolic links are an
/// error unless allowed, in which case they are followed (a link to a file is
/// hashed as that file's content, a link to a directory is walked, with loops
/// refused); sockets, FIFOs and devices are an error.
enum ModelWalker {
    static func walk(model: URL, ignoring ignore: [ModelPath], allowSymlinks: Bool,
                     symlinkCategory: FailureCategory = .invalidInput) throws -> ModelInventory {
        let rootText = model.path
        let root = Array(rootText.utf8)
        var st = stat()
        guard lstat(root + [0], &st) == 0 else {
            throw ModelContentError(path: rootText, reason: "cannot read the model: \(FileIO.errnoDescription(errno))")
        }
        let rootIsLink = isType(st, S_IFLNK)
        if rootIsLink {
            guard allowSymlinks else {
                throw ModelContentError(path: rootText, reason: "is a symbolic link; symbolic links are refused unless allowed (--allow-symlinks)", category: symlinkCategory)
            }
            guard stat(root + [0], &st) == 0 else {
                throw ModelContentError(path: rootText, reason: "is a broken symbolic link")
            }
        }
        if isType(st, S_IFREG) {
            let file = ModelFile(path: .singleFileRoot, fileSystemPath: root + [0], stamp: FileStamp(st), followedSymlink: rootIsLink)
            return ModelInventory(isSingleFile: true, files: [file], directories: [])
        }
        guard isType(st, S_IFDIR) else {
            throw ModelContentError(path: rootText, reason: "is neither a regular file nor a directory")
        }
        var walker = Walker(ignore: ignore, allowSymlinks: allowSymlinks, symlinkCategory: symlinkCategory)
        walker.ancestors.insert(DeviceInode(st))
        walker.directories.append(WalkedDirectory(fileSystemPath: root + [0], stamp: FileStamp(st)))
        try walker.walkDirectory(absolute: root, relative: ModelPath(bytes: []))
        return ModelInventory(isSingleFile: false, files: walker.files.sorted { $0.path < $1.path }, directories: walker.directories)
    }

    private static func isType(_ st: stat, _ type: mode_t) -> Bool { (st.st_mode & S_IFMT) == type }

    private struct DeviceInode: Hashable {
        let device: UInt64
        let inode: UInt64
        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    private struct Walker {
        let ignore: [ModelPath]
        let allowSymlinks: Bool
        let symlinkCategory: FailureCategory
        var files: [ModelFile] = []
        var directories: [WalkedDirectory] = []
        var ancestors: Set<DeviceInode> = []

        init(ignore: [ModelPath], allowSymlinks: Bool, symlinkCategory: FailureCategory) {
            self.ignore = ignore
            self.allowSymlinks = allowSymlinks
            self.symlinkCategory = symlinkCategory
        }

        mutating func walkDirectory(absolute: [UInt8], relative: ModelPath) throws {
            let names = try listDirectory(absolute)
            for name in names {
                let path = relative.appending(name)
                if ignore.contains(where: { path.isWithin($0) }) { continue }
                let full = absolute + [UInt8(ascii: "/")] + name
                guard String(validating: name, as: UTF8.self) != nil else {
                    throw ModelContentError(path: String(decoding: full, as: UTF8.self), reason: "the file name is not valid UTF-8; OMS names must be UTF-8")
                }
                var st = stat()
                guard lstat(full + [0], &st) == 0 else {
                    throw ModelContentError(path: String(decoding: full, as: UTF8.self), reason: FileIO.errnoDescription(errno))
                }
                let isLink = ModelWalker.isType(st, S_IFLNK)
                if isLink {
                    guard allowSymlinks else {
                        throw ModelContentError(path: path.string, reason: "is a symbolic link; symbolic links are refused unless allowed (--allow-symlinks)", category: symlinkCategory)
                    }
                    guard stat(full + [0], &st) == 0 else {
                        throw ModelContentError(path: path.string, reason: "is a broken symbolic link")
                    }
                }
                if ModelWalker.isType(st, S_IFREG) {
                    files.append(ModelFile(path: path, fileSystemPath: full + [0], stamp: FileStamp(st), followedSymlink: isLink))
                } else if ModelWalker.isType(st, S_IFDIR) {
                    let id = DeviceInode(st)
                    guard !ancestors.contains(id) else {
                        throw ModelContentError(path: path.string, reason: "a symbolic link loop (the directory contains itself)")
                    }
                    ancestors.insert(id)
                    directories.append(WalkedDirectory(fileSystemPath: full + [0], stamp: FileStamp(st)))
                    try walkDirectory(absolute: full, relative: path)
                    ancestors.remove(id)
                } else {
                    throw ModelContentError(path: path.string, reason: "is a special file (socket, FIFO or device); only regular files and directories can be signed")
                }
            }
        }

        /// The entry names of a directory as raw bytes, without `.` and `..`.
        private func listDirectory(_ absolute: [UInt8]) throws -> [[UInt8]] {
            guard let dir = opendir(absolute.map { CChar(bitPattern: $0) } + [0]) else {
                throw ModelContentError(path: String(decoding: absolute, as: UTF8.self), reason: "cannot list the directory: \(FileIO.errnoDescription(errno))")
            }
            defer { closedir(dir) }
            var names: [[UInt8]] = []
            while true {
                errno = 0
                guard let entry = readdir(dir) else {
                    if errno != 0 {
                        throw ModelContentError(path: String(decoding: absolute, as: UTF8.self), reason: "cannot list the directory: \(FileIO.errnoDescription(errno))")
                    }
                    break
                }
                let name: [UInt8] = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                    tuple.withMemoryRebound(to: UInt8.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) { base in
                        Array(UnsafeBufferPointer(start: base, count: strlen(UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self))))
                    }
                }
                if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
                names.append(name)
            }
            return names
        }
    }
}
