import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import TestSupport
import XCTest

/// Three real `modelsec serve` processes on their own ports sharing one
/// PostgreSQL store (the throwaway test cluster; the test fails, never
/// skips, without it): a revocation made through one is refused by the
/// others within a second, a client assertion used at one is refused by the
/// others, and `serve rotate-key` is followed by every replica without a
/// verifier ever meeting an unknown `kid`.
final class TokenServiceReplicaTests: XCTestCase {
    private var fixture: TokenServiceFixture!
    private var replicas: [TokenServerTests.ServerProcess] = []

    override func setUpWithError() throws {
        fixture = try TokenServiceFixture(listen: "127.0.0.1:0", engine: .postgres)
        for _ in 0..<3 { replicas.append(try TokenServerTests.ServerProcess(config: fixture.configPath, logDirectory: fixture.directory)) }
    }

    override func tearDownWithError() throws {
        for replica in replicas { XCTAssertEqual(replica.stop(), 0, replica.log) }
        if let fixture { try? FileManager.default.removeItem(at: fixture.directory) }
    }

    private var logs: String { replicas.enumerated().map { "replica \($0.offset):\n\($0.element.log)" }.joined(separator: "\n") }

    /// POSTs a form (each `name=value` URL-encoded by curl); the status and JSON body.
    private func post(_ replica: Int, _ path: String, _ fields: [String], user: String? = nil) throws -> (status: Int, body: [String: Any]) {
        let r = try Self.post(replicas[replica].base + path, fields, user: user)
        XCTAssertEqual(r.status, 0, r.stderrText)
        return Self.answer(r)
    }

    static func post(_ url: String, _ fields: [String], user: String? = nil) throws -> TestSupport.ProcessResult {
        var arguments = ["-s", "-w", "\n%{http_code}", "--max-time", "10"]
        if let user { arguments += ["-u", user] }
        for field in fields { arguments += ["--data-urlencode", field] }
        return try TestSupport.run("curl", arguments + [url])
    }

    static func answer(_ r: TestSupport.ProcessResult) -> (status: Int, body: [String: Any]) {
        let lines = r.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.last ?? "") ?? 0
        let text = lines.dropLast().joined(separator: "\n")
        let body = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
        return (status, body)
    }

    private func basicToken(from replica: Int) throws -> String {
        let r = try post(replica, "/token", ["grant_type=client_credentials"], user: "basic-client:" + TokenServiceFixture.basicSecret)
        XCTAssertEqual(r.status, 200, "\(r.body)\n" + logs)
        return try XCTUnwrap(r.body["access_token"] as? String, "\(r.body)")
    }

    private func isActive(_ token: String, at replica: Int) throws -> Bool {
        let r = try post(replica, "/introspect", ["token=" + token], user: "basic-client:" + TokenServiceFixture.basicSecret)
        XCTAssertEqual(r.status, 200, "\(r.body)\n" + logs)
        return try XCTUnwrap(r.body["active"] as? Bool, "\(r.body)")
    }

    private func jwksKids(_ replica: Int) throws -> Set<String> {
        let r = try TestSupport.run("curl", ["-s", "--max-time", "10", replicas[replica].base + "/jwks.json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText)
        return Set((object["keys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String })
    }

    private func kid(_ token: String) throws -> String {
        let header = try XCTUnwrap(Base64URL.decode(String(token.split(separator: ".")[0])))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(header)) as? [String: Any])
        return try XCTUnwrap(object["kid"] as? String)
    }

    func testThreeReplicasShareOneStore() throws {
        XCTAssertEqual(Set(replicas.map(\.port)).count, 3, "three ports")

        // A token from replica 0 is active everywhere; revoked through
        // replica 1, the other two refuse it within one second.
        let token = try basicToken(from: 0)
        for replica in 0..<3 { XCTAssertTrue(try isActive(token, at: replica), "replica \(replica)") }
        let revoke = try post(1, "/revoke", ["token=" + token], user: "basic-client:" + TokenServiceFixture.basicSecret)
        XCTAssertEqual(revoke.status, 200, "\(revoke.body)")
        let revokedAt = Date()
        for replica in [0, 2] {
            // Judged by when each question was sent, not by when the test got
            // round to it: a question sent a second or more after the
            // revocation must get "inactive" (the time to start curl on a
            // busy machine is not the service's).
            var active = true
            while active, Date().timeIntervalSince(revokedAt) < 30 {
                let asked = Date().timeIntervalSince(revokedAt)
                active = try isActive(token, at: replica)
                if active {
                    XCTAssertLessThan(asked, 1.0, "replica \(replica) still said active \(asked) s after the revocation")
                    usleep(20_000)
                }
            }
            XCTAssertFalse(active, "replica \(replica) still says active")
        }
        XCTAssertTrue(try isActive(try basicToken(from: 2), at: 1), "other tokens stay active")

        // A client assertion is single-use across the replicas.
        let assertionType = "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        for first in 0..<3 {
            let assertion = try fixture.assertion()
            let fields = ["grant_type=client_credentials", assertionType, "client_assertion=" + assertion]
            let accepted = try post(first, "/token", fields)
            XCTAssertEqual(accepted.status, 200, "\(accepted.body)\n" + logs)
            for other in (0..<3) where other != first {
                let replayed = try post(other, "/token", fields)
                XCTAssertEqual(replayed.status, 401, "replica \(other) accepted an assertion used at replica \(first): \(replayed.body)")
                XCTAssertEqual(replayed.body["error"] as? String, "invalid_client")
            }
        }
        // The same assertion sent to all three at once: exactly one token.
        let racing = try fixture.assertion()
        let statuses = LockedList()
        let urls = replicas.map { $0.base + "/token" }
        DispatchQueue.concurrentPerform(iterations: 3) { replica in
            let r = try? Self.post(urls[replica], ["grant_type=client_credentials", assertionType, "client_assertion=" + racing])
            statuses.append(r.map { Self.answer($0).status } ?? 0)
        }
        XCTAssertEqual(statuses.values.sorted(), [200, 401, 401])

        // serve rotate-key: every replica publishes the new next key, then
        // signs with it once promoted; every token's kid is in every
        // replica's key set at every moment.
        let original = fixture.issuerKey.publicKey.keyID
        var rotations: [[String: Any]] = []
        func rotate() throws {
            let r = try TestSupport.modelsec(["serve", "rotate-key", "--config", fixture.configPath, "--json"])
            XCTAssertEqual(r.status, 0, r.stderrText)
            rotations.append(try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stdoutText))
        }
        // The deadlines are judged by when each request was sent (a replica
        // must follow a rotation within a second: 3 s allowed), so a busy
        // machine that is slow to start curl does not end the wait early.
        try rotate()
        let next = try XCTUnwrap(rotations[0]["next"] as? String)
        var rotatedAt = Date()
        var published = Set<Int>()
        while published.count < 3, Date().timeIntervalSince(rotatedAt) < 30 {
            for replica in 0..<3 where !published.contains(replica) {
                let asked = Date().timeIntervalSince(rotatedAt)
                if try jwksKids(replica).contains(next) { published.insert(replica) } else {
                    XCTAssertLessThan(asked, 3.0, "replica \(replica) did not publish the next key \(asked) s after the rotation")
                }
            }
            if published.count < 3 { usleep(50_000) }
        }
        for replica in 0..<3 { XCTAssertEqual(try jwksKids(replica), [original, next], "replica \(replica) publishes the next key") }
        try rotate()
        rotatedAt = Date()
        XCTAssertEqual(rotations[1]["current"] as? String, next)
        let newest = try XCTUnwrap(rotations[1]["next"] as? String)
        var tokens: [String] = []
        var switched = Set<Int>()
        while Date().timeIntervalSince(rotatedAt) < 30, switched.count < 3 {
            for replica in 0..<3 {
                let asked = Date().timeIntervalSince(rotatedAt)
                let token = try basicToken(from: replica)
                tokens.append(token)
                if try kid(token) == next { switched.insert(replica) } else {
                    XCTAssertLessThan(asked, 3.0, "replica \(replica) still signed with the old key \(asked) s after the rotation\n" + logs)
                }
                // No unknown kid: whatever key signed it, every replica publishes it now.
                let signer = try kid(token)
                for other in 0..<3 {
                    XCTAssertTrue(try jwksKids(other).contains(signer), "replica \(other) does not publish \(signer)")
                }
            }
        }
        XCTAssertEqual(switched, [0, 1, 2], "every replica signs with the promoted key\n" + logs)
        for replica in 0..<3 { XCTAssertEqual(try jwksKids(replica), [original, next, newest], "replica \(replica)") }

        // One audit trail: `serve audit` lists the issues of every replica.
        let audit = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--json"])
        XCTAssertEqual(audit.status, 0, audit.stderrText)
        let records = try XCTUnwrap((try JSONSerialization.jsonObject(with: audit.stdout) as? [String: Any])?["records"] as? [[String: Any]])
        let issued = Set(records.filter { $0["event"] as? String == "issue" }.compactMap { $0["jti"] as? String })
        XCTAssertGreaterThanOrEqual(issued.count, tokens.count + 6, "every issued token is audited once, whichever replica issued it")
        XCTAssertEqual(records.filter { $0["event"] as? String == "revoke" }.count, 1)
    }
}

extension TokenServiceReplicaTests {
    /// The replicas' connection pools reconnect after PostgreSQL restarts:
    /// within seconds every replica issues tokens again and still knows the
    /// state written before.
    func testReplicasServeAgainAfterPostgreSQLRestarts() throws {
        let before = try basicToken(from: 0)
        let revoked = try basicToken(from: 0)
        let r = try post(2, "/revoke", ["token=" + revoked], user: "basic-client:" + TokenServiceFixture.basicSecret)
        XCTAssertEqual(r.status, 200, "\(r.body)")
        try PostgresCluster.shared().restart()
        for replica in 0..<3 {
            let deadline = Date().addingTimeInterval(20)
            var status = 0
            while Date() < deadline {
                status = try post(replica, "/token", ["grant_type=client_credentials"],
                                  user: "basic-client:" + TokenServiceFixture.basicSecret).status
                if status == 200 { break }
                usleep(200_000)
            }
            XCTAssertEqual(status, 200, "replica \(replica) did not recover\n" + logs)
        }
        for replica in 0..<3 {
            XCTAssertTrue(try isActive(before, at: replica), "replica \(replica)")
            XCTAssertFalse(try isActive(revoked, at: replica), "replica \(replica): the revocation survived the restart")
        }
    }
}

/// A list appended to from concurrent closures.
final class LockedList: @unchecked Sendable { // `items` is only touched with `lock` held
    private let lock = NSLock()
    private var items: [Int] = []
    func append(_ value: Int) { lock.lock(); items.append(value); lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return items }
}
