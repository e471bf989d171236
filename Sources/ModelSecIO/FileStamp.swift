#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a file or directory looked like at one moment: its identity, size and
/// timestamps. Two equal stamps mean nothing visible changed in between; a
/// write, truncation, replacement (new inode) or, for a directory, an entry
/// added, removed or renamed all change the stamp.
///
/// Used to refuse signing or releasing a model that changes while it is being
/// read: a signature must describe one state of the model, never a mixture.
public struct FileStamp: Equatable, Sendable {
    /// `st_dev`.
    public let device: UInt64
    /// `st_ino`.
    public let inode: UInt64
    /// `st_size`.
    public let size: Int64
    /// `st_mtim`, seconds part.
    public let modifiedSeconds: Int64
    /// `st_mtim`, nanoseconds part.
    public let modifiedNanoseconds: Int64
    /// `st_ctim`, seconds part.
    public let changedSeconds: Int64
    /// `st_ctim`, nanoseconds part.
    public let changedNanoseconds: Int64

    /// The stamp of what `st` describes.
    public init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        #if canImport(Darwin)
        modifiedSeconds = Int64(st.st_mtimespec.tv_sec)
        modifiedNanoseconds = Int64(st.st_mtimespec.tv_nsec)
        changedSeconds = Int64(st.st_ctimespec.tv_sec)
        changedNanoseconds = Int64(st.st_ctimespec.tv_nsec)
        #else
        modifiedSeconds = Int64(st.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(st.st_mtim.tv_nsec)
        changedSeconds = Int64(st.st_ctim.tv_sec)
        changedNanoseconds = Int64(st.st_ctim.tv_nsec)
        #endif
    }

    /// The stamp of an open file, or nil when `fstat` fails.
    public static func of(descriptor fd: Int32) -> FileStamp? {
        var st = stat()
        return fstat(fd, &st) == 0 ? FileStamp(st) : nil
    }

    /// The stamp of what `path` (NUL-terminated) names, following symbolic
    /// links, or nil when it cannot be stat'ed.
    public static func of(path: [UInt8]) -> FileStamp? {
        var st = stat()
        let ok = path.withUnsafeBufferPointer { stat(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), &st) == 0 }
        return ok ? FileStamp(st) : nil
    }

    /// The stamp of what `path` names, following symbolic links, or nil when
    /// it cannot be stat'ed.
    public static func of(path: String) -> FileStamp? {
        var st = stat()
        return stat(path, &st) == 0 ? FileStamp(st) : nil
    }
}
