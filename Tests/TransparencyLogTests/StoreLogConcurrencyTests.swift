import Foundation
import TestSupport
@testable import TransparencyLog
import XCTest

/// Issue 20's "appends from several pipelines are serialised by the shared
/// store": 16 separate `modelsec log append --store` processes (each its
/// own connection) append 16 different releases to one log at once, on
/// PostgreSQL and on SQLite. Every release gets its own index, the tree
/// has exactly 16 leaves, the published directory verifies (ours and Go's
/// sumdb/tlog), and every release's proof verifies.
final class StoreLogConcurrencyTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws { root = try TestSupport.makeTemporaryDirectory("tlog-store") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    @discardableResult
    func ok(_ arguments: [String], environment: [String: String]? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let result = try TestSupport.modelsec(arguments, environment: environment)
        XCTAssertEqual(result.status, 0, "modelsec \(arguments.joined(separator: " ")): \(result.stderrText)", file: file, line: line)
        return result
    }

    func json(_ result: TestSupport.ProcessResult) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], result.stdoutText + result.stderrText)
    }

    /// The PostgreSQL store (a fresh database in the shared throwaway
    /// cluster) and an SQLite store file, both migrated.
    func stores() throws -> [(name: String, url: String, environment: [String: String])] {
        let cluster: PostgresCluster
        do { cluster = try PostgresCluster.shared() } catch {
            XCTFail("PostgreSQL is required by this test and could not be started: \(error)")
            throw error
        }
        let list = [("postgres", cluster.url(try cluster.makeDatabase("tlog")), cluster.environment),
                    ("sqlite", "sqlite:" + path("store-\(UUID().uuidString).db"), [String: String]())]
        for (_, url, environment) in list { try ok(["store", "migrate", "--store", url], environment: environment) }
        return list
    }

    /// Keys, a model, and `count` releases signed by one key.
    func makeReleases(_ count: Int) throws -> [String] {
        try FileManager.default.createDirectory(atPath: path("model"), withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: URL(fileURLWithPath: path("model/weights.bin")))
        for (name, type) in [("log.pem", "ed25519"), ("signer.pem", "ed25519"), ("deploy.pem", "x25519")] where !FileManager.default.fileExists(atPath: path(name)) {
            try ok(["keygen", "--type", type, "--out", path(name)])
        }
        return try (0..<count).map { i in
            let output = path("rel-\(i)")
            try ok(["release", "create", path("model"), "--name", "bert", "--version", "1.0.\(i)", "--signing-key", path("signer.pem"),
                    "--recipient", path("deploy.pem.pub"), "--no-scan", "--output", output])
            return output
        }
    }

    func testSixteenProcessesAppendThroughOneStore() throws {
        let releases = try makeReleases(16)
        let tool = try? GoInteropTests.tlogcheck()
        XCTAssertNotNil(tool, "Go's sumdb/tlog checker could not be built (golang-go, golang-golang-x-mod-dev)")
        for store in try stores() {
            let directory = path("log-\(store.name)")
            let vkey = try XCTUnwrap(try json(try ok(["log", "init", "--origin", "example.com/\(store.name)", "--key", path("log.pem"), directory, "--json"]))["vkey"] as? String)
            // Sixteen processes, started together, each appending one release.
            let results = Locked<[Int: (status: Int32, stdout: Data, stderr: Data)]>([:])
            let group = DispatchGroup()
            let start = DispatchSemaphore(value: 0)
            let logKey = path("log.pem")
            for (i, release) in releases.enumerated() {
                group.enter()
                Thread {
                    start.wait()
                    let r = try? TestSupport.modelsec(["log", "append", directory, "--key", logKey, "--release", release,
                                                       "--store", store.url, "--json"], environment: store.environment, timeout: 300)
                    if let r { let ran = (r.status, r.stdout, r.stderr); results.withLock { $0[i] = ran } }
                    group.leave()
                }.start()
            }
            for _ in releases { start.signal() }
            XCTAssertEqual(group.wait(timeout: .now() + 600), .success, "\(store.name): the appending processes did not all end")
            var indices: [Int] = []
            for i in releases.indices {
                let ran = try XCTUnwrap(results.withLock { $0[i] }, "\(store.name): process \(i) did not run")
                let r = TestSupport.ProcessResult(status: ran.status, stdout: ran.stdout, stderr: ran.stderr)
                XCTAssertEqual(r.status, 0, "\(store.name) process \(i): \(r.stderrText)")
                let report = try json(r)
                let index = try XCTUnwrap((report["indices"] as? [Int])?.first, "\(store.name): \(r.stdoutText)")
                XCTAssertEqual(report["added"] as? Int, 1)
                indices.append(index)
            }
            XCTAssertEqual(Set(indices), Set(0..<16), "\(store.name): every release gets a distinct index")

            // The published directory holds the store's 16-leaf tree and verifies.
            let verified = try json(try ok(["log", "verify", directory, "--log-key", vkey, "--json"]))
            XCTAssertEqual(verified["treeSize"] as? Int, 16, store.name)
            let status = try json(try ok(["store", "status", "--store", store.url, "--json"], environment: store.environment))
            let logs = try XCTUnwrap(status["logs"] as? [[String: Any]])
            XCTAssertEqual(logs.count, 1)
            XCTAssertEqual(logs.first?["size"] as? Int, 16)
            let published = try DirectoryLog(directory: directory, logKey: NoteVerifier(vkey: vkey)).checkpoint().checkpoint
            XCTAssertEqual(published.size, 16)
            XCTAssertEqual(logs.first?["rootHash"] as? String, published.root.base64)
            if let tool {
                for index in 0..<16 {
                    let r = try TestSupport.run(tool, ["verify", vkey, directory, String(index), String(index + 1)])
                    XCTAssertEqual(r.status, 0, "\(store.name) Go check of index \(index): \(r.stderrText)")
                    XCTAssertTrue(r.stdoutText.hasPrefix("ok 16 "), r.stdoutText)
                }
            }
            // Every release's proof, made from the published directory, verifies for it (and only it).
            for (i, release) in releases.enumerated() {
                let proved = try json(try ok(["log", "prove", directory, "--log-key", vkey, "--release", release, "--force", "--json"]))
                XCTAssertEqual(proved["index"] as? Int, indices[i])
                try ok(["log", "check-proof", release + "/release.tlog-proof", "--log-key", vkey, "--release", release])
            }
            // Appending a release again returns its index and adds no leaf.
            let again = try json(try ok(["log", "append", directory, "--key", path("log.pem"), "--release", releases[3], "--store", store.url, "--json"],
                                        environment: store.environment))
            XCTAssertEqual(again["indices"] as? [Int], [indices[3]])
            XCTAssertEqual(again["added"] as? Int, 0)
            XCTAssertEqual(again["treeSize"] as? Int, 16)
        }
    }

    /// `release create --log DIR --store URL` sequences through the store and
    /// writes a proof that verifies; `log publish` rebuilds a web root from
    /// the store alone; a directory log with entries moves into a store.
    func testReleaseCreatePublishAndMoveIntoStore() throws {
        _ = try makeReleases(1)
        for store in try stores() {
            let directory = path("log-\(store.name)")
            let vkey = try XCTUnwrap(try json(try ok(["log", "init", "--origin", "example.com/m", "--key", path("log.pem"), directory, "--json"]))["vkey"] as? String)
            // A directory log with one entry already: the first store append moves it in.
            try ok(["log", "append", directory, "--key", path("log.pem"), "--release", path("rel-0")])
            var indices: [Int] = []
            for version in ["2.0.0", "2.0.1"] {
                let output = path("rel-\(store.name)-\(version)")
                let created = try json(try ok(["release", "create", path("model"), "--name", "bert", "--version", version, "--signing-key", path("signer.pem"),
                                               "--recipient", path("deploy.pem.pub"), "--no-scan", "--output", output, "--log", directory,
                                               "--log-signing-key", path("log.pem"), "--store", store.url, "--json"], environment: store.environment))
                indices.append(try XCTUnwrap(created["logIndex"] as? Int))
                try ok(["log", "check-proof", output + "/release.tlog-proof", "--log-key", vkey, "--release", output])
            }
            XCTAssertEqual(indices, [1, 2], store.name)
            // A web root on another machine: written from the store only, identical checkpoint, verifies.
            let web = path("web-\(store.name)")
            let published = try json(try ok(["log", "publish", web, "--store", store.url, "--origin", "example.com/m", "--json"], environment: store.environment))
            XCTAssertEqual(published["treeSize"] as? Int, 3)
            XCTAssertEqual(published["previousSize"] as? Int, 0)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: web + "/checkpoint")), try Data(contentsOf: URL(fileURLWithPath: directory + "/checkpoint")))
            try ok(["log", "verify", web, "--log-key", vkey])
            let proved = try json(try ok(["log", "prove", web, "--log-key", vkey, "--release", path("rel-0"), "--force", "--json"]))
            XCTAssertEqual(proved["index"] as? Int, 0)
            // Publishing again changes nothing; a directory with another history is refused.
            XCTAssertEqual(try json(try ok(["log", "publish", web, "--store", store.url, "--origin", "example.com/m", "--json"], environment: store.environment))["previousSize"] as? Int, 3)
            let other = path("other-\(store.name)")
            try ok(["log", "init", "--origin", "example.com/m", "--key", path("log.pem"), other])
            try ok(["log", "append", other, "--key", path("log.pem"), "--entry-file", path("model/weights.bin")])
            let refused = try TestSupport.modelsec(["log", "publish", other, "--store", store.url, "--origin", "example.com/m"], environment: store.environment)
            XCTAssertNotEqual(refused.status, 0, "a directory with another history must be refused")
            XCTAssertEqual(refused.status, 1, refused.stderrText)
            // Another key cannot append to the store's log.
            try ok(["keygen", "--type", "ed25519", "--out", path("other-\(store.name).pem")])
            let wrongKey = try TestSupport.modelsec(["log", "append", web, "--key", path("other-\(store.name).pem"), "--release", path("rel-0"),
                                                     "--store", store.url], environment: store.environment)
            XCTAssertNotEqual(wrongKey.status, 0, wrongKey.stderrText)
            // An unknown origin is named.
            let unknown = try TestSupport.modelsec(["log", "publish", path("x"), "--store", store.url, "--origin", "example.com/none"], environment: store.environment)
            XCTAssertEqual(unknown.status, 2, unknown.stderrText)
            XCTAssertTrue(unknown.stderrText.contains("example.com/none"), unknown.stderrText)
        }
    }
}
