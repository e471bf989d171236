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

    /// RFC 3339 UTC with milliseconds (`2026-12-01T10:00:00.123Z`), as
    /// ISO8601DateFormatter writes it, without making a formatter per line
    /// (which cost more than the rest of a request's handling).
    static func timestamp(_ date: Date) -> String {
        let total = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(total >= 0 ? total / 1000 : (total - 999) / 1000)
        let milliseconds = Int(total - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var out = [UInt8]()
        out.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2); out.append(UInt8(ascii: "."))
        digits(milliseconds, 3); out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `text` as a JSON string: `"` and `\` escaped, control
    /// characters as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`, everything
    /// else (`/` and non-ASCII included) as it is — what JSONSerialization
    /// writes with `.withoutEscapingSlashes`.
    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `value` as JSON: a string, an Int or Double
    /// `stringConvertible` as a number, an array, or an object with sorted
    /// keys (the same values ``flatten(_:)`` gives JSONSerialization).
    static func appendJSON(_ value: Logger.Metadata.Value, to out: inout [UInt8]) {
        switch value {
        case let .string(text): appendJSONString(text, to: &out)
        case let .stringConvertible(convertible):
            if let number = convertible as? Int {
                out += Array(String(number).utf8)
            } else if let number = convertible as? Double, number.isFinite {
                out += Array((number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)).utf8)
            } else {
                appendJSONString(convertible.description, to: &out)
            }
        case let .array(values):
            out.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendJSON(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .dictionary(entries):
            appendJSONObject(entries.map { ($0.key, $0.value) }, to: &out)
        }
    }

    /// Appends an object whose members are `members`, sorted by key bytes.
    static func appendJSONObject(_ members: [(String, Logger.Metadata.Value)], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (index, (key, value)) in members.sorted(by: { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendJSONString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendJSON(value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
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
            fields["time"] = .string(Self.timestamp(date))
            fields["level"] = .string(event.level.rawValue)
            fields["message"] = .string(event.message.description)
            var out = [UInt8]()
            out.reserveCapacity(256)
            Self.appendJSONObject(fields.map { ($0.key, $0.value) }, to: &out)
            return String(decoding: out, as: UTF8.self)
        case .text:
            let printable = { (text: String) in
                String(text.unicodeScalars.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? "?" : Character($0) })
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
