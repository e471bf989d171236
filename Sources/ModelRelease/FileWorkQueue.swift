import Dispatch
import Foundation

/// Runs one job per file on a few threads at once, so that the serial part
/// of each file's work (SHA-256 on the reading thread) overlaps with other
/// files'. Each job's encryption or decryption already uses every core for
/// its chunks; this keeps the cores busy between and across files.
/// The first error stops the remaining jobs and is rethrown.
enum FileWorkQueue {
    /// Calls `job(i)` for every `i` in `0..<count`, at most `width` at a time.
    static func run(count: Int, width: Int = ProcessInfo.processInfo.activeProcessorCount,
                    _ job: @escaping (Int) throws -> Void) throws {
        let lanes = max(1, min(width, count))
        let lock = NSLock()
        var next = 0
        var failure: Error?
        DispatchQueue.concurrentPerform(iterations: lanes) { _ in
            while true {
                lock.lock()
                guard failure == nil, next < count else { lock.unlock(); return }
                let index = next
                next += 1
                lock.unlock()
                do { try job(index) } catch {
                    lock.lock()
                    if failure == nil { failure = error }
                    lock.unlock()
                    return
                }
            }
        }
        if let failure { throw failure }
    }
}

/// One result per job, filled in by concurrent jobs.
final class ResultSlots<Value>: @unchecked Sendable {
    private var slots: [Value?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Value) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    /// Every value, in job order (call after every job succeeded).
    var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
