import AccessTokens
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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
/// - if a fetch fails, the previous copy is used until it is ``staleLimit``
///   old; after that (or with no copy at all) the keys are unavailable.
public final class RemoteKeySet: @unchecked Sendable { // `keys`, `fetchedAt`, `attemptedAt` only change with `lock` held
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
    /// Fetches a document.
    let fetch: @Sendable (URL) throws -> [UInt8]

    /// A key set at `url` (already checked to be https or loopback http).
    public init(url: URL) {
        self.url = url
        self.fetch = RemoteKeySet.download
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

    /// The keys to check a token naming `keyID` with, at `now` (seconds since
    /// the epoch), fetching as the type's rules say. The fetch runs outside
    /// the lock: requests arriving meanwhile use the copy there is (they do
    /// not wait, and do not fetch again).
    public func keys(for keyID: String, now: Double) throws -> [IssuerKey] {
        lock.lock()
        let known = keys.contains { Array($0.keyID.utf8) == Array(keyID.utf8) }
        let fetching = (now - fetchedAt >= Self.maximumAge || !known) && now - attemptedAt >= Self.minimumInterval
        if fetching { attemptedAt = now }
        lock.unlock()
        var failure: String?
        if fetching {
            do {
                let fetched = try IssuerKeySet.keys(from: try fetch(url), source: url.absoluteString)
                lock.lock()
                keys = fetched
                fetchedAt = now
                lock.unlock()
            } catch {
                failure = "\(error)"
            }
        }
        lock.lock()
        defer { lock.unlock() }
        guard !keys.isEmpty, now - fetchedAt < Self.staleLimit else {
            throw Unavailable(reason: failure ?? "no usable copy of the issuer's key set")
        }
        return keys
    }

    /// One bounded GET of a key set document (at most
    /// `IssuerKeySet.maximumDocumentSize` bytes, ``timeout`` seconds, no
    /// redirect), blocking the calling thread; throws ``Unavailable`` with
    /// the reason. The caller checks the URL with ``isAcceptable(_:)`` first.
    public static func download(_ url: URL) throws -> [UInt8] {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        let download = BoundedDownload(limit: IssuerKeySet.maximumDocumentSize)
        let session = URLSession(configuration: .ephemeral, delegate: download, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        task.resume()
        guard download.done.wait(timeout: .now() + timeout + 1) == .success else {
            task.cancel()
            throw Unavailable(reason: "\(url.absoluteString): no answer within \(Int(timeout)) s")
        }
        switch download.outcome {
        case let .success(bytes): return bytes
        case let .failure(why): throw Unavailable(reason: "\(url.absoluteString): \(why.reason)")
        }
    }
}

/// One GET read into memory up to `limit` bytes (the task is cancelled past
/// it, so a huge answer is never buffered), no redirect followed, no HTTP
/// authentication answered. `done` is signalled once `outcome` is final.
final class BoundedDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable { // state guarded by `lock`
    private let lock = NSLock()
    private let limit: Int
    private var received: [UInt8] = []
    private var status = 0
    private var failure: String?
    private var finished = false
    /// Signalled once, when the transfer ended.
    let done = DispatchSemaphore(value: 0)

    init(limit: Int) { self.limit = limit }

    /// The body, or why there is none.
    var outcome: Result<[UInt8], RemoteKeySet.Unavailable> {
        lock.lock()
        defer { lock.unlock() }
        if let failure { return .failure(.init(reason: failure)) }
        guard status == 200 else { return .failure(.init(reason: (300..<400).contains(status) ? "HTTP \(status): a redirect, which is not followed" : "HTTP \(status), not 200")) }
        return .success(received)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        lock.lock()
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        lock.unlock()
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock()
        if received.count + data.count > limit {
            failure = failure ?? "larger than \(limit) bytes"
            lock.unlock()
            dataTask.cancel()
            return
        }
        received += data
        lock.unlock()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
                    completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
        SessionPolicy.answer(challenge, completionHandler)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        if let error, failure == nil { failure = (error as NSError).localizedDescription }
        let first = !finished
        finished = true
        lock.unlock()
        if first { done.signal() }
    }
}
