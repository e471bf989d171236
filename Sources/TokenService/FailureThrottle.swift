import Foundation

/// Token buckets that slow down credential guessing: each failed client
/// authentication takes one token from the bucket of the client id it named
/// and one from the bucket of the address it came from; a key whose bucket is
/// empty is refused (429, `Retry-After`) before any secret is checked, while
/// other clients and addresses are served as usual. Buckets refill at
/// ``Policy/perSecond`` up to ``Policy/burst``.
public final class FailureThrottle: @unchecked Sendable { // `buckets` is only touched with `lock` held
    /// How many failures a key may have in a burst, and how fast it recovers.
    public struct Policy: Sendable {
        /// Failures allowed at once.
        public var burst: Double
        /// Tokens regained per second.
        public var perSecond: Double

        /// A policy; the default allows 10 failures, then one every 2 seconds.
        public init(burst: Double = 10, perSecond: Double = 0.5) {
            self.burst = burst
            self.perSecond = perSecond
        }
    }

    /// The most keys tracked; past it, recovered buckets are forgotten (and,
    /// if that is not enough, all of them: memory stays bounded under a flood
    /// of made-up client ids).
    public static let maximumKeys = 100_000

    private let policy: Policy
    private let lock = NSLock()
    private var buckets: [String: (tokens: Double, updated: Double)] = [:]

    /// A throttle with `policy`.
    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    private func level(_ key: String, now: Double) -> Double {
        guard let bucket = buckets[key] else { return policy.burst }
        return min(policy.burst, bucket.tokens + max(0, now - bucket.updated) * policy.perSecond)
    }

    /// Whole seconds until `key` may try again, or nil when it may now.
    public func retryAfter(_ key: String, now: Double) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        let tokens = level(key, now: now)
        guard tokens < 1 else { return nil }
        return max(1, Int(((1 - tokens) / policy.perSecond).rounded(.up)))
    }

    /// Takes one token from `key`'s bucket.
    public func recordFailure(_ key: String, now: Double) {
        lock.lock()
        defer { lock.unlock() }
        buckets[key] = (max(0, level(key, now: now) - 1), now)
        if buckets.count > Self.maximumKeys {
            buckets = buckets.filter { level($0.key, now: now) < policy.burst }
            if buckets.count > Self.maximumKeys { buckets.removeAll() }
        }
    }
}
