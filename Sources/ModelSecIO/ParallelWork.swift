import Dispatch
import Foundation

/// The one parallel-for for CPU and file work: jobs `0..<count` handed out in
/// order to a fixed number of lanes (threads) that each take the next job
/// when done with the last. No thread ever waits for another except at the
/// end of the call; nothing spins.
///
/// A lane runs on one thread at a time, so per-lane resources (a buffer, a
/// cipher context) can be indexed by ``Lane/index`` without locking. The
/// first error stops the jobs not yet started, is visible to running ones
/// through ``Lane/isStopping``, and is rethrown once all lanes are done.
public enum ParallelWork {
    /// What a job knows about where it runs.
    public struct Lane: Sendable {
        /// The lane, `0..<lanes`: a job on lane `i` never runs at the same
        /// time as another job on lane `i`.
        public let index: Int
        fileprivate let state: State

        /// True once a job has failed: long jobs check it to stop early.
        public var isStopping: Bool { state.isStopping }
    }

    /// Every core.
    public static var defaultLanes: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Calls `job(index, lane)` for every `index` in `0..<count`, at most
    /// `lanes` at a time (never more lanes than jobs).
    public static func forEach(count: Int, lanes: Int = defaultLanes, _ job: (Int, Lane) throws -> Void) throws {
        guard count > 0 else { return }
        let width = max(1, min(lanes, count))
        let state = State()
        if width == 1 {
            let lane = Lane(index: 0, state: state)
            for index in 0..<count { try job(index, lane) }
            return
        }
        withoutActuallyEscaping(job) { job in
            let box = JobBox(job)
            DispatchQueue.concurrentPerform(iterations: width) { laneIndex in
                let lane = Lane(index: laneIndex, state: state)
                while let index = state.next(limit: count) {
                    do { try box.job(index, lane) } catch { state.fail(error) }
                }
            }
        }
        if let error = state.error { throw error }
    }

    /// `transform(index)` for every `index` in `0..<count`, computed on
    /// `lanes` threads, in index order.
    public static func map<T>(count: Int, lanes: Int = defaultLanes, _ transform: (Int) throws -> T) throws -> [T] {
        let slots = ResultSlots<T>(count: count)
        try forEach(count: count, lanes: lanes) { index, _ in slots.set(index, try transform(index)) }
        return slots.values
    }

    /// The next job and the first failure, shared by the lanes.
    fileprivate final class State: @unchecked Sendable { // every field is guarded by `lock`
        private let lock = NSLock()
        private var nextIndex = 0
        private var failure: Error?

        func next(limit: Int) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard failure == nil, nextIndex < limit else { return nil }
            nextIndex += 1
            return nextIndex - 1
        }

        /// Keeps the first real error (a job that stopped because another
        /// failed may throw `CancellationError`; the cause wins).
        func fail(_ error: Error) {
            lock.lock()
            if failure == nil || failure is CancellationError { failure = error }
            lock.unlock()
        }

        var isStopping: Bool {
            lock.lock()
            defer { lock.unlock() }
            return failure != nil
        }

        var error: Error? {
            lock.lock()
            defer { lock.unlock() }
            return failure
        }
    }

    /// Carries the caller's job into the lanes. The caller's closure is not
    /// `@Sendable` (it touches the caller's buffers); the lanes only call it,
    /// each job for a distinct index, and the call returns after all lanes.
    private final class JobBox: @unchecked Sendable { // see above
        let job: (Int, Lane) throws -> Void
        init(_ job: @escaping (Int, Lane) throws -> Void) { self.job = job }
    }
}

/// One result per job, each written once by the job that computes it, read
/// in job order when every job has succeeded (``ParallelWork`` uses it; so
/// does the release creator's scan beside its encryption).
public final class ResultSlots<Value>: @unchecked Sendable { // `storage` is guarded by `lock`
    private let lock = NSLock()
    private var storage: [Value?]

    /// `count` empty slots.
    public init(count: Int) { storage = Array(repeating: nil, count: count) }

    /// Fills slot `index`.
    public func set(_ index: Int, _ value: Value) {
        lock.lock()
        storage[index] = value
        lock.unlock()
    }

    /// Every value, in slot order (after every job succeeded).
    public var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return storage.map { $0! }
    }
}
