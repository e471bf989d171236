import Foundation
import Logging
import TestSupport
import TokenService
import XCTest

/// The request log (one line per request on stderr, `X-Request-Id`) and the
/// audit records (`modelsec serve audit`).
final class RequestLogTests: XCTestCase {
    func testRequestIDsAndLineFormats() throws {
        XCTAssertEqual(RequestNote.acceptedRequestID("abc-123_x.y:z"), "abc-123_x.y:z")
        for bad in [nil, "", "has space", "new\nline", String(repeating: "a", count: 129), "é", "a/b", "a\"b"] {
            XCTAssertNil(RequestNote.acceptedRequestID(bad), bad ?? "nil")
        }
        let made = RequestNote.makeRequestID()
        XCTAssertEqual(made.count, 32)
        XCTAssertEqual(RequestNote.acceptedRequestID(made), made)
        XCTAssertNotEqual(made, RequestNote.makeRequestID())

        // A claimed client id outside the id alphabet is not kept (it could be anything a client sent).
        let note = RequestNote()
        note.clientID = "good-client"
        XCTAssertEqual(note.clientID, "good-client")
        note.clientID = "bad id\n{\"x\":1}"
        XCTAssertEqual(note.clientID, "")

        let event = LogEvent(level: .info, message: "request", metadata: ["path": .string("/token\n"), "status": .stringConvertible(200)],
                             source: "t", file: #fileID, function: #function, line: #line)
        let date = Date(timeIntervalSince1970: 1_800_000_000.25)
        let json = LineLogHandler(format: .json).line(for: event, at: date)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["time"] as? String, "2027-01-15T08:00:00.250Z")
        XCTAssertEqual(object["status"] as? Int, 200)
        XCTAssertEqual(object["path"] as? String, "/token\n")
        XCTAssertFalse(json.contains("\n"), "one line")
        let text = LineLogHandler(format: .text).line(for: event, at: date)
        XCTAssertEqual(text, "2027-01-15T08:00:00.250Z info request path=/token? status=200")
    }

    /// The real server: a JSON line per request with the documented fields,
    /// the request id echoed (a sane `X-Request-Id` kept, another replaced),
    /// no secret, assertion or token in the log; the audit records carry the
    /// same request ids and `serve audit` shows them, with `--since`.
    func testServerLogsOneJSONLinePerRequestAndAuditRecordsCarryTheRequestID() throws {
        let fixture = try TokenServiceFixture(listen: "127.0.0.1:0")
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let server = try TokenServerTests.ServerProcess(config: fixture.configPath, logDirectory: fixture.directory)
        let assertion = try fixture.assertion()
        let script = """
            import json, sys, requests
            base, secret, assertion = sys.argv[1:4]
            out = {}
            r = requests.post(base + "/token", data={"grant_type": "client_credentials"}, auth=("basic-client", secret),
                              headers={"X-Request-Id": "deploy-42"}, timeout=10)
            out["token"] = r.json()["access_token"]
            out["kept"] = r.headers.get("X-Request-Id")
            r = requests.post(base + "/token", data={"grant_type": "client_credentials"}, auth=("basic-client", "wrong-secret-value"),
                              headers={"X-Request-Id": "no spaces allowed"}, timeout=10)
            out["replaced"] = r.headers.get("X-Request-Id")
            r = requests.post(base + "/token", data={"grant_type": "client_credentials", "client_assertion": assertion,
                              "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, timeout=10)
            out["jwtStatus"] = r.status_code
            out["jwtToken"] = r.json().get("access_token")
            r = requests.post(base + "/introspect", data={"token": out["token"]}, auth=("basic-client", secret),
                              headers={"X-Request-Id": "intro-1"}, timeout=10)
            out["introspect"] = r.json().get("active")
            out["missing"] = requests.get(base + "/nosuch?secret=query-secret", timeout=10).headers.get("X-Request-Id")
            print(json.dumps(out))
            """
        let r = try TestSupport.run(try TestSupport.python(), ["-c", script, server.base, TokenServiceFixture.basicSecret, assertion])
        XCTAssertEqual(r.status, 0, r.stderrText + "\nserver log:\n" + server.log)
        let seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText)
        XCTAssertEqual(seen["kept"] as? String, "deploy-42")
        let replaced = try XCTUnwrap(seen["replaced"] as? String)
        XCTAssertEqual(replaced.count, 32)
        XCTAssertEqual(seen["jwtStatus"] as? Int, 200)
        XCTAssertEqual(seen["introspect"] as? Bool, true)
        XCTAssertEqual(server.stop(), 0)

        let log = server.log
        for secret in [TokenServiceFixture.basicSecret, "wrong-secret-value", assertion, try XCTUnwrap(seen["token"] as? String),
                       try XCTUnwrap(seen["jwtToken"] as? String), "query-secret"] {
            XCTAssertFalse(log.contains(secret), "the log holds a secret, assertion or token")
        }
        let lines = log.split(separator: "\n").filter { $0.hasPrefix("{") }
        let objects = try lines.map { try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0)) }
        XCTAssertEqual(objects.count, 5, log)
        for object in objects {
            for key in ["time", "level", "message", "request_id", "method", "path", "status", "client_id", "duration_ms"] {
                XCTAssertNotNil(object[key], "\(key) in \(object)")
            }
            XCTAssertGreaterThanOrEqual(object["duration_ms"] as? Double ?? -1, 0)
        }
        let byID = Dictionary(objects.map { ($0["request_id"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(byID["deploy-42"]?["status"] as? Int, 200)
        XCTAssertEqual(byID["deploy-42"]?["client_id"] as? String, "basic-client")
        XCTAssertEqual(byID["deploy-42"]?["grant_type"] as? String, "client_credentials")
        XCTAssertEqual(byID[replaced]?["status"] as? Int, 401)
        XCTAssertEqual(byID[replaced]?["error"] as? String, "invalid_client")
        XCTAssertEqual(byID["intro-1"]?["path"] as? String, "/introspect")
        XCTAssertEqual(byID[try XCTUnwrap(seen["missing"] as? String)]?["status"] as? Int, 404)
        XCTAssertTrue(objects.contains { $0["client_id"] as? String == "jwt-client" && $0["status"] as? Int == 200 })

        // The audit trail: the same request ids.
        let audit = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--json"])
        XCTAssertEqual(audit.status, 0, audit.stderrText)
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: audit.stdout) as? [String: Any])
        let records = try XCTUnwrap(result["records"] as? [[String: Any]])
        XCTAssertEqual(records.map { $0["event"] as? String ?? "" }, ["issue", "refuse", "issue", "introspect"])
        XCTAssertEqual(records.map { $0["requestId"] as? String ?? "" }.first, "deploy-42")
        XCTAssertEqual(records[1]["requestId"] as? String, replaced)
        XCTAssertEqual(records[1]["outcome"] as? String, "invalid_client")
        XCTAssertEqual(records[3]["outcome"] as? String, "active")
        XCTAssertEqual(records[3]["requestId"] as? String, "intro-1")
        let text = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath])
        XCTAssertEqual(text.stdoutText.split(separator: "\n").count, 4, text.stdoutText)
        XCTAssertTrue(text.stdoutText.contains("issue client=basic-client subject=basic-client scopes=model:deploy:resnet@2.1.0"), text.stdoutText)
        let future = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--since", "2099-01-01T00:00:00Z", "--json"])
        XCTAssertEqual((try JSONSerialization.jsonObject(with: future.stdout) as? [String: Any])?["count"] as? Int, 0, future.stdoutText)
        let recent = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--since", "1h", "--json"])
        XCTAssertEqual((try JSONSerialization.jsonObject(with: recent.stdout) as? [String: Any])?["count"] as? Int, 4, recent.stdoutText)
        XCTAssertEqual(try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--since", "yesterday"]).status, 2)
    }

    /// The JSON line is written by hand (a formatter and JSONSerialization
    /// per line were half of the server's CPU under load): the same members
    /// and values a JSON parser reads, keys sorted, the time as
    /// ISO8601DateFormatter writes it with milliseconds.
    func testTheJSONLineReadsAsTheSameObject() throws {
        let handler = LineLogHandler(format: .json, descriptor: -1)
        let reference = ISO8601DateFormatter()
        reference.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        reference.timeZone = TimeZone(identifier: "UTC")
        let hostile = "a\"b\\c/d\n\r\t\u{8}\u{C}\u{1}\u{1F}\u{7F} é \u{2028} 😀"
        for seconds in [0.0, 1_764_585_600.5, 1_764_585_600.125, 4_102_444_799.75, 951_782_400.0] { // binary fractions: no rounding question
            let date = Date(timeIntervalSince1970: seconds)
            let event = LogEvent(level: .warning, message: "request", metadata: [
                "path": .string(hostile), "status": .stringConvertible(200), "duration_ms": .stringConvertible(12.5),
                "whole_ms": .stringConvertible(3.0), "list": .array([.string("x"), .stringConvertible(2)]),
                "map": .dictionary(["b": .string("2"), "a": .string("1")]), "other": .stringConvertible(URL(fileURLWithPath: "/tmp")),
            ], source: nil, file: "", function: "", line: 0)
            let line = handler.line(for: event, at: date)
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
            XCTAssertEqual(object["time"] as? String, reference.string(from: date), line)
            XCTAssertEqual(object["level"] as? String, "warning")
            XCTAssertEqual(object["message"] as? String, "request")
            XCTAssertEqual(object["path"] as? String, hostile, line)
            XCTAssertEqual(object["status"] as? Int, 200)
            XCTAssertEqual(object["duration_ms"] as? Double, 12.5)
            XCTAssertEqual(object["whole_ms"] as? Double, 3)
            XCTAssertEqual(object["list"] as? [AnyHashable], ["x", 2])
            XCTAssertEqual(object["map"] as? [String: String], ["a": "1", "b": "2"])
            XCTAssertEqual(object["other"] as? String, "file:///tmp/")
            let keys = ["duration_ms", "level", "list", "map", "message", "other", "path", "status", "time", "whole_ms"]
            let positions = keys.map { line.range(of: "\"\($0)\":")?.lowerBound ?? line.endIndex }
            XCTAssertEqual(positions, positions.sorted(), "sorted keys: \(line)")
            XCTAssertFalse(line.contains("\n") || line.contains("\u{1}"), "no raw control characters: \(line)")
        }
    }

    /// The text line shows every C0 and C1 control character and DEL of an
    /// untrusted value (a path, a client id) as `?`, so a value cannot move
    /// the cursor or smuggle a terminal escape (C1's CSI, U+009B) into a
    /// person's view of the log; other characters are kept.
    func testTextLineShowsC0AndC1ControlsAsQuestionMarks() {
        let handler = LineLogHandler(format: .text, descriptor: -1)
        var controls = ""
        for value in Array(0x00...0x1F) + [0x7F] + Array(0x80...0x9F) { controls.unicodeScalars.append(Unicode.Scalar(UInt8(value))) }
        let kept = "a\u{A0}\u{A1}é\u{2028}😀"
        let event = LogEvent(level: .info, message: "request\u{9B}31m", metadata: ["path": .string("/x" + controls + kept)],
                             source: nil, file: "", function: "", line: 0)
        let line = handler.line(for: event, at: Date(timeIntervalSince1970: 0))
        XCTAssertEqual(line, "1970-01-01T00:00:00.000Z info request?31m path=/x" + String(repeating: "?", count: 65) + kept)
        XCTAssertFalse(line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, line)
    }

    func testTextLogFormat() throws {
        let fixture = try TokenServiceFixture(listen: "127.0.0.1:0")
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let server = try TokenServerTests.ServerProcess(config: fixture.configPath, logDirectory: fixture.directory,
                                                        arguments: ["--log-format", "text"])
        let r = try TestSupport.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-H", "X-Request-Id: t-1", server.base + "/healthz"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertEqual(server.stop(), 0)
        let line = try XCTUnwrap(server.log.split(separator: "\n").first { $0.contains("request_id=t-1") }, server.log)
        XCTAssertTrue(line.contains(" info request ") && line.contains("method=GET") && line.contains("path=/healthz")
                      && line.contains("status=200"), String(line))
        XCTAssertEqual(try TestSupport.modelsec(["serve", "--config", fixture.configPath, "--log-format", "xml"]).status, 2)
    }

    /// A version 2 store (before request ids) keeps its audit rows and gains the column.
    func testAuditMigrationFromVersion2() throws {
        let dir = try TestSupport.makeTemporaryDirectory("audit-migration")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v2.sqlite").path
        try TokenServiceFixture.writeVersion2StateFile(at: path, extraSQL: "INSERT INTO audit(time, event, client_id, subject, scopes, jti, outcome) VALUES (100, 'issue', 'c', 'c', 'model:a:b@c', 'j1', 'ok');")
        let store = try SQLiteTokenStore(path: path)
        try store.record(AuditRecord(time: 200, event: "refuse", clientID: "d", subject: "", scopes: "", tokenID: "", outcome: "invalid_client",
                                     requestID: "req-2"))
        let all = try store.auditRecords(since: Int64.min, limit: 10)
        XCTAssertEqual(all.map(\.tokenID), ["j1", ""])
        XCTAssertEqual(all.map(\.requestID), ["", "req-2"])
        XCTAssertEqual(try store.auditRecords(since: 150, limit: 10).map(\.event), ["refuse"])
        XCTAssertEqual(try store.auditRecords(since: Int64.min, limit: 1).count, 1)
        let version = try TestSupport.run("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; c = sqlite3.connect(sys.argv[1]); print(c.execute('PRAGMA user_version').fetchone()[0], c.execute('PRAGMA journal_mode').fetchone()[0])", path])
        XCTAssertEqual(version.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "\(SQLiteTokenStore.schemaVersion) wal",
                       "migrated, and in write-ahead-log mode")
    }
}
