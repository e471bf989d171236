#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Reading whole (small) files with clear errors.
public enum FileIO {
    /// The bytes of the file at `path`, refusing files over `limit` bytes
    /// before reading them. Pipes are accepted (`--key <(vault read …)`);
    /// use ``readRegularFile(_:limit:)`` for inputs that must be files on disk.
    public static func readFile(_ path: String, limit: Int = 16 << 20) throws -> [UInt8] {
        try readContents(path, limit: limit, regularOnly: false)
    }

    /// The bytes of the regular file at `path`, refusing files over `limit`
    /// bytes before reading them. The file is opened non-blocking, so a FIFO,
    /// socket or device put in its place is refused at once instead of
    /// hanging the reader.
    public static func readRegularFile(_ path: String, limit: Int = 16 << 20) throws -> [UInt8] {
        try readContents(path, limit: limit, regularOnly: true)
    }

    private static func readContents(_ path: String, limit: Int, regularOnly: Bool) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK : 0))
        guard fd >= 0 else { throw FileError(path: path, reason: errnoDescription(errno)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError(path: path, reason: errnoDescription(errno)) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw FileError(path: path, reason: "is a directory, expected a file") }
        if regularOnly, (st.st_mode & S_IFMT) != S_IFREG {
            throw FileError(path: path, reason: "is not a regular file (a FIFO, socket or device)")
        }
        if (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) > limit {
            throw FileError(path: path, reason: "file is \(st.st_size) bytes, more than the \(limit)-byte limit for this kind of file")
        }
        return try readAll(fd, name: path, limit: limit, overLimit: "more than the \(limit)-byte limit for this kind of file")
    }

    /// The UTF-8 text of the file at `path`.
    public static func readText(_ path: String, limit: Int = 16 << 20) throws -> String {
        let bytes = try readFile(path, limit: limit)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FileError(path: path, reason: "not UTF-8 text")
        }
        return text
    }

    /// Reads all of standard input, up to `limit` bytes.
    public static func readStandardInput(limit: Int = 16 << 20) throws -> [UInt8] {
        try readAll(STDIN_FILENO, name: "<stdin>", limit: limit, overLimit: "more than \(limit) bytes")
    }

    /// Everything `fd` holds until end of file, retrying interrupted reads,
    /// refused with `overLimit` as the reason once it passes `limit` bytes.
    /// `name` names the input in the error.
    private static func readAll(_ fd: Int32, name: String, limit: Int, overLimit: @autoclosure () -> String) throws -> [UInt8] {
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: name, reason: errnoDescription(errno))
            }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
            if out.count > limit { throw FileError(path: name, reason: overLimit()) }
        }
        return out
    }

    /// Writes everything in `buffer` to `fd`, retrying short and interrupted
    /// writes. `name` names the file in the error.
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, name: String) throws {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: name, reason: "write failed: \(errnoDescription(errno))")
            }
            offset += n
        }
    }

    /// True when something exists at `path` (without following a final symlink).
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// The permission bits of the file at `path`, or nil.
    public static func permissions(_ path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return st.st_mode & 0o7777
    }

    /// `strerror` text for an errno value.
    public static func errnoDescription(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file or directory"
        case EACCES: return "permission denied"
        case EISDIR: return "is a directory, expected a file"
        case ENOSPC: return "no space left on device"
        case EFBIG: return "file too large (size limit reached)"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}
