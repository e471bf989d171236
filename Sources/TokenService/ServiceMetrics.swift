import Foundation
import Prometheus

/// The token service's metrics, served at `GET /metrics` in the Prometheus
/// text format (swift-prometheus; docs/token-service.md, "Metrics"):
///
/// - `modelsec_tokens_issued_total{grant_type}`: tokens issued, by grant
///   type (`client_credentials`, `token-exchange`);
/// - `modelsec_token_refusals_total{error}`: refused OAuth requests (on
///   `/token`, `/revoke`, `/introspect`) by RFC 6749 error code;
/// - `modelsec_http_requests_total{status_class}`: HTTP answers by status
///   class (`1xx` … `5xx`);
/// - `modelsec_http_request_duration_seconds`: a latency histogram of every
///   HTTP request.
///
/// Every grant type, error code and status class is present from the start
/// (at 0), so a scrape always shows the same series.
public final class ServiceMetrics: Sendable {
    /// The histogram's bucket bounds, in seconds.
    public static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    private let registry = PrometheusCollectorRegistry()
    private let issued: [String: Counter]
    private let refusals: [String: Counter]
    /// By status class: index 0 is `1xx`, 4 is `5xx`.
    private let requests: [Counter]
    private let latency: DurationHistogram

    /// Empty metrics.
    public init() {
        let registry = self.registry
        func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "modelsec", metricName: name, unitName: unit, helpText: help)
        }
        let issuedName = descriptor("tokens_issued", "total", "Access tokens issued, by grant type.")
        issued = Dictionary(uniqueKeysWithValues: [TokenEndpoint.clientCredentials, "token-exchange"].map {
            ($0, registry.makeCounter(descriptor: issuedName, labels: [("grant_type", $0)]))
        })
        let refusalName = descriptor("token_refusals", "total", "Refused OAuth requests, by error code.")
        refusals = Dictionary(uniqueKeysWithValues: OAuthError.Code.allCases.map {
            ($0.rawValue, registry.makeCounter(descriptor: refusalName, labels: [("error", $0.rawValue)]))
        })
        let requestName = descriptor("http_requests", "total", "HTTP requests answered, by status class.")
        requests = (1...5).map { registry.makeCounter(descriptor: requestName, labels: [("status_class", "\($0)xx")]) }
        latency = registry.makeDurationHistogram(
            descriptor: descriptor("http_request_duration", "seconds", "HTTP request latency, from the request head to the answer."),
            labels: [], buckets: Self.latencyBuckets.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) })
    }

    /// Counts one answered HTTP request: its status class, its latency, and
    /// for a token request the token issued (`grantType` with status 200) or
    /// the refusal (`error`).
    public func record(status: Int, duration: Duration, grantType: String, error: String) {
        requests[min(5, max(1, status / 100)) - 1].increment()
        latency.record(duration)
        if !error.isEmpty {
            refusals[error]?.increment()
        } else if status == 200, !grantType.isEmpty {
            issued[grantType]?.increment()
        }
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4).
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
