#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelSecCrypto
import ModelSecIO

/// One SHA-256 to compute: a whole file, or one byte range of it.
struct HashTask: Sendable {
    /// Index into the file list.
    let fileIndex: Int
    /// First byte.
    let offset: Int64
    /// Bytes to hash; nil hashes to the end of the file, whatever its size now.
    let length: Int64?
}

/// Computes many SHA-256 digests on all cores.
///
/// Each worker thread takes the next task (largest first, so one big file
/// does not end up alone at the end), opens the file through the walk's
/// directory descriptors (``ModelTree/Opener``, one per worker) and hashes it with
/// `pread(2)` into its own buffer. The buffer is 1 MiB, small enough to stay
/// in the CPU cache between the copy out of the page cache and SHA-256, and
/// the total across workers is capped so peak memory stays far below 64 MiB
/// on any core count. No file is ever read into memory whole.
///
/// Parallelism is across tasks only: with the `files` method a file's digest
/// is one SHA-256 over all of it, which cannot be split; with `shards` every
/// shard is its own task, so a large file is hashed on all cores.
enum ParallelHasher {
    /// Per-worker read size.
    static let bufferSize = 1 << 20
    /// Cap on the sum of all worker buffers.
    static let bufferBudget = 32 << 20

    /// The digest of every task, in task order. `files` are files of `tree`
    /// (all of them, or the ones to check), opened through its directories'
    /// descriptors: a directory or file swapped for a symbolic link, or a
    /// file replaced, since the walk is refused, never read outside the model.
    static func digests(of tasks: [HashTask], files: [ModelTree.File], in tree: ModelTree, progress: ProgressReporter? = nil,
                        workers requested: Int? = nil) throws -> [[UInt8]] {
        guard !tasks.isEmpty else { return [] }
        let cores = max(1, requested ?? ProcessInfo.processInfo.activeProcessorCount)
        let workers = min(cores, tasks.count, bufferBudget / bufferSize)
        let order = tasks.indices.sorted { (tasks[$0].length ?? files[tasks[$0].fileIndex].size) > (tasks[$1].length ?? files[tasks[$1].fileIndex].size) }
        let results = UnsafeMutablePointer<UInt8>.allocate(capacity: tasks.count * SHA2.SHA256.byteCount)
        defer { results.deallocate() }
        // One read buffer per lane (a lane runs one task at a time).
        let buffers = (0..<workers).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 4096) }
        defer { buffers.forEach { $0.deallocate() } }
        // An opener is not thread-safe: one per lane, as the buffers.
        let openers = (0..<workers).map { _ in ModelTree.Opener(tree) }

        try ParallelWork.forEach(count: order.count, lanes: workers) { next, lane in
            let taskIndex = order[next]
            let task = tasks[taskIndex]
            let digest = try hash(task, file: files[task.fileIndex], opener: openers[lane.index], buffer: buffers[lane.index],
                                  progress: progress, lane: lane)
            (results + taskIndex * SHA2.SHA256.byteCount).update(from: digest.bytes, count: SHA2.SHA256.byteCount)
            progress?.advance(items: 1)
        }
        return (0..<tasks.count).map { Array(UnsafeBufferPointer(start: results + $0 * SHA2.SHA256.byteCount, count: SHA2.SHA256.byteCount)) }
    }

    private static func hash(_ task: HashTask, file: ModelTree.File, opener: ModelTree.Opener, buffer: UnsafeMutableRawBufferPointer,
                             progress: ProgressReporter?, lane: ParallelWork.Lane) throws -> SHA2.Digest {
        // The file must still be the one the walk listed (a regular file with
        // the same inode, size and timestamps, reached through the walked
        // directories; see ModelTree.Opener). A signature describes one state of the model.
        let fd = try opener.openUnchanged(file)
        defer { close(fd) }
        #if canImport(Glibc)
        _ = posix_fadvise(fd, off_t(task.offset), off_t(task.length ?? 0), POSIX_FADV_SEQUENTIAL)
        #endif
        var hasher = SHA2.SHA256.hasher()
        var offset = task.offset
        var remaining = task.length ?? Int64.max
        while remaining > 0 {
            if lane.isStopping { throw CancellationError() }
            let want = Int(min(Int64(buffer.count), remaining))
            let n = pread(fd, buffer.baseAddress, want, off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw ModelContentError(path: file.displayPath, problem: .readFailed(reason: FileIO.errnoDescription(errno)))
            }
            if n == 0 {
                guard task.length == nil else {
                    throw ModelContentError(path: file.displayPath, problem: .shrankWhileHashing)
                }
                break
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += Int64(n)
            remaining -= Int64(n)
            progress?.advance(bytes: Int64(n))
        }
        // A write during the reads (even one that kept the size) shows in the
        // stamp: refuse a digest that may mix old and new content.
        guard FileStamp.of(descriptor: fd) == file.stamp else { throw changedError(file) }
        return hasher.finalize()
    }

    private static func changedError(_ file: ModelTree.File) -> ModelTreeError {
        ModelTreeError(path: file.displayPath, problem: .changed)
    }
}
