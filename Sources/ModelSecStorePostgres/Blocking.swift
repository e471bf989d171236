import Dispatch

/// Runs async PostgreSQL work from the synchronous ledger interface (the
/// CLI and ``DifferentialPrivacy/PrivacyLedger`` are synchronous). Must not
/// be called from inside an async context's cooperative thread pool.
enum Blocking {
    /// Holds the result between the task and the waiting thread.
    // @unchecked Sendable: written once by the task before `signal()`, read only after `wait()` returns.
    private final class Box<T>: @unchecked Sendable {
        var result: Result<T, any Error>?
    }

    /// `body` did not finish within `seconds`; it was cancelled and abandoned.
    struct TimedOut: Error {
        /// The limit.
        let seconds: Int
    }

    /// Waits for `body` and returns its value or rethrows its error. With
    /// `timeout`, gives up after that many seconds: the task is cancelled
    /// and ``TimedOut`` thrown (a query whose connection died without the
    /// driver noticing must not hang a deploy step forever).
    static func run<T>(timeout: Int? = nil, _ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        let task = Task {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        if let timeout {
            guard done.wait(timeout: .now() + .seconds(timeout)) == .success else {
                task.cancel()
                throw TimedOut(seconds: timeout)
            }
        } else {
            done.wait()
        }
        return try box.result!.get()
    }
}
