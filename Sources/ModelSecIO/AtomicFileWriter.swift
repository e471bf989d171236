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
    ///
    /// `streamable` says whether the bytes may go to a stream (a device, a
    /// pipe, the caller's stdout); by default only what is not a secret
    /// (a mode with group or other bits) may. Decrypted plaintext, written
    /// 0600, may be streamed as `--output -` streams it.
    public init(destination: String, mode: mode_t = 0o644, overwrite: Bool = true, streamable: Bool? = nil) throws {
        self.destination = destination
        self.overwrite = overwrite
        if let stream = try Self.openStream(destination, secret: !(streamable ?? (mode & 0o077 != 0))) {
            passThrough = true
            temporaryPath = destination
            fd = stream
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
    /// FIFO, or names the caller's own stream (``isCallersStreamPath(_:)``):
    /// a stream the writer writes through instead of replacing.
    public static func isStream(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let type = st.st_mode & S_IFMT
        return type == S_IFCHR || type == S_IFIFO || isCallersStreamPath(path)
    }

    /// True for a path under `/dev/` or `/proc/` (`/dev/stdout`, `/dev/fd/1`,
    /// `/proc/self/fd/1`): it names a stream the caller set up, written
    /// through whatever it is (a shell's redirect to a file included), and
    /// its link is never renamed over.
    static func isCallersStreamPath(_ path: String) -> Bool {
        let bytes = Array(path.utf8)
        return bytes.starts(with: Array("/dev/".utf8)) || bytes.starts(with: Array("/proc/".utf8))
    }

    /// The descriptor `path` names in this process: 1 for `/dev/stdout`, 2
    /// for `/dev/stderr`, N for `/dev/fd/N` and `/proc/self/fd/N`.
    static func callersDescriptor(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default:
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.utf8.starts(with: prefix.utf8) {
                let digits = path.utf8.dropFirst(prefix.utf8.count)
                guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
                return Int32(String(decoding: digits, as: UTF8.self))
            }
            return nil
        }
    }

    /// Opens `destination` for writing through when it is a stream, deciding
    /// on what was opened (fstat), not on an earlier look at the path: a link
    /// switched between the two cannot turn the write onto a file. Nil when
    /// it is a file to replace atomically. A FIFO with no reader is waited
    /// for 10 s at most, then refused; a secret is never written to a stream.
    static func openStream(_ destination: String, secret: Bool) throws -> Int32? {
        guard isStream(destination) else { return nil }
        // Refused before opening (a FIFO would make us wait for a reader); a
        // link switched to a file meanwhile is refused too, which fails closed.
        if secret {
            throw FileError(path: destination, reason: "is a device, a pipe or the caller's stream; a secret is written only to a file of its own")
        }
        // The process's own descriptor (/dev/stdout, /dev/fd/1, /proc/self/fd/1):
        // a duplicate shares its file offset, so what the command also prints
        // there follows the output instead of overwriting it.
        if let own = callersDescriptor(destination) {
            let fd = fcntl(own, F_DUPFD_CLOEXEC, 0)
            guard fd >= 0 else { throw FileError(path: destination, reason: "cannot use: \(FileIO.errnoDescription(errno))") }
            return fd
        }
        let deadline = Date().addingTimeInterval(10)
        var fd: Int32 = -1
        while true {
            fd = open(destination, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)
            if fd >= 0 { break }
            let code = errno
            if code == ENXIO, Date() < deadline { usleep(10_000); continue }
            if code == ENXIO { throw FileError(path: destination, reason: "is a pipe that nothing reads (waited 10 s)") }
            if code == ENOENT, !isCallersStreamPath(destination) { return nil }
            throw FileError(path: destination, reason: "cannot open for writing: \(FileIO.errnoDescription(code))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = FileIO.errnoDescription(errno)
            close(fd)
            throw FileError(path: destination, reason: "cannot inspect: \(reason)")
        }
        let type = st.st_mode & S_IFMT
        let stream = type == S_IFCHR || type == S_IFIFO
            || (isCallersStreamPath(destination) && (type == S_IFREG || type == S_IFSOCK))
        guard stream else {
            close(fd)   // nothing was written; the file is replaced by rename instead
            return nil
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)   // blocking writes from here on
        return fd
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
