@testable import DifferentialPrivacy
import Foundation
import GRDB
import ModelSecCrypto
import ModelSecStore
@testable import ModelSecStorePostgres
import TestSupport
import TokenService
import TransparencyLog
import XCTest

/// Schema version 7: the transparency log's records in the store, the same
/// on both engines (``ReleaseLogRules``): sequencing, idempotence, the
/// frontier, publishing, protection of the rows, migration, copy.
final class ReleaseLogStoreTests: StoreEngineTestCase {
    func signer(_ origin: String = "example.com/models") throws -> NoteSigner {
        try NoteSigner(name: origin, type: .ed25519, key: Ed25519.PrivateKey())
    }

    func openLog(_ engine: StoreEngine) throws -> any ReleaseLogStore {
        let saved = ProcessInfo.processInfo.environment["PGPASSWORD"]
        if let pw = engine.environment["PGPASSWORD"] { setenv("PGPASSWORD", pw, 1) }
        defer { if let saved { setenv("PGPASSWORD", saved, 1) } else if engine.environment["PGPASSWORD"] != nil { unsetenv("PGPASSWORD") } }
        return try ReleaseLogStores.open(try StoreURL(parsing: engine.url))
    }

    func entry(_ i: Int) -> [UInt8] { Array("entry \(i)\n".utf8) }

    /// The frontier gives RFC 6962's root at every size, across tile and
    /// power-of-two boundaries, and survives its byte form.
    func testFrontierRootIsTheMerkleRoot() throws {
        var frontier = LogFrontier()
        var leaves: [TreeHash] = []
        XCTAssertEqual(frontier.root, TreeHash.empty)
        for i in 0..<600 {
            let leaf = Merkle.leafHash(entry(i))
            frontier.append(leaf: leaf)
            leaves.append(leaf)
            if i < 70 || i % 37 == 0 || (255...258).contains(i) {
                XCTAssertEqual(frontier.root, Merkle.rootHash(ofLeafHashes: leaves[...]), "size \(i + 1)")
                XCTAssertEqual(try LogFrontier(size: frontier.size, bytes: frontier.bytes, what: "t"), frontier)
            }
        }
        XCTAssertThrowsError(try LogFrontier(size: 3, bytes: Array(frontier.bytes.prefix(32)), what: "t"))
    }

    func testAppendSequencesIdempotentlyAndPublishes() throws {
        for engine in try engines() {
            let log = try openLog(engine)
            let key = try signer()
            XCTAssertNil(try log.log(origin: key.name))
            XCTAssertThrowsError(try log.append(origin: key.name, entries: [entry(0)], signer: key, create: false), engine.name)
            let first = try log.append(origin: key.name, entries: [entry(0), entry(1), entry(2)], signer: key, create: true)
            XCTAssertEqual(first.indices, [0, 1, 2], engine.name)
            XCTAssertEqual(first.added, 3)
            // The same entry again keeps its index; a duplicate inside a batch is one leaf.
            let second = try log.append(origin: key.name, entries: [entry(1), entry(3), entry(3)], signer: key, create: true)
            XCTAssertEqual(second.indices, [1, 3, 3], engine.name)
            XCTAssertEqual(second.added, 1)
            XCTAssertEqual(second.checkpoint.checkpoint.size, 4)
            let third = try log.append(origin: key.name, entries: [entry(2)], signer: key, create: true)
            XCTAssertEqual(third.indices, [2])
            XCTAssertEqual(third.added, 0)
            XCTAssertEqual(third.checkpoint, second.checkpoint, "nothing new: the checkpoint is unchanged")
            // The root is the directory log's for the same entries.
            let reference = try DirectoryLog.create(directory: dir.appendingPathComponent("ref-\(engine.name)").path, signer: key)
            _ = try reference.append((0..<4).map(entry), signer: key)
            XCTAssertEqual(second.checkpoint.checkpoint.root, try reference.checkpoint().checkpoint.root, engine.name)
            XCTAssertEqual(try log.entries(origin: key.name, from: 1, count: 2), [entry(1), entry(2)])
            // Another key is refused.
            XCTAssertThrowsError(try log.append(origin: key.name, entries: [entry(9)], signer: try signer(), create: true), engine.name) {
                XCTAssertEqual(self.code($0), "tlog.key-malformed")
            }
            // Published: the directory verifies and holds the store's checkpoint.
            let published = dir.appendingPathComponent("pub-\(engine.name)").path
            let result = try StorePublisher.publish(store: log, origin: key.name, directory: published)
            XCTAssertEqual(result.size, 4)
            let directoryLog = DirectoryLog(directory: published, logKey: key.verifier)
            XCTAssertEqual(try directoryLog.checkpoint(), second.checkpoint)
            XCTAssertNoThrow(try LogVerifier(reader: directoryLog.reader).verify(try directoryLog.checkpoint().checkpoint))
            // More entries across a tile boundary, published incrementally.
            _ = try log.append(origin: key.name, entries: (4..<300).map(entry), signer: key, create: true)
            XCTAssertEqual(try StorePublisher.publish(store: log, origin: key.name, directory: published).previousSize, 4)
            XCTAssertEqual(try directoryLog.checkpoint().checkpoint.size, 300)
            XCTAssertNoThrow(try LogVerifier(reader: directoryLog.reader).verify(try directoryLog.checkpoint().checkpoint))
            _ = try reference.append((4..<300).map(entry), signer: key)
            XCTAssertEqual(try directoryLog.checkpoint().checkpoint.root, try reference.checkpoint().checkpoint.root)
        }
    }

    /// The rows are protected as the ledger's are: entries cannot be
    /// deleted or changed, a log cannot shrink; a frontier changed behind
    /// the store's back is noticed.
    func testRowsAreProtected() throws {
        let pg = try cluster()
        for engine in try engines() {
            let log = try openLog(engine)
            let key = try signer()
            _ = try log.append(origin: key.name, entries: [entry(0), entry(1)], signer: key, create: true)
            XCTAssertThrowsError(try engine.sql("DELETE FROM tlog_entries", cluster: pg), engine.name)
            XCTAssertThrowsError(try engine.sql("UPDATE tlog_entries SET entry = x'00' WHERE idx = 0", cluster: pg), engine.name)
            XCTAssertThrowsError(try engine.sql("UPDATE tlog_logs SET size = 1", cluster: pg), engine.name)
            XCTAssertThrowsError(try engine.sql("DELETE FROM tlog_logs", cluster: pg), engine.name)
            // A frontier that no longer matches the signed checkpoint is refused at the next append.
            let other = Merkle.leafHash(entry(7)).bytes.map { String(format: "%02x", $0) }.joined()
            try engine.sql("UPDATE tlog_logs SET frontier = \(engine.name == "sqlite" ? "x'\(other)'" : "'\\x\(other)'::bytea")", cluster: pg)
            XCTAssertThrowsError(try log.append(origin: key.name, entries: [entry(2)], signer: key, create: true), engine.name) {
                XCTAssertEqual(self.code($0), "tlog.root-mismatch", engine.name)
            }
        }
    }

    /// Version 6 stores migrate to 7 (tables added, ledger rows kept); a
    /// binary refuses a store newer than 7, and an unmigrated version 6
    /// store is refused for log appends with "migrate".
    func testMigrationFromVersion6AndNewerRefused() throws {
        let pg = try cluster()
        let stores = try emptyEngines()
        let path = String(stores[0].url.dropFirst("sqlite:".count))
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try LedgerSchema.create(db, statements: LedgerSchema.version6Statements, version: 6) }
        try queue.close()
        try stores[1].sql((PostgresSchema.version4 + PostgresSchema.version5 + PostgresSchema.version6
                           + ["INSERT INTO modelsec_schema (id, version, migrated_at) VALUES (1, 6, 't')"]).joined(separator: ";\n"), cluster: pg)
        for engine in stores {
            XCTAssertThrowsError(try openLog(engine), engine.name) { XCTAssertEqual(self.code($0), "store.older-schema", engine.name) }
            var r = try TestSupport.modelsec(["store", "status", "--store", engine.url, "--json"], environment: engine.environment)
            XCTAssertTrue(r.stdoutText.contains("older"), "\(engine.name): \(r.stdoutText)")
            r = try TestSupport.modelsec(["store", "migrate", "--store", engine.url, "--json"], environment: engine.environment)
            XCTAssertEqual(r.status, 0, "\(engine.name): \(r.stderrText)")
            let object = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
            XCTAssertEqual(object?["fromVersion"] as? Int, 6, engine.name)
            XCTAssertEqual(object?["toVersion"] as? Int, 7, engine.name)
            let key = try signer()
            XCTAssertEqual(try openLog(engine).append(origin: key.name, entries: [entry(0)], signer: key, create: true).indices, [0], engine.name)
            XCTAssertNoThrow(try engine.open(), engine.name)
            // A newer store is refused by status, append and publish, unchanged.
            try engine.sql(engine.name == "sqlite" ? "PRAGMA user_version = 8" : "UPDATE modelsec_schema SET version = 8", cluster: pg)
            for command in [["store", "status"], ["log", "publish", dir.appendingPathComponent("p").path, "--origin", key.name]] {
                r = try TestSupport.modelsec(command + ["--store", engine.url, "--json"], environment: engine.environment)
                XCTAssertEqual(r.status, 2, "\(engine.name) \(command): \(r.stderrText)")
                XCTAssertEqual(errorCode(r), "store.newer-schema", "\(engine.name) \(command)")
                XCTAssertTrue(r.stderrText.contains("version 8"), r.stderrText)
            }
        }
    }

    /// `store copy` carries the logs (checked as they go in); a destination
    /// that already has a log is refused before anything is copied.
    func testStoreCopyCarriesLogs() throws {
        let stores = try engines()
        let sqlite = stores[0], postgres = stores[1]
        let key = try signer()
        let source = try openLog(sqlite)
        _ = try source.append(origin: key.name, entries: (0..<260).map(entry), signer: key, create: true)
        _ = try source.append(origin: "other.example/log", entries: [entry(1)], signer: try signer("other.example/log"), create: true)
        var r = try TestSupport.modelsec(["store", "copy", "--from", sqlite.url, "--to", postgres.url, "--json"], environment: postgres.environment)
        XCTAssertEqual(r.status, 0, r.stderrText)
        let report = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        XCTAssertEqual(report?["logs"] as? Int, 2)
        XCTAssertEqual(report?["logEntries"] as? Int, 261)
        let copy = try openLog(postgres)
        XCTAssertEqual(try copy.logs(), try source.logs())
        XCTAssertEqual(try ReleaseLogRules.allEntries(copy, log: try XCTUnwrap(try copy.log(origin: key.name))), (0..<260).map(entry))
        // The copy goes on where the source stopped.
        XCTAssertEqual(try copy.append(origin: key.name, entries: [entry(260)], signer: key, create: false).indices, [260])
        r = try TestSupport.modelsec(["store", "status", "--store", postgres.url], environment: postgres.environment)
        XCTAssertTrue(r.stdoutText.contains("log:     example.com/models: 261 entries"), r.stdoutText)
        // A destination holding a log is refused, naming it.
        let fresh = try engines()[0]
        _ = try openLog(fresh).append(origin: key.name, entries: [entry(0)], signer: key, create: true)
        r = try TestSupport.modelsec(["store", "copy", "--from", sqlite.url, "--to", fresh.url, "--json"])
        XCTAssertEqual(r.status, 2, r.stderrText)
        XCTAssertEqual(errorCode(r), "store.copy-target-not-empty")
    }

    /// The privacy ledger commands refuse a token service state file, and
    /// the token service refuses a ledger file, each naming the file and what it is.
    func testLedgerAndTokenStateFilesAreNotTakenForEachOther() throws {
        let state = dir.appendingPathComponent("token-state.db").path
        _ = try SQLiteTokenStore(path: state)
        for arguments in [["--ledger", state], ["--store", "sqlite:" + state]] {
            let r = try TestSupport.modelsec(["dp", "budget"] + arguments + ["--dataset", "d", "--set-total", "1", "--json"])
            XCTAssertEqual(r.status, 2, r.stderrText)
            XCTAssertTrue(r.stderrText.contains(state), r.stderrText)
            XCTAssertTrue(r.stderrText.contains("token service state file"), r.stderrText)
        }
        let csv = dir.appendingPathComponent("d.csv").path
        try Data("v\n1\n2\n".utf8).write(to: URL(fileURLWithPath: csv))
        let release = try TestSupport.modelsec(["dp", "release", "--ledger", state, "--input", csv, "--column", "v", "--statistic", "count",
                                                "--epsilon", "0.1", "--dataset", "d"])
        XCTAssertEqual(release.status, 2, release.stderrText)
        XCTAssertTrue(release.stderrText.contains("token service state file"), release.stderrText)
        // And the other way round (already refused before this change; kept).
        let ledger = dir.appendingPathComponent("ledger.db").path
        _ = try SQLitePrivacyLedger(path: ledger)
        XCTAssertThrowsError(try SQLiteTokenStore(path: ledger)) { XCTAssertTrue("\($0)".contains("privacy ledger file"), "\($0)") }
    }
}
