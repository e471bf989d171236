#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ModelSecIO

/// A read-only file read with `pread` at explicit offsets, so archives of any
/// size are scanned without loading tensor data into memory.
final class RandomAccessFile {
    let path: String
    let size: UInt64
    private let descriptor: Int32

    /// Opens `path`; with `identity` (what an earlier check judged: the path
    /// with no link left in it, and its device and inode) it opens
    /// `identity.real` without following a final link and throws unless the
    /// opened file is still that device and inode, so what is read is the
    /// file that was judged, whatever was renamed in between.
    init(path: String, identity: (real: String, device: UInt64, inode: UInt64)? = nil) throws {
        // Non-blocking, so a FIFO or device in place of a model file cannot stall the scan
        // (it is refused as "not a regular file" below).
        let fd = open(identity?.real ?? path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (identity == nil ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { throw FileError(path: path, reason: FileIO.errnoDescription(errno)) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw FileError(path: path, reason: FileIO.errnoDescription(code))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileError(path: path, reason: "not a regular file")
        }
        if let identity, UInt64(info.st_dev) != identity.device || UInt64(info.st_ino) != identity.inode {
            close(fd)
            throw FileError(path: path, reason: "the file changed after it was checked (another file is there now); scan again once nothing is writing to the model")
        }
        #if os(Linux)
        // The device and inode were taken after `realpath`; a directory on
        // the path swapped for a link in between would make them another
        // file's. Where the kernel says the opened file is must be the path
        // that was judged.
        if let identity {
            var link = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink("/proc/self/fd/\(fd)", &link, link.count - 1)
            guard count > 0, Array(link[..<count].map { UInt8(bitPattern: $0) }) == Array(identity.real.utf8) else {
                close(fd)
                throw FileError(path: path, reason: "the file is not where it was checked (a directory on its path changed); scan again once nothing is writing to the model")
            }
        }
        #endif
        self.path = path
        self.descriptor = fd
        self.size = UInt64(info.st_size)
    }

    /// Takes over `descriptor`, an open regular file of `size` bytes (as
    /// ``ModelTree/Opener`` returns one, already checked); closes it when done.
    init(adopting descriptor: Int32, path: String, size: UInt64) {
        self.path = path
        self.descriptor = descriptor
        self.size = size
    }

    deinit { close(descriptor) }

    /// Exactly `count` bytes at `offset`; throws when the file is shorter or unreadable.
    func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
            throw FileError(path: path, reason: "read of \(count) bytes at offset \(offset) is past the end of the file")
        }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, reason: FileIO.errnoDescription(errno))
            }
            if n == 0 { throw FileError(path: path, reason: "file shrank while being read") }
            done += n
        }
        return buffer
    }
}
