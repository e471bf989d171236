import AccessTokens
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ModelSecCrypto
import NIOCore
import NIOHTTPTypes
import NIOPosix
import NIOSSL

/// The HTTP side of the token service (Hummingbird 2 on SwiftNIO, run by
/// swift-service-lifecycle: SIGTERM and SIGINT stop accepting connections and
/// let in-flight requests finish).
///
/// Routes: `POST /token`, `POST /revoke` (RFC 7009), `POST /introspect`
/// (RFC 7662), `GET /.well-known/oauth-authorization-server` (RFC 8414),
/// `GET /jwks.json`, `GET /healthz`, `GET /metrics`.
public struct TokenServer: Sendable {
    /// Idle connections (including a client that stops sending half-way
    /// through its headers) are closed after this long.
    public static let idleTimeoutSeconds: Int64 = 10
    /// A request (for HTTPS, with the TLS handshake before it) must arrive
    /// whole within this many seconds of its first byte (of the connection's
    /// opening, for its first request); a connection sending slower, however
    /// steadily, is closed (``ReceiveDeadlineHandler``).
    public static let requestReceiveSeconds: Int64 = 10

    let config: ServiceConfig
    let endpoint: TokenEndpoint
    let management: TokenManagement
    let keys: KeyRing
    let metadata: [UInt8]
    /// What `GET /metrics` shows.
    let metrics = ServiceMetrics()

    /// A server issuing with `signer` (a key file, or any other ``Signer``
    /// such as a PKCS#11 key) and keeping state in `store`; the keys never rotate.
    public init(config: ServiceConfig, signer: any Signer, store: any TokenServiceStore) async throws {
        let issuer = try AccessTokenIssuer(signingKey: signer, issuer: config.issuer, maximumLifetime: config.maximumTTL)
        try await self.init(config: config, keys: try KeyRing(fixed: issuer, keys: [try VerificationKey(signer.publicKey, keyID: issuer.keyID)]),
                      store: store)
    }

    /// A server signing with the current key of `keys` (which follows `serve
    /// rotate-key`) and keeping state in `store`.
    public init(config: ServiceConfig, keys: KeyRing, store: any TokenServiceStore) async throws {
        self.config = config
        self.keys = keys
        self.endpoint = try await TokenEndpoint(config: config, keys: keys, store: store)
        self.management = TokenManagement(endpoint: endpoint)
        self.metadata = try Self.metadataDocument(config)
    }

    /// The RFC 8414 authorization server metadata; with a trust policy, the
    /// token-exchange grant and the `none` client authentication method are listed.
    static func metadataDocument(_ config: ServiceConfig) throws -> [UInt8] {
        struct Metadata: Encodable {
            let issuer: String
            let token_endpoint: String
            let revocation_endpoint: String
            let introspection_endpoint: String
            let revocation_endpoint_auth_methods_supported: [String]
            let introspection_endpoint_auth_methods_supported: [String]
            let jwks_uri: String
            let grant_types_supported: [String]
            let response_types_supported: [String]
            let token_endpoint_auth_methods_supported: [String]
            let token_endpoint_auth_signing_alg_values_supported: [String]
        }
        let base = ServiceConfig.trimmingSlash(config.issuer)
        // Token exchange needs no client authentication ("none", RFC 8414 §2).
        let exchange = !config.trustRules.isEmpty
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(Metadata(
            issuer: config.issuer, token_endpoint: config.tokenEndpoint,
            revocation_endpoint: base + "/revoke", introspection_endpoint: base + "/introspect",
            revocation_endpoint_auth_methods_supported: RegisteredClient.AuthMethod.allCases.map(\.rawValue),
            introspection_endpoint_auth_methods_supported: RegisteredClient.AuthMethod.allCases.map(\.rawValue),
            jwks_uri: base + "/jwks.json",
            grant_types_supported: [TokenEndpoint.clientCredentials] + (exchange ? [TokenEndpoint.tokenExchange] : []),
            response_types_supported: [],
            token_endpoint_auth_methods_supported: RegisteredClient.AuthMethod.allCases.map(\.rawValue) + (exchange ? ["none"] : []),
            token_endpoint_auth_signing_alg_values_supported: ["EdDSA", "ES256"])))
    }

    /// Deletes the audit records older than the configured retention
    /// (`audit_retention`; nothing when it is `forever`), logging a warning
    /// when the store refuses (for example a PostgreSQL role without
    /// `DELETE` on `tok_audit`). Returns how many were deleted.
    @discardableResult
    public func sweepAudit(now: Date, logger: Logger?) async -> Int {
        guard let retention = config.auditRetention else { return 0 }
        let before = Int64(now.timeIntervalSince1970) - retention.seconds
        do {
            return try await endpoint.store.deleteAuditRecords(before: before)
        } catch {
            logger?.warning("audit records past the retention could not be deleted", metadata: ["reason": "\(error)"])
            return 0
        }
    }

    static func json(_ status: HTTPResponse.Status, _ body: [UInt8], noStore: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if noStore {
            headers[.cacheControl] = "no-store"
            headers[.init("Pragma")!] = "no-cache"
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func refusal(_ error: OAuthError) -> Response {
        var response = json(.init(code: error.status), error.body, noStore: true)
        if let challenge = error.wwwAuthenticate { response.headers[.wwwAuthenticate] = challenge }
        if let wait = error.retryAfter { response.headers[.retryAfter] = String(wait) }
        return response
    }

    /// Binds, reports the bound address through `onListening` (host, port:
    /// port 0 in the configuration means the kernel's choice), and serves
    /// until SIGTERM or SIGINT, writing one line per request to `logger`
    /// (nil: no request log).
    public func run(logger: Logger? = nil, onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        try await serve(logger: logger, onListening: onListening)
    }

    /// ``run(logger:onListening:)`` with the request log written to stderr
    /// in `requestLog` format (docs/token-service.md, "Request log").
    public func run(requestLog: RequestLogFormat, onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        try await serve(logger: Logger(label: "modelsec.serve", factory: { _ in LineLogHandler(format: requestLog) }),
                        onListening: onListening)
    }

    private func serve(logger: Logger?, onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        for source in config.issuerKeys.values {
            if case let .remote(set) = source { set.logger = logger }
        }
        let router = Router(context: TokenRequestContext.self)
        let metrics = self.metrics
        router.add(middleware: RequestLogMiddleware(logger: logger, metrics: metrics))
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        let endpoint = self.endpoint
        let keys = self.keys
        let metadata = self.metadata
        router.get("/healthz") { _, _ in Self.json(.ok, Array(#"{"status":"ok"}"#.utf8)) }
        router.get("/jwks.json") { _, _ in Self.json(.ok, await keys.current().jwks) }
        router.get("/.well-known/oauth-authorization-server") { _, _ in Self.json(.ok, metadata) }
        let management = self.management
        /// A form POST; `answer` gives the 200 body (it suspends on the store
        /// and on a token exchange's issuer key set, and hashes secrets on
        /// NIO's blocking pool, never blocking a thread).
        @Sendable func form(_ request: Request, _ context: TokenRequestContext,
                            _ answer: @escaping @Sendable (String?, String?, [UInt8], String?, RequestNote) async throws -> [UInt8]) async throws -> Response {
            let body: [UInt8]
            do {
                var buffer = try await request.body.collect(upTo: TokenEndpoint.maximumBodySize)
                body = buffer.readBytes(length: buffer.readableBytes) ?? []
            } catch {
                return Self.refusal(OAuthError(.invalidRequest, "the request body is too large or was not received"))
            }
            let authorization = request.headers[.authorization]
            let contentType = request.headers[.contentType]
            let address = context.remoteAddress
            let note = context.note
            do {
                let success = try await answer(authorization, contentType, body, address, note)
                return Self.json(.ok, success, noStore: true)
            } catch let refusal as OAuthError {
                return Self.refusal(refusal)
            }
        }
        router.post("/token") { request, context -> Response in
            try await form(request, context) { authorization, contentType, body, address, note in
                try await endpoint.handle(authorization: authorization, contentType: contentType, body: body, address: address, note: note).body
            }
        }
        router.post("/revoke") { request, context -> Response in
            try await form(request, context) { authorization, contentType, body, address, note in
                try await management.revoke(authorization: authorization, contentType: contentType, body: body, address: address, note: note)
            }
        }
        router.post("/introspect") { request, context -> Response in
            try await form(request, context) { authorization, contentType, body, address, note in
                try await management.introspect(authorization: authorization, contentType: contentType, body: body, address: address, note: note)
            }
        }
        let http = HTTP1Channel.Configuration(additionalChannelHandlers: [RequestReceivedHandler()],
                                              idleTimeout: .seconds(Self.idleTimeoutSeconds))
        let receiveLimit = TimeAmount.seconds(Self.requestReceiveSeconds)
        var tls: TLSConfiguration?
        if let certPath = config.tlsCertificate, let keyPath = config.tlsKey {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certPath).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
                let configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
                // Checked here, so a certificate that does not match its key stops the start.
                _ = try NIOSSLContext(configuration: configuration)
                tls = configuration
            } catch {
                throw TokenServiceError.serverStart(reason: "the TLS certificate or key could not be used (\(error))")
            }
        }
        let server = HTTPServerBuilder { [tls] responder in
            let http1 = HTTP1Channel(responder: responder, configuration: http)
            if let tls { return ReceiveDeadlineChannel(base: try TLSChannel(http1, tlsConfiguration: tls), limit: receiveLimit) }
            return ReceiveDeadlineChannel(base: http1, limit: receiveLimit)
        }
        // Audit retention: old records go at start, then every auditSweepSeconds.
        let sweeper = Task { [self] in
            while !Task.isCancelled {
                await sweepAudit(now: Date(), logger: logger)
                try? await Task.sleep(nanoseconds: ServiceConfig.auditSweepSeconds * 1_000_000_000)
            }
        }
        defer { sweeper.cancel() }
        var serverLogger = logger ?? Logger(label: "modelsec.serve", factory: { _ in SwiftLogNoOpLogHandler() })
        serverLogger.logLevel = .warning
        let app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(config.listen.host, port: config.listen.port), serverName: nil),
            onServerRunning: { channel in
                onListening(channel.localAddress?.ipAddress ?? "?", channel.localAddress?.port ?? 0)
            },
            logger: serverLogger)
        try await app.runService()
    }
}

/// The request context: Hummingbird's basics plus the peer's IP address
/// (for the failure throttle).
struct TokenRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The peer's IP address, if known.
    let remoteAddress: String?
    /// What handling the request learns, for its log line and audit records.
    let note = RequestNote()

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}

/// A child channel that puts a ``ReceiveDeadlineHandler`` in front of
/// `base`'s pipeline (before TLS, so a slow handshake is cut too).
struct ReceiveDeadlineChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    /// The channel it wraps (HTTP/1.1, or TLS around it).
    let base: Base
    /// How long a request may take to arrive.
    let limit: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ReceiveDeadlineHandler(limit: limit), position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes a connection whose request does not arrive in time, however
/// steadily its bytes trickle in (a slow-loris client resets any idle timer
/// with each byte it sends).
///
/// It sits first in the pipeline and sees raw bytes. The clock starts when
/// the connection opens and, after each request, at the next byte received;
/// it stops when the request has been received whole (the ``RequestReceived``
/// event of ``RequestReceivedHandler``, after HTTP decoding) or when the
/// server writes. A request that arrives within the limit is never affected,
/// however long its answer takes; one that does not is closed when the limit
/// passes, whether it is in its TLS handshake, request line, headers or body.
final class ReceiveDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How long a request may take to arrive.
    let limit: TimeAmount
    private var deadline: Scheduled<Void>?
    /// True from a request's last byte until the server writes (its answer):
    /// bytes read meanwhile (a pipelined request) start the clock only then.
    private var answering = false

    init(limit: TimeAmount) { self.limit = limit }

    private func start(_ context: ChannelHandlerContext) {
        guard deadline == nil, !answering else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: limit) {
            self.deadline = nil
            context.close(promise: nil)
        }
    }

    private func stop() {
        deadline?.cancel()
        deadline = nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { stop() }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        start(context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        answering = false
        stop()
        context.write(data, promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is RequestReceived else { return context.triggerUserOutboundEvent(event, promise: promise) }
        answering = true
        stop()
        promise?.succeed(())
    }
}

/// Sent toward the socket when a request has been received whole.
struct RequestReceived {}

/// After HTTP decoding: tells ``ReceiveDeadlineHandler`` (with a
/// ``RequestReceived`` outbound event) when a request's last part arrived.
final class RequestReceivedHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) { context.triggerUserOutboundEvent(RequestReceived(), promise: nil) }
        context.fireChannelRead(data)
    }
}
