#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An open directory under which files are created by descriptor, never by
/// joining strings: each component of a relative path is created with
/// `mkdirat` and opened with `openat(O_DIRECTORY | O_NOFOLLOW)` from its
/// parent's descriptor, and the file itself with `O_CREAT | O_EXCL |
/// O_NOFOLLOW`. Paths are ``ModelPath``s, whose components are never empty,
/// `.` or `..` when they come from ``ModelPath/safeRelative(_:)`` or a walk
/// (this type checks again). So nothing created through it can land outside
/// the directory, whatever the path's bytes, and no symbolic link planted
/// inside it is followed.
///
/// (Linux's `openat2(RESOLVE_BENEATH)` gives the same guarantee in one call,
/// but it has no libc wrapper Swift can call; resolving one component at a
/// time with `O_NOFOLLOW` is the portable equivalent.)
public final class DirectoryDescriptor {
    /// The directory's path, for messages.
    public let path: String
    /// The open descriptor.
    public let fd: Int32

    /// Opens the directory at `path` (which must not be a symbolic link).
    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open the directory: \(FileIO.errnoDescription(errno))") }
    }

    deinit { close(fd) }

    /// Creates the regular file `relative` (and any missing parent
    /// directories, mode 0755) with permission bits `mode`, and returns a
    /// descriptor open for writing. Refuses an existing file.
    public func createFile(_ relative: ModelPath, mode: mode_t = 0o644) throws -> OutputFile {
        let components = relative.components
        guard !components.isEmpty, components.allSatisfy(Self.isPlainName) else {
            throw FileError(path: path, reason: "refusing to create \"\(relative.string)\": not a plain relative path")
        }
        var parent = try duplicate()
        defer { close(parent) }
        let shown = path + "/" + relative.string
        for component in components.dropLast() {
            let child = try Self.openOrMakeDirectory(component, in: parent, shown: shown)
            close(parent)
            parent = child
        }
        let name = components.last!
        let fileFD = (name + [0]).withUnsafeBufferPointer {
            openat(parent, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self),
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        }
        guard fileFD >= 0 else { throw FileError(path: shown, reason: "cannot create: \(FileIO.errnoDescription(errno))") }
        fchmod(fileFD, mode)
        return OutputFile(fd: fileFD, path: shown)
    }

    /// Writes `bytes` to the new file `relative` and syncs it.
    public func writeFile<D: ContiguousBytes>(_ bytes: D, to relative: ModelPath, mode: mode_t = 0o644) throws {
        let file = try createFile(relative, mode: mode)
        try bytes.withUnsafeBytes { try file.write($0) }
        try file.finish()
    }

    private func duplicate() throws -> Int32 {
        let copy = dup(fd)
        guard copy >= 0 else { throw FileError(path: path, reason: FileIO.errnoDescription(errno)) }
        return copy
    }

    private static func isPlainName(_ name: [UInt8]) -> Bool {
        !name.isEmpty && name.count <= 255 && !name.contains(0) && !name.contains(UInt8(ascii: "/"))
            && name != [UInt8(ascii: ".")] && name != [UInt8(ascii: "."), UInt8(ascii: ".")]
    }

    /// Opens the directory `name` under `parent`, creating it if missing;
    /// a symbolic link or anything else in its place is refused.
    private static func openOrMakeDirectory(_ name: [UInt8], in parent: Int32, shown: String) throws -> Int32 {
        try (name + [0]).withUnsafeBufferPointer { buffer -> Int32 in
            let cName = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            if mkdirat(parent, cName, 0o755) != 0, errno != EEXIST {
                throw FileError(path: shown, reason: "cannot create a directory: \(FileIO.errnoDescription(errno))")
            }
            let child = openat(parent, cName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else {
                throw FileError(path: shown, reason: "cannot open a directory on the path (a symbolic link or a file is in the way): \(FileIO.errnoDescription(errno))")
            }
            return child
        }
    }
}

/// A file being written through its descriptor (see ``DirectoryDescriptor``).
public final class OutputFile {
    /// The file's path, for messages.
    public let path: String
    private var fd: Int32

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Appends bytes.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw FileError(path: path, reason: "write after the file was closed") }
        try FileIO.writeAll(fd, buffer, name: path)
    }

    /// Appends bytes.
    public func write<D: ContiguousBytes>(_ bytes: D) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Flushes the file to disk and closes it.
    public func finish() throws {
        guard fd >= 0 else { return }
        defer { close(fd); fd = -1 }
        guard fsync(fd) == 0 else { throw FileError(path: path, reason: "flush failed: \(FileIO.errnoDescription(errno))") }
    }
}
