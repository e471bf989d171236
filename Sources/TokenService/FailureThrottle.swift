import Foundation

/// Token buckets, the service's one throttling mechanism (docs/token-service.md):
///
/// - **failed authentications**: each failed client authentication takes one
///   token from the bucket of the client id it named and one from the bucket
///   of the address it came from; a key whose bucket is empty is refused
///   (429, `Retry-After`) before any secret is checked, while other clients
///   and addresses are served as usual. These buckets follow ``policy``.
/// - **per-client rate limits**: each request of an authenticated client (or
///   a trust rule's exchange) takes one token from the client's own bucket,
///   with the ``Policy`` the configuration gives that client
///   (``take(_:policy:now:)``).
///
/// Buckets refill at ``Policy/perSecond`` up to ``Policy/burst``; each bucket
/// keeps the policy it was made with.
public final class FailureThrottle: @unchecked Sendable { // `buckets` is only touched with `lock` held
    /// How many tokens a bucket holds, and how fast it refills.
    public struct Policy: Sendable, Equatable {
        /// Tokens allowed at once.
        public var burst: Double
        /// Tokens regained per second.
        public var perSecond: Double

        /// A policy; the default (the failure throttle's) allows 10 failures,
        /// then one every 2 seconds.
        public init(burst: Double = 10, perSecond: Double = 0.5) {
            self.burst = burst
            self.perSecond = perSecond
        }
    }

    /// The most keys tracked; past it, full buckets are forgotten (and,
    /// if that is not enough, all of them: memory stays bounded under a flood
    /// of made-up client ids).
    public static let maximumKeys = 100_000

    /// The failed-authentication policy.
    public let policy: Policy
    private let lock = NSLock()
    private var buckets: [String: Bucket] = [:]

    private struct Bucket {
        var tokens: Double
        var updated: Double
        let policy: Policy

        func level(at now: Double) -> Double {
            min(policy.burst, tokens + max(0, now - updated) * policy.perSecond)
        }
    }

    /// A throttle whose failure buckets follow `policy`.
    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    private func level(_ key: String, now: Double) -> Double {
        buckets[key]?.level(at: now) ?? policy.burst
    }

    private static func wait(_ tokens: Double, _ policy: Policy) -> Int {
        max(1, Int(((1 - tokens) / policy.perSecond).rounded(.up)))
    }

    /// Whole seconds until `key` may try again, or nil when it may now.
    public func retryAfter(_ key: String, now: Double) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard let bucket = buckets[key] else { return nil }
        let tokens = bucket.level(at: now)
        guard tokens < 1 else { return nil }
        return Self.wait(tokens, bucket.policy)
    }

    /// Takes one token from `key`'s failure bucket.
    public func recordFailure(_ key: String, now: Double) {
        lock.lock()
        defer { lock.unlock() }
        buckets[key] = Bucket(tokens: max(0, level(key, now: now) - 1), updated: now, policy: policy)
        trim(now: now)
    }

    /// Takes one token from `key`'s bucket (made with `policy` if new) and
    /// returns nil, or, when the bucket is empty, takes nothing and returns
    /// the whole seconds until a token is there.
    public func take(_ key: String, policy: Policy, now: Double) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        let current = buckets[key].map { $0.policy == policy ? $0 : Bucket(tokens: min($0.tokens, policy.burst), updated: $0.updated, policy: policy) }
            ?? Bucket(tokens: policy.burst, updated: now, policy: policy)
        let tokens = current.level(at: now)
        guard tokens >= 1 else { return Self.wait(tokens, policy) }
        buckets[key] = Bucket(tokens: tokens - 1, updated: now, policy: policy)
        trim(now: now)
        return nil
    }

    private func trim(now: Double) {
        if buckets.count > Self.maximumKeys {
            buckets = buckets.filter { $0.value.level(at: now) < $0.value.policy.burst }
            if buckets.count > Self.maximumKeys { buckets.removeAll() }
        }
    }
}
