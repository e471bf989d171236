import Foundation

/// A value shared by a test's threads, guarded by an `NSLock`: the tests'
/// stand-in for `Synchronization.Mutex`, with the same `withLock`.
///
/// Not `Mutex` because ThreadSanitizer cannot see `Mutex` on Linux hand
/// the lock from one thread to another when they meet: its contended path
/// waits in the kernel (`FUTEX_LOCK_PI`, in the uninstrumented
/// `libswiftSynchronization.so`), so `make test-tsan` reported the value a
/// contended `Mutex` guards as raced (ConcurrentChargeTests). `NSLock` is a
/// pthread mutex, which ThreadSanitizer intercepts.
public final class Locked<Value>: @unchecked Sendable { // `value` is only touched with `lock` held
    private let lock = NSLock()
    private var value: Value

    /// A lock around `value`.
    public init(_ value: Value) { self.value = value }

    /// Runs `body` on the value with the lock held.
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

extension TestSupport {
    /// The sanitizer the tests were built with (`make test-tsan`,
    /// `make test-asan`; the `modelsec` they run is built the same way), or
    /// nil: found by its runtime's entry point in this process.
    public static let sanitizer: String? = {
        if dlsym(nil, "__tsan_init") != nil { return "ThreadSanitizer" }
        if dlsym(nil, "__asan_init") != nil { return "AddressSanitizer" }
        return nil
    }()
}
