@testable import ModelSecStore
import XCTest

/// Store URLs: parsing, refusal of passwords, redaction.
final class StoreURLTests: XCTestCase {
    func testSQLiteAndPostgresURLsParse() throws {
        XCTAssertEqual(try StoreURL(parsing: "sqlite:privacy.db"), .sqlite(path: "privacy.db"))
        XCTAssertEqual(try StoreURL(parsing: "sqlite:///var/lib/p.db"), .sqlite(path: "/var/lib/p.db"))
        guard case .postgres(let p) = try StoreURL(parsing: "postgres://dp@db.internal:6543/ledger?sslmode=verify-full&connect_timeout=5") else {
            return XCTFail("not postgres")
        }
        XCTAssertEqual(p.user, "dp"); XCTAssertEqual(p.host, "db.internal"); XCTAssertEqual(p.port, 6543)
        XCTAssertEqual(p.database, "ledger"); XCTAssertEqual(p.sslMode, .verifyFull); XCTAssertEqual(p.connectTimeout, 5)
        guard case .postgres(let d) = try StoreURL(parsing: "postgresql://dp@[::1]") else { return XCTFail("not postgres") }
        XCTAssertEqual(d.host, "::1"); XCTAssertEqual(d.port, 5432); XCTAssertEqual(d.database, "dp"); XCTAssertEqual(d.sslMode, .prefer)
    }

    /// A password in argv is visible in `ps`: refused, and never repeated.
    func testPasswordInURLIsRefusedWithoutRepeatingIt() {
        for text in ["postgres://dp:hunter2secret@db/x", "postgres://dp@db/x?password=hunter2secret"] {
            XCTAssertThrowsError(try StoreURL(parsing: text)) { error in
                XCTAssertEqual(error as? StoreError, .passwordInURL)
                XCTAssertFalse("\(error)".contains("hunter2"))
            }
        }
    }

    /// A misspelt or unknown parameter never silently means "no TLS", and
    /// the error does not repeat the value (it could be a secret).
    func testUnknownParametersAndBadValuesAreRefused() {
        let bad = ["postgres://dp@db/x?sslmod=require", "postgres://dp@db/x?sslmode=allow", "postgres://dp@db:99999/x",
                   "postgres://db/x", "mysql://dp@db/x", "sqlite:", "postgres://dp@db/x?sslmode=require&sslmode=disable",
                   "postgres://dp@db/x#frag", "postgres://dp@d b/x", "postgres://dp@db/x?secret=topsecretvalue"]
        for text in bad {
            XCTAssertThrowsError(try StoreURL(parsing: text), text) { error in
                XCTAssertEqual((error as? StoreError)?.code, "store.invalid-url", text)
                XCTAssertFalse("\(error)".contains("topsecretvalue"))
            }
        }
    }

    func testRedactedURLIsRebuiltFromParsedParts() throws {
        let url = try StoreURL(parsing: "postgres://dp@db.internal/ledger?sslmode=require")
        XCTAssertEqual(url.redacted, "postgres://dp@db.internal:5432/ledger?sslmode=require")
        XCTAssertEqual(try StoreURL(parsing: "postgres://d%40p@h/x").redacted, "postgres://d%40p@h:5432/x?sslmode=prefer")
    }

    /// The libpq password file: wildcards, escapes, first match wins, and
    /// a file others may read is ignored (as libpq does).
    func testPasswordFileLookup() throws {
        guard case .postgres(let location) = try StoreURL(parsing: "postgres://dp@db:5433/ledger") else { return XCTFail() }
        let text = "# comment\nother:5433:ledger:dp:wrong\ndb:5433:*:dp:pa\\:ss\ndb:*:*:*:later\n"
        XCTAssertEqual(StorePassword.match(text, location: location), "pa:ss")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("pgpass")
        try text.write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        XCTAssertNil(try StorePassword.resolve(for: location, passwordFile: nil, environment: ["PGPASSFILE": file.path]))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        XCTAssertEqual(try StorePassword.resolve(for: location, passwordFile: nil, environment: ["PGPASSFILE": file.path]), "pa:ss")
        XCTAssertEqual(try StorePassword.resolve(for: location, passwordFile: nil, environment: ["PGPASSWORD": "env", "PGPASSFILE": file.path]), "env")
        let own = dir.appendingPathComponent("pw")
        try "from-file\nignored\n".write(to: own, atomically: true, encoding: .utf8)
        XCTAssertEqual(try StorePassword.resolve(for: location, passwordFile: own.path, environment: ["PGPASSWORD": "env"]), "from-file")
    }
}
