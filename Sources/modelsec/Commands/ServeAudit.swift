import ArgumentParser
import Foundation
import ModelSec
import TokenService

/// `modelsec serve audit --config FILE [--since T] [--limit N] [--json]`: the
/// token service's audit records (every issue, refusal, revocation and
/// introspection): the newest `--limit`, printed oldest first.
struct ServeAudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the token service's audit records (issues, refusals, revocations, introspections).",
        discussion: """
        One line per record: time (UTC), event, client, subject, scopes, jti, \
        outcome and the request id of the HTTP request (as in the request log). \
        The newest --limit records are shown, oldest first (as tail does); when \
        the limit cut older records off, a notice on stderr says so (--json: \
        "truncated": true). --since takes an RFC 3339 UTC time \
        (2026-12-01T10:00:00Z) or a duration back from now (15m, 1h, 7d). \
        Records older than the configuration's audit_retention (default 90d) \
        are deleted by the running service.

        Examples:
          modelsec serve audit --config service.yaml --since 1h
          modelsec serve audit --config service.yaml --since 2026-12-01T10:00:00Z --json
        """
    )

    @Option(help: ArgumentHelp("The service configuration (YAML).", valueName: "FILE"))
    var config: String

    @Option(help: ArgumentHelp("Only records at or after T: an RFC 3339 UTC time or a duration back from now (1h).", valueName: "T"))
    var since: String?

    @Option(help: ArgumentHelp("At most the newest N records (1 to 1000000, default 10000).", valueName: "N"))
    var limit: Int = 10_000

    @OptionGroup var json: JSONOption

    @OptionGroup var storeOptions: StoreOptions

    /// One record in the --json result.
    struct Record: Encodable {
        let time: String
        let event: String
        let clientId: String
        let subject: String
        let scopes: String
        let jti: String
        let outcome: String
        let requestId: String
    }

    /// The --json result.
    struct Result: Encodable {
        let since: String?
        let count: Int
        /// True when the limit cut older matching records off.
        let truncated: Bool
        let records: [Record]
    }

    static func timestamp(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// `--since` in seconds since the epoch.
    static func sinceSeconds(_ text: String, now: Date) throws -> Int64 {
        if let duration = TokenDuration(parsing: text) {
            return Int64(now.timeIntervalSince1970) - duration.seconds
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        guard text.hasSuffix("Z"), let date = formatter.date(from: text) else {
            throw ValidationError("--since must be an RFC 3339 UTC time such as 2026-12-01T10:00:00Z or a duration such as 1h.")
        }
        return Int64(date.timeIntervalSince1970)
    }

    func validate() throws {
        guard (1...1_000_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000000.") }
        if let since { _ = try Self.sinceSeconds(since, now: Date()) }
    }

    func run() throws {
        let settings = try ServiceConfig.load(config)
        if case .sqlite(let path) = try ServeStore.chosenURL(settings, options: storeOptions), !FileManager.default.fileExists(atPath: path) {
            throw TokenServiceError.store(file: path, reason: "the state store does not exist (the service has not run)")
        }
        let store = try ServeStore.open(settings, options: storeOptions)
        let from = try since.map { try Self.sinceSeconds($0, now: Date()) }
        let limit = self.limit
        // The newest limit + 1: one more than shown tells whether the limit cut any.
        var records = try ServeStore.wait { try await store.latestAuditRecords(since: from ?? Int64.min, limit: limit + 1) }
        let truncated = records.count > limit
        records = Array(records.prefix(limit).reversed())
        if json.isOn {
            try CLI.printResult(Result(since: from.map(Self.timestamp), count: records.count, truncated: truncated, records: records.map {
                Record(time: Self.timestamp($0.time), event: $0.event, clientId: $0.clientID, subject: $0.subject, scopes: $0.scopes,
                       jti: $0.tokenID, outcome: $0.outcome, requestId: $0.requestID)
            }))
            return
        }
        // Values come from requests (a claimed client id, a workload's sub):
        // terminal controls are escaped as everywhere else (CLI.terminalSafe),
        // and spaces and '=' too, so a value cannot forge another field.
        let clean = { (text: String) -> String in
            text.isEmpty ? "-" : CLI.terminalSafe(text).replacingOccurrences(of: " ", with: "\\u{20}")
                .replacingOccurrences(of: "=", with: "\\u{3d}")
        }
        if truncated {
            CLI.warn("showing the newest \(limit) records; older ones match too (raise --limit or narrow --since)")
        }
        for record in records {
            print([Self.timestamp(record.time), record.event, "client=" + clean(record.clientID), "subject=" + clean(record.subject),
                   "scopes=" + clean(record.scopes.replacingOccurrences(of: " ", with: ",")), "jti=" + clean(record.tokenID),
                   "outcome=" + clean(record.outcome), "request=" + clean(record.requestID)].joined(separator: " "))
        }
    }
}
