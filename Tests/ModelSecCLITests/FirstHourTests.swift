import Foundation
import TestSupport
import XCTest

/// Regressions from the second new-user walkthrough (issue #15,
/// docs/../notes walkthrough): each test fails on the code before its fix.
final class FirstHourTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory("cli-first-hour")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    func run(_ arguments: [String], expect status: Int32 = 0, environment: [String: String]? = nil,
             file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(arguments, environment: environment, currentDirectory: dir)
        XCTAssertEqual(r.status, status, "modelsec \(arguments.joined(separator: " ")): \(r.stdoutText) \(r.stderrText)",
                       file: file, line: line)
        return r
    }

    func errorCode(_ r: TestSupport.ProcessResult) -> String? {
        ((try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
    }

    /// A signing key, a deploy key, a model and a release of it made with them.
    func makeRelease(_ name: String = "rel", model: String = "model") throws {
        if !FileManager.default.fileExists(atPath: path("release.pem")) {
            try run(["keygen", "--type", "ed25519", "--out", path("release.pem")])
            try run(["keygen", "--type", "x25519", "--out", path("deploy.pem")])
            try FileManager.default.createDirectory(atPath: path("trusted"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: path("release.pem.pub"), toPath: path("trusted/release.pem.pub"))
        }
        if !FileManager.default.fileExists(atPath: path(model)) {
            try FileManager.default.createDirectory(atPath: path(model), withIntermediateDirectories: true)
            // A minimal safetensors file, a format the scanner reads (baseline's scan rules pass).
            let header = Data(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
            var file = Data(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) })
            file += header + Data([0, 0, 128, 63])
            try file.write(to: URL(fileURLWithPath: path(model + "/weights.safetensors")))
        }
        try run(["release", "create", path(model), "--name", "clf", "--version", "1.0.0", "--signing-key", path("release.pem"),
                 "--recipient", path("deploy.pem.pub"), "--output", path(name)])
    }

    @discardableResult
    func gate(_ release: String = "rel", output: String, extra: [String] = [], expect status: Int32,
              environment: [String: String]? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        try run(["release", "verify", path(release), "--trusted-keys", path("trusted"), "--identity", path("deploy.pem"),
                 "--output", path(output), "--json"] + extra, expect: status, environment: environment, file: file, line: line)
    }

    // MARK: 1. Boolean environment variables

    /// MODELSEC_REQUIRE_TOKEN and MODELSEC_STRICT_PERMISSIONS accept
    /// 1/true/yes/on in any case, and refuse values that are no boolean.
    func testBooleanEnvironmentVariables() throws {
        try makeRelease()
        for on in ["1", "true", "TRUE", "Yes", "on"] {
            let r = try gate(output: "out-\(on)", expect: 2, environment: ["MODELSEC_REQUIRE_TOKEN": on])
            XCTAssertTrue(r.stderrText.contains("A deploy token is required"), r.stderrText)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out-\(on)")))
        }
        for (index, off) in ["0", "false", "NO", "off", ""].enumerated() {
            try gate(output: "off-\(index)", expect: 0, environment: ["MODELSEC_REQUIRE_TOKEN": off])
        }
        let bogus = try gate(output: "bogus", expect: 2, environment: ["MODELSEC_REQUIRE_TOKEN": "enabled"])
        XCTAssertTrue(bogus.stderrText.contains("MODELSEC_REQUIRE_TOKEN=\"enabled\" is not a boolean"), bogus.stderrText)
        XCTAssertEqual(errorCode(bogus), "usage.invalid-value")

        // An exposed key is refused when strict mode is on by any spelling.
        chmod(path("deploy.pem"), 0o644)
        for on in ["1", "true", "YES", "On"] {
            let r = try gate(output: "strict-\(on)", expect: 2, environment: ["MODELSEC_STRICT_PERMISSIONS": on])
            XCTAssertTrue(r.stderrText.contains("deploy.pem"), r.stderrText)
        }
        let warned = try gate(output: "lenient", expect: 0, environment: ["MODELSEC_STRICT_PERMISSIONS": "off"])
        XCTAssertTrue(warned.stderrText.contains("warning"), warned.stderrText)
        let strictBogus = try run(["sign", path("model"), "--key", path("release.pem"), "--output", path("m.sig")],
                                  expect: 2, environment: ["MODELSEC_STRICT_PERMISSIONS": "2"])
        XCTAssertTrue(strictBogus.stderrText.contains("MODELSEC_STRICT_PERMISSIONS=\"2\" is not a boolean"), strictBogus.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("m.sig")))
    }
}
