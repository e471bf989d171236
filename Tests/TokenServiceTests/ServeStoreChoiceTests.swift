import Foundation
import ModelSecStore
import ModelSecStorePostgres
import TestSupport
import TokenService
import XCTest

/// Which store the `serve` commands use: `--store`, then `MODELSEC_STORE`,
/// then the configuration's `store:`, then its SQLite `state:` file; the
/// password never on the command line.
final class ServeStoreChoiceTests: XCTestCase {
    private var fixture: TokenServiceFixture!
    private var cluster: PostgresCluster!
    private var url = ""
    private var passwordFile = ""

    override func setUpWithError() throws {
        fixture = try TokenServiceFixture()   // state: state.sqlite
        do { cluster = try PostgresCluster.shared() } catch {
            XCTFail("PostgreSQL is required by this test and could not be started: \(error)")
            throw error
        }
        url = cluster.url(try cluster.makeDatabase("choice"))
        passwordFile = fixture.directory.appendingPathComponent("pg.pw").path
        XCTAssertTrue(FileManager.default.createFile(atPath: passwordFile, contents: Data((cluster.password + "\n").utf8),
                                       attributes: [.posixPermissions: 0o600]))
        _ = try LedgerStores.migrate(try StoreURL(parsing: url), passwordFile: passwordFile)
    }

    override func tearDownWithError() throws {
        if let fixture { try? FileManager.default.removeItem(at: fixture.directory) }
    }

    private func postgres() throws -> any TokenServiceStore {
        try TokenStores.open(try StoreURL(parsing: url), passwordFile: passwordFile)
    }

    private func sqlite() throws -> any TokenServiceStore {
        try SQLiteTokenStore(path: try ServiceConfig.load(fixture.configPath).statePath)
    }

    func testTheStoreOptionAndTheEnvironmentComeBeforeTheConfiguration() throws {
        // --store with --store-password-file: the client goes to PostgreSQL, not the state file.
        var r = try TestSupport.modelsec(["serve", "client", "add", "by-flag", "--config", fixture.configPath, "--scope", "model:pull:*@*",
                                          "--store", url, "--store-password-file", passwordFile, "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertNotNil(try postgres().client(id: "by-flag"))
        XCTAssertNil(try sqlite().client(id: "by-flag"))
        // MODELSEC_STORE with PGPASSWORD.
        r = try TestSupport.modelsec(["serve", "client", "add", "by-env", "--config", fixture.configPath, "--scope", "model:pull:*@*", "--json"],
                                     environment: ["MODELSEC_STORE": url, "PGPASSWORD": cluster.password])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertNotNil(try postgres().client(id: "by-env"))
        XCTAssertNil(try sqlite().client(id: "by-env"))
        // Without either: the configuration's state file.
        r = try TestSupport.modelsec(["serve", "client", "add", "by-config", "--config", fixture.configPath, "--scope", "model:pull:*@*", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertNotNil(try sqlite().client(id: "by-config"))
        XCTAssertNil(try postgres().client(id: "by-config"))
        // The audit of the PostgreSQL store is empty of the SQLite store's records and vice versa: one store at a time.
        r = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--store", url, "--store-password-file", passwordFile,
                                      "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        // No password in argv ever: a URL with one is refused without echoing it.
        let withPassword = url.replacingOccurrences(of: "modelsec@", with: "modelsec:hunter2-secret@")
        r = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--store", withPassword, "--json"])
        XCTAssertEqual(r.status, 2, r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("store.password-in-url"), r.stdoutText)
        XCTAssertFalse((r.stdoutText + r.stderrText).contains("hunter2-secret"))
        // A password file belongs to a postgres:// store.
        r = try TestSupport.modelsec(["serve", "audit", "--config", fixture.configPath, "--store", "sqlite:" + fixture.directory.path + "/state.sqlite",
                                      "--store-password-file", passwordFile])
        XCTAssertEqual(r.status, 2, r.stderrText)
    }

    func testTheConfigurationsStoreKey() throws {
        let yaml = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
        // store: with store_password_file: (relative to the configuration).
        let withStore = yaml.replacingOccurrences(of: "state: state.sqlite", with: "store: \"\(url)\"\nstore_password_file: pg.pw")
        try withStore.write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        let config = try ServiceConfig.load(fixture.configPath)
        XCTAssertEqual(config.store, url)
        XCTAssertEqual(config.storePasswordFile, passwordFile)
        var r = try TestSupport.modelsec(["serve", "client", "add", "in-config", "--config", fixture.configPath, "--scope", "model:pull:*@*", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        XCTAssertNotNil(try postgres().client(id: "in-config"))
        // A wrong password is the store's error (exit 2), naming the store, never the password.
        try "wrong-password-value\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        r = try TestSupport.modelsec(["serve", "client", "add", "refused", "--config", fixture.configPath, "--scope", "model:pull:*@*", "--json"])
        XCTAssertEqual(r.status, 2, r.stderrText)
        XCTAssertTrue(r.stdoutText.contains("store.authentication-failed"), r.stdoutText)
        XCTAssertFalse((r.stdoutText + r.stderrText).contains("wrong-password-value"))
        // A relative sqlite: store is relative to the configuration's directory.
        try yaml.replacingOccurrences(of: "state: state.sqlite", with: "store: sqlite:other.sqlite")
            .write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ServiceConfig.load(fixture.configPath).store, "sqlite:" + fixture.directory.appendingPathComponent("other.sqlite").path)
        // state: and store: together, or a password file without a store, are refused.
        for bad in [yaml.replacingOccurrences(of: "state: state.sqlite", with: "state: state.sqlite\nstore: sqlite:x.sqlite"),
                    yaml.replacingOccurrences(of: "state: state.sqlite", with: "state: state.sqlite\nstore_password_file: pg.pw")] {
            try bad.write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try ServiceConfig.load(fixture.configPath)) {
                XCTAssertEqual(($0 as? TokenServiceError)?.code, "serve.invalid-config", "\($0)")
            }
        }
    }
}
