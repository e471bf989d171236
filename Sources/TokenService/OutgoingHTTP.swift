import Foundation
import ModelSecCrypto
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS

/// The token service's outgoing HTTP/1.1 requests (`token fetch`,
/// introspection, an issuer's key set), on SwiftNIO: one connection per
/// request, no thread waiting on the network, redirects never followed,
/// the answer bounded in size and the whole exchange in time. For https the
/// server's certificate chain and name (or IP address) are verified against
/// the system's trusted CAs, or against given CA certificates only.
public struct OutgoingHTTP: Sendable {
    /// An answer: the status and the body.
    public struct Answer: Sendable, Equatable {
        /// The HTTP status code.
        public let status: Int
        /// The body (at most the request's limit).
        public let body: [UInt8]
    }

    /// Why no answer was had.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// What went wrong.
        public let reason: String
        public var description: String { reason }
    }

    /// A connection failure in words ("connection refused", "the host name
    /// does not resolve"), not NIO's nested debug description.
    static func connectFailure(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let nio = error as? NIOConnectionError {
            if let first = nio.connectionErrors.first { return connectFailure(first.error) }
            if nio.dnsAError != nil || nio.dnsAAAAError != nil { return "the host name does not resolve" }
            return "could not connect"
        }
        if error is ChannelError { return "could not connect" }
        let text = "\(error)"
        return "could not connect (" + (text.count > 200 ? String(text.prefix(200)) : text) + ")"
    }

    /// The CA certificates trusted for https; nil: the system's.
    let trustRoots: [NIOSSLCertificate]?

    /// Requests trusting the system's CA certificates.
    public init() { trustRoots = nil }

    /// Requests trusting only the CA certificates in `pem` (one or more PEM
    /// certificates); throws ``Failure`` when it holds none.
    public init(caPEM pem: [UInt8]) throws {
        let certificates: [NIOSSLCertificate]
        do { certificates = try NIOSSLCertificate.fromPEMBytes(pem) } catch {
            throw Failure(reason: "not PEM certificates (\(error))")
        }
        guard !certificates.isEmpty else { throw Failure(reason: "no PEM certificate") }
        trustRoots = certificates
    }

    /// Sends one request and reads the answer: at most `limit` body bytes
    /// (a longer answer is abandoned, never buffered whole), all within
    /// `timeout` seconds. Throws ``Failure``.
    public func send(_ url: URL, method: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     limit: Int, timeout: TimeInterval) async throws -> Answer {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var host = url.host, !host.isEmpty else {
            throw Failure(reason: "not an http or https URL")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let secure = scheme == "https"
        let port = url.port ?? (secure ? 443 : 80)
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        var target = components?.percentEncodedPath ?? "/"
        if target.isEmpty { target = "/" }
        if let query = components?.percentEncodedQuery { target += "?" + query }
        let isAddress = host.contains(":") || host.utf8.allSatisfy { $0 == UInt8(ascii: ".") || ($0 >= 0x30 && $0 <= 0x39) }
        let hostHeader = (host.contains(":") ? "[\(host)]" : host) + (url.port.map { ":\($0)" } ?? "")

        var context: NIOSSLContext?
        if secure {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            if let trustRoots { configuration.trustRoots = .certificates(trustRoots) }
            do { context = try NIOSSLContext(configuration: configuration) } catch {
                throw Failure(reason: "TLS could not be set up (\(error))")
            }
        }
        let milliseconds = Int64(max(timeout, 0.001) * 1000)
        let deadline = NIODeadline.now() + .milliseconds(milliseconds)
        let serverName = isAddress ? nil : host
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        let identity = IdentityCheck.Box()
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(milliseconds))
                .connect(host: host, port: port) { [context] channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context {
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName))
                            let check = IdentityCheck(host: serverName, promise: channel.eventLoop.makePromise())
                            identity.future = check.promise.futureResult
                            try channel.pipeline.syncOperations.addHandler(check)
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure(reason: NIODeadline.now() >= deadline ? "no connection within \(Int(timeout)) s" : Self.connectFailure(error))
        }
        // The whole exchange is bounded: past the deadline the connection is closed.
        let underlying = channel.channel
        let timer = underlying.eventLoop.scheduleTask(deadline: deadline) { underlying.close(promise: nil) }
        defer { timer.cancel() }
        do {
            return try await channel.executeThenClose { inbound, outbound in
                // Nothing is sent (a client secret, an assertion) before the
                // server has proved it is `host`; a failure here still ends
                // the writer and closes the channel (executeThenClose).
                if let verified = identity.future { try await verified.get() }
                var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target)
                head.headers.add(name: "Host", value: hostHeader)
                for (name, value) in headers { head.headers.add(name: name, value: value) }
                if let body { head.headers.add(name: "Content-Length", value: String(body.count)) }
                head.headers.add(name: "Connection", value: "close")
                // The request goes out in one write. Written part by part, a
                // server that answers once it has the head and then closes
                // (Python's http.server does) could close the channel before
                // the last part: that write failed ("I/O on closed channel",
                // about 1 fetch in 100 on loopback) though the answer had
                // arrived. A failed write is remembered, and the answer read.
                var parts: [HTTPClientRequestPart] = [.head(head)]
                if let body { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                parts.append(.end(nil))
                var writeFailure: (any Error)?
                do { try await outbound.write(contentsOf: parts) } catch { writeFailure = error }
                var status = 0
                var received: [UInt8] = []
                for try await part in inbound {
                    switch part {
                    case let .head(response):
                        // An interim 1xx answer is followed by the real one.
                        if response.status.code >= 200 { status = Int(response.status.code) }
                    case var .body(buffer):
                        guard received.count + buffer.readableBytes <= limit else { throw Failure(reason: "larger than \(limit) bytes") }
                        received += buffer.readBytes(length: buffer.readableBytes) ?? []
                    case .end:
                        if status >= 200 { return Answer(status: status, body: received) }
                    }
                }
                if let writeFailure { throw writeFailure }
                throw Failure(reason: "the connection closed before the answer was complete")
            }
        } catch let failure as Failure {
            if NIODeadline.now() >= deadline { throw Failure(reason: "no answer within \(Int(timeout)) s") }
            throw failure
        } catch {
            if NIODeadline.now() >= deadline { throw Failure(reason: "no answer within \(Int(timeout)) s") }
            throw Failure(reason: "\(error)")
        }
    }
}

/// Waits for the TLS handshake and checks that the server's certificate names
/// the URL's host as a DNS name. NIOSSL's own check (kept, with the chain
/// check) also accepts a certificate whose IP address entry matches the
/// connected address, or whose common name matches: someone who can point
/// the name at their server and holds a certificate for that server's
/// address would pass it. For an IP-address URL there is no host name and
/// NIOSSL's address check is the one that applies.
private final class IdentityCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    /// Where the request finds the check's result (set while the channel is set up).
    // @unchecked Sendable: written once in the channel initialiser, before the connect call returns; read after.
    final class Box: @unchecked Sendable {
        var future: EventLoopFuture<Void>?
    }

    let host: String?
    let promise: EventLoopPromise<Void>
    /// Whether `promise` is fulfilled (used on the channel's event loop only).
    private var settled = false

    init(host: String?, promise: EventLoopPromise<Void>) {
        self.host = host
        self.promise = promise
    }

    private func settle(_ result: Result<Void, any Error>) {
        guard !settled else { return }
        settled = true
        promise.completeWith(result)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            if let host {
                let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate
                let matches = (try? certificate.map { try X509Certificate(der: try $0.toDERBytes()).matchesDNSName(host) }) ?? false
                if matches == true {
                    settle(.success(()))
                } else {
                    settle(.failure(OutgoingHTTP.Failure(reason: "the server's certificate does not name \(host) as a DNS name")))
                    context.close(promise: nil)
                    return
                }
            } else {
                settle(.success(()))
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        settle(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        settle(.failure(OutgoingHTTP.Failure(reason: "the connection closed during the TLS handshake")))
        context.fireChannelInactive()
    }
}
