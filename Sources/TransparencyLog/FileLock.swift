#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ModelSecIO

/// An exclusive advisory lock (flock) on a file, held until `unlock` or
/// deinit. Serialises appends to one log directory across processes; the
/// kernel releases it when the holder dies, so a killed append never
/// leaves the log locked.
final class FileLock {
    private var fd: Int32

    /// Blocks until the lock on `path` (created if needed) is held;
    /// `waiting` is called once, before blocking, when another process holds
    /// it (so a command can say what it waits for).
    init(path: String, waiting: (() -> Void)? = nil) throws {
        // O_NOFOLLOW: a link planted at the lock's name is refused, never
        // followed to create or lock a file elsewhere.
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open the lock file: \(FileIO.errnoDescription(errno))") }
        if let waiting, flock(fd, LOCK_EX | LOCK_NB) == 0 { return }
        waiting?()
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let reason = FileIO.errnoDescription(errno)
            close(fd)
            throw FileError(path: path, reason: "cannot lock: \(reason)")
        }
    }

    /// Releases the lock.
    func unlock() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    deinit { unlock() }
}

/// Durable file writes: each file is written to a temporary name, flushed
/// and renamed, and the directories that received new names are flushed,
/// so after `sync()` returns the files survive a crash.
struct DurableWriter {
    private var directories: Set<String> = []

    /// Writes `bytes` to `path` (parent directories created as needed).
    mutating func write(_ bytes: [UInt8], to path: String) throws {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty, !directories.contains(directory) {
            try Self.makeDirectories(directory)
        }
        try AtomicFileWriter.write(bytes, to: path)
        if !directory.isEmpty { directories.insert(directory) }
    }

    /// Flushes every directory that received a file.
    mutating func sync() throws {
        for directory in directories.sorted() { try Self.syncDirectory(directory) }
        directories.removeAll()
    }

    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, reason: FileIO.errnoDescription(errno)) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileError(path: path, reason: "flush failed: \(FileIO.errnoDescription(errno))") }
    }

    /// mkdir -p, flushing each parent that gains a directory.
    static func makeDirectories(_ path: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw FileError(path: path, reason: "is not a directory") }
            return
        }
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !parent.isEmpty { try makeDirectories(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw FileError(path: path, reason: "cannot create the directory: \(FileIO.errnoDescription(errno))")
        }
        if !parent.isEmpty { try syncDirectory(parent) }
    }
}
