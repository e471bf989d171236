import Foundation
import TestSupport
import TokenService
import XCTest

/// `GET /metrics`: Prometheus text with the issue, refusal and HTTP counters
/// and the latency histogram.
final class MetricsTests: XCTestCase {
    /// `name{labels} value` lines of a Prometheus text exposition (comments skipped).
    static func samples(_ text: String) -> [String: Double] {
        var result: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            result[String(line[..<space])] = value
        }
        return result
    }

    func testRecordAndExposition() {
        let metrics = ServiceMetrics()
        let zero = Self.samples(String(decoding: metrics.exposition(), as: UTF8.self))
        XCTAssertEqual(zero[#"modelsec_tokens_issued_total{grant_type="client_credentials"}"#], 0)
        XCTAssertEqual(zero[#"modelsec_tokens_issued_total{grant_type="token-exchange"}"#], 0)
        XCTAssertEqual(zero[#"modelsec_token_refusals_total{error="slow_down"}"#], 0)
        XCTAssertEqual(zero[#"modelsec_http_requests_total{status_class="5xx"}"#], 0)
        metrics.record(status: 200, duration: .milliseconds(3), grantType: "token-exchange", error: "")
        metrics.record(status: 200, duration: .milliseconds(30), grantType: "", error: "")
        metrics.record(status: 429, duration: .microseconds(200), grantType: "client_credentials", error: "slow_down")
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        let after = Self.samples(text)
        XCTAssertEqual(after[#"modelsec_tokens_issued_total{grant_type="token-exchange"}"#], 1)
        XCTAssertEqual(after[#"modelsec_tokens_issued_total{grant_type="client_credentials"}"#], 0, "a refusal issues nothing")
        XCTAssertEqual(after[#"modelsec_token_refusals_total{error="slow_down"}"#], 1)
        XCTAssertEqual(after[#"modelsec_http_requests_total{status_class="2xx"}"#], 2)
        XCTAssertEqual(after[#"modelsec_http_requests_total{status_class="4xx"}"#], 1)
        XCTAssertEqual(after["modelsec_http_request_duration_seconds_count"], 3)
        XCTAssertEqual(after[#"modelsec_http_request_duration_seconds_bucket{le="0.0005"}"#], 1, text)
        XCTAssertEqual(after[#"modelsec_http_request_duration_seconds_bucket{le="0.005"}"#], 2, text)
        XCTAssertEqual(after[#"modelsec_http_request_duration_seconds_bucket{le="+Inf"}"#], 3, text)
        XCTAssertEqual(after["modelsec_http_request_duration_seconds_sum"] ?? 0, 0.0332, accuracy: 1e-9)
        XCTAssertTrue(text.contains("# TYPE modelsec_tokens_issued_total counter"), text)
        XCTAssertTrue(text.contains("# TYPE modelsec_http_request_duration_seconds histogram"), text)
    }

    /// A live server: scrape after some requests and check the numbers.
    func testScrapeAfterRequests() throws {
        let fixture = try TokenServiceFixture(listen: "127.0.0.1:0")
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let server = try TokenServerTests.ServerProcess(config: fixture.configPath, logDirectory: fixture.directory)
        defer { _ = server.stop() }
        let script = """
            import json, sys, requests
            base, secret = sys.argv[1:3]
            statuses = []
            for _ in range(3):
                statuses.append(requests.post(base + "/token", data={"grant_type": "client_credentials"}, auth=("basic-client", secret), timeout=10).status_code)
            statuses.append(requests.post(base + "/token", data={"grant_type": "client_credentials"}, auth=("basic-client", "wrong"), timeout=10).status_code)
            statuses.append(requests.post(base + "/token", data={"grant_type": "client_credentials", "scope": "model:sign:x@1"},
                                          auth=("basic-client", secret), timeout=10).status_code)
            statuses.append(requests.get(base + "/nosuch", timeout=10).status_code)
            first = requests.get(base + "/metrics", timeout=10)
            second = requests.get(base + "/metrics", timeout=10)
            print(json.dumps({"statuses": statuses, "first": first.text, "second": second.text,
                              "contentType": first.headers.get("Content-Type")}))
            """
        let r = try TestSupport.run(try TestSupport.python(), ["-c", script, server.base, TokenServiceFixture.basicSecret])
        XCTAssertEqual(r.status, 0, r.stderrText + "\nserver log:\n" + server.log)
        let seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText)
        XCTAssertEqual(seen["statuses"] as? [Int], [200, 200, 200, 401, 400, 404])
        XCTAssertEqual(seen["contentType"] as? String, "text/plain; version=0.0.4; charset=utf-8")
        let first = Self.samples(try XCTUnwrap(seen["first"] as? String))
        XCTAssertEqual(first[#"modelsec_tokens_issued_total{grant_type="client_credentials"}"#], 3)
        XCTAssertEqual(first[#"modelsec_tokens_issued_total{grant_type="token-exchange"}"#], 0)
        XCTAssertEqual(first[#"modelsec_token_refusals_total{error="invalid_client"}"#], 1)
        XCTAssertEqual(first[#"modelsec_token_refusals_total{error="invalid_scope"}"#], 1)
        XCTAssertEqual(first[#"modelsec_http_requests_total{status_class="2xx"}"#], 3)
        XCTAssertEqual(first[#"modelsec_http_requests_total{status_class="4xx"}"#], 3)
        XCTAssertEqual(first["modelsec_http_request_duration_seconds_count"], 6, "the scrape itself is counted after it is answered")
        XCTAssertGreaterThan(first["modelsec_http_request_duration_seconds_sum"] ?? 0, 0)
        let second = Self.samples(try XCTUnwrap(seen["second"] as? String))
        XCTAssertEqual(second[#"modelsec_http_requests_total{status_class="2xx"}"#], 4)
        XCTAssertEqual(second["modelsec_http_request_duration_seconds_count"], 7)
    }
}
