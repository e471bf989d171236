#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelSecCrypto
import ModelSecIO

/// A directory built in a temporary place beside its destination and renamed
/// into place only when complete, so that the destination either does not
/// change or appears whole. Removed on ``abort()`` or when released without
/// ``commit()``.
///
/// The destination must not exist or must be an empty directory (rename(2)
/// replaces an empty directory atomically). It is refused otherwise: a
/// release or deployed model is never merged into existing content.
///
/// Files are created through the staging directory's descriptor
/// (``DirectoryDescriptor``), one path component at a time with `O_NOFOLLOW`,
/// so a release path can never place a file outside it. The directory is
/// registered with ``CleanupOnSignal``: an interrupted command removes it.
final class StagingDirectory {
    /// Where the directory will be.
    let destination: String
    /// Where it is being built.
    let path: String
    /// The staging directory, open.
    let directory: DirectoryDescriptor
    private var done = false
    private let cleanupToken: Int

    init(destination: String) throws {
        // Split as the kernel will resolve it: the last component is the
        // name, everything before it (symbolic links and `..` included) is
        // the parent, left for the kernel to resolve. A textual clean-up of
        // `lnk/../x` would name a different directory than the kernel does.
        var bytes = Array(destination.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
        let nameBytes = slash.map { Array(bytes[($0 + 1)...]) } ?? bytes
        let parentBytes = slash.map { $0 == 0 ? [UInt8(ascii: "/")] : Array(bytes[..<$0]) } ?? [UInt8(ascii: ".")]
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard !nameBytes.isEmpty, name != ".", name != ".." else {
            throw ReleaseInputError(path: destination, reason: "is not a usable output directory name")
        }
        try StagingDirectory.checkDestination(destination)
        let parent = String(decoding: parentBytes, as: UTF8.self)
        var st = stat()
        guard stat(parent, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ReleaseInputError(path: destination, reason: "the parent directory \(parent) does not exist")
        }
        self.destination = parentBytes == [UInt8(ascii: "/")] ? "/" + name : parent + "/" + name
        path = parent + "/." + name + ".modelsec-tmp-" + Hex.encode(SecureRandom.bytes(count: 6))
        guard mkdir(path, 0o700) == 0 else {
            throw ReleaseInputError(path: destination, reason: "cannot create a temporary directory beside it: \(String(cString: strerror(errno)))")
        }
        cleanupToken = CleanupOnSignal.register(path, isDirectory: true)
        do {
            directory = try DirectoryDescriptor(path: path)
        } catch {
            rmdir(path)
            CleanupOnSignal.unregister(cleanupToken)
            throw error
        }
    }

    deinit { if !done { abort() } }

    /// Refuses a destination that exists and is not an empty directory.
    static func checkDestination(_ destination: String) throws {
        var st = stat()
        guard lstat(destination, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ReleaseInputError(path: destination, reason: "already exists and is not a directory")
        }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: destination)) ?? ["?"]
        guard contents.isEmpty else {
            throw ReleaseInputError(path: destination, reason: "already exists and is not empty; give a new or empty directory")
        }
    }

    /// Creates the file `relative` (and its parent directories) inside the
    /// staging directory, through its descriptor.
    func create(_ relative: ModelPath, mode: mode_t = 0o644) throws -> OutputFile {
        try directory.createFile(relative, mode: mode)
    }

    /// Writes the file `relative` inside the staging directory.
    func write<D: ContiguousBytes>(_ bytes: D, to relative: ModelPath, mode: mode_t = 0o644) throws {
        try directory.writeFile(bytes, to: relative, mode: mode)
    }

    /// Sets the final permissions (0755 less the umask), syncs, and renames
    /// the directory into place.
    func commit() throws {
        let mask = umask(0o022)
        umask(mask)
        chmod(path, 0o755 & ~mask)
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
        try StagingDirectory.checkDestination(destination)
        guard rename(path, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ReleaseInputError(path: destination, reason: "cannot move the finished directory into place: \(reason)")
        }
        done = true
        CleanupOnSignal.unregister(cleanupToken)
        let parent = (destination as NSString).deletingLastPathComponent
        let parentFD = open(parent.isEmpty ? "." : parent, O_RDONLY | O_DIRECTORY)
        if parentFD >= 0 { fsync(parentFD); close(parentFD) }
    }

    /// Removes the staging directory and everything in it.
    func abort() {
        guard !done else { return }
        done = true
        try? FileManager.default.removeItem(atPath: path)
        CleanupOnSignal.unregister(cleanupToken)
    }
}
