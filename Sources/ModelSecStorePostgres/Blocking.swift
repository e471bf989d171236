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

    /// Waits for `body` and returns its value or rethrows its error.
    static func run<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }
}
