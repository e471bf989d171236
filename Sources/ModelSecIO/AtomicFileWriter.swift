#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes a file so that readers only ever see the complete result.
///
/// Bytes go to a temporary file beside the destination, named
/// `.<name>.modelsec-tmp-<random>` so a leftover one is recognisable. `commit()`
/// flushes it to disk and renames it into place; if the writer is released or
/// `abort()`ed before that, the temporary file is removed and the destination is
/// untouched. The file is created with the requested mode from the start (0600
/// for secrets), so a secret is never briefly world-readable.
///
/// A destination that is a character device or a FIFO (`/dev/null`, a named
/// pipe, `/dev/stdout`) is a stream, not a file to replace: it is written
/// through, needs no `overwrite`, and is never renamed over (which would turn
/// `/dev/null` into a regular file for every other process). A secret (a mode
/// with no group or other bits) is never written to one; nor is anything
/// written to a block device or a socket.
public final class AtomicFileWriter {
    /// The final path.
    public let destination: String
    /// The temporary path being written.
    public let temporaryPath: String
    private var fd: Int32
    private let overwrite: Bool
    /// True when the destination is a stream written through (no temporary file).
    private let passThrough: Bool
    private var finished = false
    private var cleanupToken = 0

    /// Opens a temporary file for `destination` with permission bits `mode`.
    /// Unless `overwrite` is set, an existing destination is refused now and
    /// again, atomically, at commit.
    public init(destination: String, mode: mode_t = 0o644, overwrite: Bool = true) throws {
        self.destination = destination
        self.overwrite = overwrite
        if Self.isStream(destination) {
            guard mode & 0o077 != 0 else {
                throw FileError(path: destination, reason: "is a device or a pipe; a secret is written only to a regular file")
            }
            passThrough = true
            temporaryPath = destination
            fd = open(destination, O_WRONLY | O_CLOEXEC | O_NOCTTY)
            guard fd >= 0 else { throw FileError(path: destination, reason: "cannot open for writing: \(FileIO.errnoDescription(errno))") }
            return
        }
        passThrough = false
        try Self.checkDestination(destination, overwrite: overwrite)
        let url = URL(fileURLWithPath: destination)
        let directory = url.deletingLastPathComponent().path
        var suffix = ""
        for _ in 0..<8 { suffix += String(format: "%02x", UInt8.random(in: 0...255)) }
        temporaryPath = (directory as NSString).appendingPathComponent(".\(url.lastPathComponent).modelsec-tmp-\(suffix)")
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw FileError(path: destination, reason: "cannot create a file in \(directory): \(FileIO.errnoDescription(errno))")
        }
        cleanupToken = CleanupOnSignal.register(temporaryPath, isDirectory: false)
        // The umask may have narrowed the mode; set exactly what was asked.
        fchmod(fd, mode)
    }

    deinit { abort() }

    /// Checks, without creating anything, that `destination` could be
    /// written: its directory exists and this process may create files in it,
    /// it is not itself a directory, and (unless `overwrite`) it does not
    /// exist. Commands call this before long work (hashing a large model) so
    /// that a bad output path fails at once, not at the end.
    public static func checkDestination(_ destination: String, overwrite: Bool = true) throws {
        if isStream(destination) { return }
        var st = stat()
        if lstat(destination, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFDIR: throw FileError(path: destination, reason: "is a directory, expected a file")
            case S_IFBLK, S_IFSOCK: throw FileError(path: destination, reason: "is a block device or a socket, expected a file")
            default: break
            }
            if !overwrite { throw OutputExistsError(path: destination) }
        }
        let directory = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        guard stat(directory, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw FileError(path: destination, reason: "the directory \(directory) does not exist")
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw FileError(path: destination, reason: "cannot create a file in \(directory): \(FileIO.errnoDescription(errno))")
        }
    }

    /// True when `path` is, after following links, a character device or a
    /// FIFO: a stream the writer writes through instead of replacing.
    public static func isStream(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let type = st.st_mode & S_IFMT
        return type == S_IFCHR || type == S_IFIFO
    }

    /// Appends bytes.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard !finished else { throw FileError(path: destination, reason: "write after commit") }
        do {
            try FileIO.writeAll(fd, buffer, name: destination)
        } catch {
            abort()
            throw error
        }
    }

    /// Appends bytes.
    public func write<D: ContiguousBytes>(_ data: D) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Appends UTF-8 text.
    public func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    /// Flushes to disk and renames the file into place.
    public func commit() throws {
        guard !finished else { return }
        if passThrough {
            finished = true
            close(fd)
            fd = -1
            return
        }
        if fsync(fd) != 0 {
            let reason = FileIO.errnoDescription(errno)
            abort()
            throw FileError(path: destination, reason: "flush failed: \(reason)")
        }
        close(fd)
        fd = -1
        if overwrite {
            guard rename(temporaryPath, destination) == 0 else {
                let reason = FileIO.errnoDescription(errno)
                abort()
                throw FileError(path: destination, reason: "cannot move into place: \(reason)")
            }
        } else {
            // link(2) fails if the destination appeared meanwhile: no clobbering.
            guard link(temporaryPath, destination) == 0 else {
                let code = errno
                abort()
                if code == EEXIST { throw OutputExistsError(path: destination) }
                throw FileError(path: destination, reason: FileIO.errnoDescription(code))
            }
            unlink(temporaryPath)
        }
        finished = true
        CleanupOnSignal.unregister(cleanupToken)
    }

    /// Discards the temporary file; the destination is untouched.
    public func abort() {
        guard !finished else { return }
        finished = true
        if fd >= 0 { close(fd); fd = -1 }
        guard !passThrough else { return }  // the destination itself: never removed
        unlink(temporaryPath)
        CleanupOnSignal.unregister(cleanupToken)
    }

    /// Writes `data` to `path` atomically in one call.
    public static func write<D: ContiguousBytes>(_ data: D, to path: String, mode: mode_t = 0o644, overwrite: Bool = true) throws {
        let writer = try AtomicFileWriter(destination: path, mode: mode, overwrite: overwrite)
        try writer.write(data)
        try writer.commit()
    }
}
