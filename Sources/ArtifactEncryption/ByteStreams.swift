#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import ModelSecIO

/// Where a ``Decryptor`` or ``Encryptor`` reads bytes from.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`; returns 0 only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension ByteSource {
    /// Reads until `buffer` is full or the input ends; returns the bytes read.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Up to `count` bytes (fewer only at the end of input).
    func readBytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { try readFully(into: $0) }
        bytes.removeLast(count - n)
        return bytes
    }
}

/// Reads from an open file descriptor (a file, a pipe, standard input).
public final class FileDescriptorSource: ByteSource {
    private let fd: Int32
    private let name: String
    private let ownsDescriptor: Bool

    /// Reads `fd`, named `name` in errors; closes it on release when `closeWhenDone`.
    public init(fd: Int32, name: String, closeWhenDone: Bool = false) {
        self.fd = fd
        self.name = name
        ownsDescriptor = closeWhenDone
    }

    /// Opens `path` for reading.
    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open: \(FileIO.errnoDescription(errno))") }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw FileError(path: path, reason: "is a directory")
        }
        self.init(fd: fd, name: path, closeWhenDone: true)
    }

    /// Opens the file at `path`, which must be a regular file: it is opened
    /// non-blocking (a FIFO or device put in its place cannot hang the open)
    /// and anything but a regular file is refused. For inputs that must be
    /// files on disk, such as the artifacts of a release.
    public convenience init(regularFileAt path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open: \(FileIO.errnoDescription(errno))") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileError(path: path, reason: "is not a regular file (a directory, FIFO, socket or device)")
        }
        self.init(fd: fd, name: path, closeWhenDone: true)
    }

    deinit { if ownsDescriptor { close(fd) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw FileError(path: name, reason: "read failed: \(FileIO.errnoDescription(errno))")
        }
    }

    /// The size of the underlying file when it is a regular file.
    public var regularFileSize: UInt64? {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return UInt64(st.st_size)
    }
}

/// Reads from bytes in memory.
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0

    /// Reads `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - position)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}


/// Fills a buffer from a source on a background thread, so reading the next
/// batch overlaps with sealing or opening the current one. The caller must
/// not touch the buffer or the source until ``wait()`` returns.
final class BackgroundRead: @unchecked Sendable { // handed over through the DispatchGroup (below)
    // Shared with one background task; handed back through the DispatchGroup
    // (written before leave, read after wait), so no further locking is needed.
    private let group = DispatchGroup()
    private let source: ByteSource
    private let target: UnsafeMutableRawBufferPointer
    private var result: Result<Int, Error> = .success(0)

    /// Starts reading into `target` until it is full or the input ends.
    init(source: ByteSource, into target: UnsafeMutableRawBufferPointer) {
        self.source = source
        self.target = target
        group.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            result = Result { try self.source.readFully(into: self.target) }
            group.leave()
        }
    }

    /// Waits for the read; returns the bytes read.
    func wait() throws -> Int {
        group.wait()
        return try result.get()
    }
}
