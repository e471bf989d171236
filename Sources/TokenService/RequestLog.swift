import Foundation
import Hummingbird
import HummingbirdCore
import Logging

/// How `modelsec serve` writes its request log on stderr.
public enum RequestLogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line (docs/token-service.md, "Request log").
    case json
    /// One `key=value` line per request, for a person.
    case text
}

/// A swift-log handler writing one line per log event to a file descriptor
/// (stderr): a JSON object with `time`, `level`, `message` and the metadata
/// as members, or `time level message key=value…` as text. Metadata values
/// are strings, numbers as strings are written as given; the request log
/// only ever hands it non-secret values.
public struct LineLogHandler: LogHandler {
    /// The lines' format.
    public let format: RequestLogFormat
    /// Where the lines go.
    public let descriptor: Int32
    /// Handler-wide metadata (added to every line).
    public var metadata: Logger.Metadata = [:]
    /// The lowest level written.
    public var logLevel: Logger.Level = .info

    /// A handler writing `format` lines to `descriptor` (2: stderr).
    public init(format: RequestLogFormat, descriptor: Int32 = 2) {
        self.format = format
        self.descriptor = descriptor
    }

    /// Handler metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    private static let lock = NSLock()

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func flatten(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case let .string(text): return text
        case let .stringConvertible(convertible):
            if let number = convertible as? Int { return number }
            if let number = convertible as? Double { return number }
            return convertible.description
        case let .array(values): return values.map(flatten)
        case let .dictionary(entries): return entries.mapValues(flatten)
        }
    }

    /// The line for `event` (without the newline).
    public func line(for event: LogEvent, at date: Date = Date()) -> String {
        var fields = metadata
        for (key, value) in event.metadata ?? [:] { fields[key] = value }
        switch format {
        case .json:
            var object: [String: Any] = ["time": Self.timestamp(date), "level": event.level.rawValue, "message": event.message.description]
            for (key, value) in fields { object[key] = Self.flatten(value) }
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                return #"{"message":"unencodable log line"}"#
            }
            return String(decoding: data, as: UTF8.self)
        case .text:
            let printable = { (text: String) in
                String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
            }
            let pairs = fields.keys.sorted().map { "\($0)=\(printable("\(Self.flatten(fields[$0]!))"))" }
            return ([Self.timestamp(date), event.level.rawValue, printable(event.message.description)] + pairs).joined(separator: " ")
        }
    }

    /// Writes the event's line.
    public func log(event: LogEvent) {
        let bytes = Array((line(for: event) + "\n").utf8)
        Self.lock.lock()
        defer { Self.lock.unlock() }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { break }
            offset += written
        }
    }
}

/// Logs one line per request (docs/token-service.md, "Request log"),
/// counts it in the metrics, and echoes the request id in `X-Request-Id`: taken from the request's
/// `X-Request-Id` when sane (``RequestNote/acceptedRequestID(_:)``), else
/// made up. Logs the method, the path (without the query), the status, the
/// client id the request named, the grant type and refusal code, and the
/// duration; never a header value, a body, a secret, an assertion or a token.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = TokenRequestContext

    /// Where the request lines go (nil: no request log).
    let logger: Logger?
    /// The counters and the latency histogram of `GET /metrics`.
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let id = RequestNote.acceptedRequestID(request.headers[.init("X-Request-Id")!]) ?? RequestNote.makeRequestID()
        context.note.requestID = id
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            response = Response(status: .internalServerError)
        }
        response.headers[.init("X-Request-Id")!] = id
        let elapsed = ContinuousClock.now - started
        metrics.record(status: Int(response.status.code), duration: elapsed, grantType: context.note.grantType,
                       error: context.note.error)
        guard let logger else { return response }
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var path = request.uri.path
        if path.utf8.count > 256 { path = String(decoding: Array(path.utf8.prefix(256)), as: UTF8.self) }
        var metadata: Logger.Metadata = [
            "request_id": .string(id),
            "method": .string(request.method.rawValue),
            "path": .string(path),
            "status": .stringConvertible(Int(response.status.code)),
            "client_id": .string(context.note.clientID),
            "duration_ms": .stringConvertible((milliseconds * 1000).rounded() / 1000),
        ]
        if !context.note.grantType.isEmpty { metadata["grant_type"] = .string(context.note.grantType) }
        if !context.note.error.isEmpty { metadata["error"] = .string(context.note.error) }
        logger.info("request", metadata: metadata)
        return response
    }
}
