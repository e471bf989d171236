#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension TestSupport {
    /// Whose CPU time ``cpuSeconds(of:_:)`` counts.
    public enum CPUClock: Sendable {
        /// The calling thread's (`CLOCK_THREAD_CPUTIME_ID`): for work that
        /// runs on the thread that calls it.
        case thread
        /// The whole process's (`CLOCK_PROCESS_CPUTIME_ID`): for work that
        /// runs on other threads of this process (a thread pool).
        case process
    }

    /// The CPU seconds `clock` counted while `body` ran, for bounds that
    /// must hold whatever else the machine is doing: time spent waiting for
    /// a core (other processes, other test shards) or sleeping does not
    /// count, work done does.
    public static func cpuSeconds<T>(of clock: CPUClock = .thread, _ body: () throws -> T) rethrows -> (seconds: Double, value: T) {
        let id = clock == .thread ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID
        func now() -> Double {
            var t = timespec()
            precondition(clock_gettime(id, &t) == 0, "clock_gettime(\(id)) failed: errno \(errno)")
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        let start = now()
        let value = try body()
        return (now() - start, value)
    }
}
