import DifferentialPrivacy
import Foundation
import ModelSecStore
import TestSupport
import XCTest

/// A PostgreSQL store whose disk is full: the charge fails with
/// `store.disk-full` (exit 2 at the command line, naming the store) and
/// nothing of it is written; once space is back the same charge succeeds.
///
/// The database lives in a tablespace on a 4 MiB tmpfs (its WAL stays in the
/// cluster's data directory), filled until PostgreSQL reports SQLSTATE 53100.
final class StoreDiskFullTests: StoreEngineTestCase {
    func testFullDiskIsAClearErrorAndNothingIsWritten() throws {
        guard getuid() == 0 else {
            throw XCTSkip("mounting the small tmpfs this test fills needs root (CI runs as root)")
        }
        let pg = try cluster()
        let mountPoint = dir.appendingPathComponent("tiny")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let mount = try TestSupport.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint.path])
        XCTAssertEqual(mount.status, 0, mount.stderrText)
        guard mount.status == 0 else { return }
        defer { _ = try? TestSupport.run("/bin/umount", [mountPoint.path]) }
        // The tablespace directory must belong to the server's user (the owner of the cluster's files).
        let owner = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: pg.root.path)[.ownerAccountID] as? NSNumber)
        XCTAssertEqual(chown(mountPoint.path, uid_t(owner.uint32Value), gid_t(getgid())), 0)
        chmod(mountPoint.path, 0o700)

        let space = "tiny_\(UUID().uuidString.prefix(8).lowercased())"
        let database = "full_\(UUID().uuidString.prefix(8).lowercased())"
        try pg.psql("CREATE TABLESPACE \(space) LOCATION '\(mountPoint.path)'")
        defer { _ = try? pg.psql("DROP TABLESPACE IF EXISTS \(space)") }
        try pg.psql("CREATE DATABASE \(database) TABLESPACE \(space)")
        defer { _ = try? pg.psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        let engine = StoreEngine(name: "postgres", url: pg.url(database), environment: pg.environment)
        let migrate = try TestSupport.modelsec(["store", "migrate", "--store", engine.url, "--json"], environment: engine.environment)
        XCTAssertEqual(migrate.status, 0, migrate.stderrText)
        let ledger = try engine.open()
        try ledger.setTotal(dataset: "d", budget: PrivacyCost(epsilon: 1), relation: nil)

        // Fill the tablespace: the inserts that fail are rolled back, but the
        // files they extended keep their size.
        try pg.psql("CREATE TABLE filler (b text)", database: database)
        try pg.psql("""
            DO $$ BEGIN
              LOOP INSERT INTO filler SELECT md5(random()::text) || md5(random()::text) FROM generate_series(1, 2000); END LOOP;
            EXCEPTION WHEN disk_full THEN NULL; END $$
            """, database: database)

        let charge = ChargeRequest(dataset: "d", cost: PrivacyCost(epsilon: 0.1), relation: .addRemove,
                                   mechanism: "discrete-laplace", parameters: "{}")
        XCTAssertThrowsError(try ledger.charge([charge], requestID: "full-1")) { error in
            XCTAssertEqual(self.code(error), "store.disk-full", "\(error)")
            XCTAssertTrue("\(error)".contains("127.0.0.1"), "the message names the store: \(error)")
        }
        XCTAssertEqual(try ledger.spends(dataset: "d").count, 0, "nothing of the refused charge was written")
        XCTAssertEqual(try ledger.status(dataset: "d").releases, 0)

        // Space back: the retry with the same request id is charged once.
        try pg.psql("DROP TABLE filler", database: database)
        let (receipt, replayed) = try ledger.charge([charge], requestID: "full-1")
        XCTAssertFalse(replayed)
        XCTAssertEqual(try ledger.spends(dataset: "d").count, 1)
        XCTAssertEqual(try ledger.charge([charge], requestID: "full-1").receipt, receipt)
    }
}
