import AccessTokens
import Foundation
import Logging

/// An outside issuer's JWK Set fetched from a URL (a trust rule's
/// `jwks_url`), cached:
///
/// - the URL is `https`, or `http` to a loopback host (checked when the
///   configuration is read); redirects are not followed; an answer must be
///   HTTP 200, at most ``IssuerKeySet/maximumDocumentSize`` bytes, within
///   ``timeout`` seconds, and a JWK Set ``IssuerKeySet`` accepts;
/// - it is fetched on first use, again when the copy is older than
///   ``maximumAge``, and again when a token names a `kid` the copy lacks —
///   but never more than once per ``minimumInterval`` (a flood of made-up
///   `kid`s costs one fetch per interval);
/// - ages are measured on a monotonic clock (``clock``, by default
///   ``monotonicSeconds()``), never the wall clock: setting the system time
///   back cannot keep a stale copy alive, and setting it forward cannot
///   start a refetch;
/// - if a fetch fails, the previous copy is used until it is ``staleLimit``
///   old; after that (or with no copy at all) the keys are unavailable;
/// - a key in the set that cannot be used (an unsupported type, curve, size
///   or `alg`, malformed, no `kid`) is skipped, the others stay usable
///   (``IssuerKeySet/usableKeys(from:source:)``); a set with no usable key
///   counts as a failed fetch;
/// - fetches run on SwiftNIO (``OutgoingHTTP``): no thread waits on the
///   network. One fetch runs at a time; the request that started it waits
///   for it only when its `kid` is not in the copy (or there is no usable
///   copy), every other request uses the copy there is;
/// - each failed fetch and each skipped key is logged (``logger``) with
///   the URL and the reason, as a warning.
public final class RemoteKeySet: @unchecked Sendable { // mutable state only changes with `lock` held
    /// Seconds a fetch may take.
    public static let timeout: TimeInterval = 5
    /// A copy is refreshed once it is this many seconds old.
    public static let maximumAge: Double = 300
    /// At most one fetch per this many seconds.
    public static let minimumInterval: Double = 30
    /// A copy is not used past this age when refreshing it fails.
    public static let staleLimit: Double = 3600

    /// The JWK Set URL.
    public let url: URL
    private let lock = NSLock()
    private var keys: [IssuerKey] = []
    private var fetchedAt: Double = -.infinity
    private var attemptedAt: Double = -.infinity
    private var lastFailure: String?
    private var running: Task<Void, Never>?
    private var log: Logger?
    private var clockSource: @Sendable () -> Double = RemoteKeySet.monotonicSeconds
    /// Fetches a document.
    let fetch: @Sendable (URL) async throws -> [UInt8]

    /// A key set at `url` (already checked to be https or loopback http).
    public init(url: URL) {
        self.url = url
        self.fetch = { try await RemoteKeySet.fetchDocument($0) }
    }

    /// Where failed fetches and skipped keys are reported (nil: nowhere).
    public var logger: Logger? {
        get { lock.withLock { log } }
        set { lock.withLock { log = newValue } }
    }

    /// Where ages are read from, in seconds (any origin; only differences
    /// count): ``monotonicSeconds()`` unless a test sets another.
    public var clock: @Sendable () -> Double {
        get { lock.withLock { clockSource } }
        set { lock.withLock { clockSource = newValue } }
    }

    private static let origin = ContinuousClock.now

    /// Seconds since an arbitrary origin on the continuous monotonic clock
    /// (`ContinuousClock`: it counts time asleep and never jumps when the
    /// system time is set).
    public static func monotonicSeconds() -> Double {
        let elapsed = origin.duration(to: .now).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }

    /// True when `url` may be used: `https`, or `http` to `localhost`,
    /// 127.0.0.0/8 or `[::1]`; no user information.
    public static func isAcceptable(_ url: URL) -> Bool {
        guard url.user == nil, url.password == nil, let host = url.host, !host.isEmpty else { return false }
        // A percent-escape or NUL in the host reads differently to inet_pton
        // (which stops at NUL, or sees the decoded text) and to the resolver.
        let encodedHost = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedHost ?? "%"
        if host.utf8.contains(0) || host.contains("%") || encodedHost.contains("%") { return false }
        switch url.scheme?.lowercased() {
        case "https": return true
        case "http": return host == "localhost" || host == "::1" || host == "[::1]" || ServiceConfig.ListenAddress(parsing: host + ":0")?.isLoopback == true
        default: return false
        }
    }

    /// Why no keys could be had.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        /// What went wrong with the last fetch.
        public let reason: String
        public var description: String { reason }
    }

    /// What a request does about fetching: nothing, start a fetch (and
    /// maybe wait for it), given the state under the lock.
    private func plan(for keyID: String) -> (fetch: Task<Void, Never>?, wait: Bool) {
        lock.withLock {
            let now = clockSource()
            let known = keys.contains { Array($0.keyID.utf8) == Array(keyID.utf8) }
            let usable = !keys.isEmpty && now - fetchedAt < Self.staleLimit
            let due = now - fetchedAt >= Self.maximumAge || !known
            guard due, running == nil, now - attemptedAt >= Self.minimumInterval else { return (nil, false) }
            attemptedAt = now
            let task = Task { await self.refresh(now: now) }
            running = task
            return (task, !(known && usable))
        }
    }

    /// One fetch: the new copy, or the failure remembered and logged.
    private func refresh(now: Double) async {
        var failure: String?
        var skipped: [IssuerKeySet.SkippedKey] = []
        do {
            let (fetched, left) = try IssuerKeySet.usableKeys(from: try await fetch(url), source: url.absoluteString)
            skipped = left
            lock.withLock {
                keys = fetched
                fetchedAt = now
                lastFailure = nil
            }
        } catch {
            failure = "\(error)"
        }
        let logger = lock.withLock { () -> Logger? in
            running = nil
            if let failure { lastFailure = failure }
            return log
        }
        for key in skipped {
            logger?.warning("a key of an issuer's key set is skipped",
                            metadata: ["jwks_url": "\(url.absoluteString)", "key": "\(key.index)", "kid": "\(key.keyID ?? "")",
                                       "reason": "\(key.reason)"])
        }
        if let failure {
            logger?.warning("an issuer's key set could not be fetched",
                            metadata: ["jwks_url": "\(url.absoluteString)", "reason": "\(failure)"])
        }
    }

    /// The copy's keys, or ``Unavailable`` when there is no usable copy.
    private func current() throws -> [IssuerKey] {
        try lock.withLock {
            let now = clockSource()
            guard !keys.isEmpty, now - fetchedAt < Self.staleLimit else {
                throw Unavailable(reason: lastFailure ?? "no usable copy of the issuer's key set")
            }
            return keys
        }
    }

    /// The keys to check a token naming `keyID` with, fetching as the
    /// type's rules say; suspends (never blocks a thread) while a fetch it
    /// needs runs.
    public func keys(for keyID: String) async throws -> [IssuerKey] {
        let (task, wait) = plan(for: keyID)
        if wait, let task { await task.value }
        return try current()
    }

    /// `keys(for:)` for synchronous callers: when it must wait for
    /// a fetch, it blocks the calling thread until the fetch ends (at most
    /// ``timeout`` seconds and a little). The server uses the async form.
    public func keys(for keyID: String) throws -> [IssuerKey] {
        let (task, wait) = plan(for: keyID)
        if wait, let task {
            let done = DispatchSemaphore(value: 0)
            Task {
                await task.value
                done.signal()
            }
            _ = done.wait(timeout: .now() + Self.timeout + 2)
        }
        return try current()
    }

    /// One bounded GET of a key set document (at most
    /// `IssuerKeySet.maximumDocumentSize` bytes, ``timeout`` seconds, no
    /// redirect, HTTP 200 only), on SwiftNIO; throws ``Unavailable`` with the
    /// reason. The caller checks the URL with ``isAcceptable(_:)`` first.
    public static func fetchDocument(_ url: URL, transport: OutgoingHTTP = OutgoingHTTP()) async throws -> [UInt8] {
        let answer: OutgoingHTTP.Answer
        do {
            answer = try await transport.send(url, method: "GET", headers: [("Accept", "application/json")],
                                              limit: IssuerKeySet.maximumDocumentSize, timeout: timeout)
        } catch {
            throw Unavailable(reason: "\(url.absoluteString): \(error)")
        }
        guard answer.status == 200 else {
            let why = (300..<400).contains(answer.status) ? "HTTP \(answer.status): a redirect, which is not followed" : "HTTP \(answer.status), not 200"
            throw Unavailable(reason: "\(url.absoluteString): \(why)")
        }
        return answer.body
    }

    /// ``fetchDocument(_:transport:)`` for synchronous callers (the command
    /// line): blocks the calling thread until it ends. `transport` decides
    /// which CA certificates an https server is checked against.
    public static func download(_ url: URL, transport: OutgoingHTTP = OutgoingHTTP()) throws -> [UInt8] {
        final class Outcome: @unchecked Sendable { // written by the task before `done` is signalled, read after the wait
            var result: Result<[UInt8], any Error> = .failure(Unavailable(reason: "no answer"))
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { outcome.result = .success(try await fetchDocument(url, transport: transport)) } catch { outcome.result = .failure(error) }
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout + 2) == .success else {
            throw Unavailable(reason: "\(url.absoluteString): no answer within \(Int(timeout)) s")
        }
        return try outcome.result.get()
    }
}
