import Foundation
import TestSupport
import XCTest

/// The `ModelSigning` product stands alone: an app that depends on it and
/// nothing else builds without compiling what only other capabilities need
/// (GRDB, BigInt, Yams, the server's SwiftNIO/Hummingbird, the store's
/// postgres-nio and their BoringSSL copies; jwt-kit is gone entirely), and
/// the app it builds signs and verifies a model.
///
/// SwiftPM resolves (and fetches) every package a path dependency declares,
/// so since the token service and the shared store landed, swift-crypto and
/// swift-log are in the app's graph again (postgres-nio and Hummingbird
/// need them); what is checked is that none of it is compiled. Keeping them
/// out of the graph too needs the server in its own package or behind a
/// package trait (a known follow-up of #14).
final class ProductIsolationTests: XCTestCase {
    /// Packages the package no longer declares at all, as SwiftPM names them.
    static let removedPackages = ["jwt-kit"]
    /// Modules the signing product must never compile.
    static let foreignModules = ["GRDB", "BigInt", "Yams", "JWTKit", "Crypto", "CCryptoBoringSSL", "ModelRelease",
                                 "DifferentialPrivacy", "PolicyCheck", "AccessTokens", "ArtifactEncryption",
                                 "NIOCore", "NIOPosix", "NIOSSL", "CNIOBoringSSL", "Logging", "PostgresNIO", "Hummingbird",
                                 "ServiceLifecycle", "ModelSecStorePostgres", "TokenService"]

    func testProductIsolation_signingProductBuildsWithoutOtherCapabilitiesDependencies() throws {
        let work = try TestSupport.makeTemporaryDirectory("signing-only")
        defer { try? FileManager.default.removeItem(at: work) }
        let template = TestSupport.repositoryRoot.appendingPathComponent("Tests/Products/SigningOnly")
        let app = work.appendingPathComponent("SigningOnly")
        try FileManager.default.copyItem(at: template, to: app)
        let manifest = app.appendingPathComponent("Package.swift")
        let root = TestSupport.repositoryRoot.standardizedFileURL
        let text = try String(contentsOf: manifest, encoding: .utf8)
            .replacingOccurrences(of: "MODELSEC_PACKAGE_PATH", with: root.path)
            .replacingOccurrences(of: "MODELSEC_PACKAGE_NAME", with: root.lastPathComponent)
        try text.write(to: manifest, atomically: true, encoding: .utf8)
        let scratch = work.appendingPathComponent("build")
        let swiftPM = ["--package-path", app.path, "--scratch-path", scratch.path]

        // The dependency graph SwiftPM resolves for the app.
        let graph = try TestSupport.run("swift", ["package"] + swiftPM + ["show-dependencies", "--format", "json"])
        XCTAssertEqual(graph.status, 0, graph.stderrText)
        let names = Self.packageNames(in: try JSONSerialization.jsonObject(with: graph.stdout))
        XCTAssertTrue(names.contains { $0.caseInsensitiveCompare(root.lastPathComponent) == .orderedSame }, "\(names)")
        // A path dependency's graph lists every package it declares (GRDB,
        // BigInt, Yams are declared for other products); the dropped ones
        // must not appear at all.
        for removed in Self.removedPackages {
            XCTAssertFalse(names.contains { $0.lowercased().contains(removed) }, "\(removed) in the graph: \(names)")
        }

        // Build it: nothing foreign is compiled. (SwiftPM still fetches a path
        // dependency's declared packages, so GRDB, BigInt and Yams are checked
        // out; jwt-kit, no longer declared, never is.)
        let build = try TestSupport.run("swift", ["build"] + swiftPM)
        XCTAssertEqual(build.status, 0, build.stdoutText + build.stderrText)
        let checkouts = (try? FileManager.default.contentsOfDirectory(atPath: scratch.appendingPathComponent("checkouts").path)) ?? []
        for removed in Self.removedPackages {
            XCTAssertFalse(checkouts.contains { $0.lowercased() == removed }, "\(removed) checked out: \(checkouts)")
        }
        let products = try FileManager.default.subpathsOfDirectory(atPath: scratch.path)
        let compiled = products.filter { $0.hasSuffix(".o") || $0.hasSuffix(".swiftmodule") }
        XCTAssertTrue(compiled.contains { $0.hasSuffix("Modules/ModelSigning.swiftmodule") }, "\(compiled)")
        for module in Self.foreignModules {
            let own = compiled.filter { $0.contains("/\(module).build/") || $0.hasSuffix("/\(module).swiftmodule") }
            XCTAssertEqual(own, [], "\(module) was compiled")
        }

        // And the app works: it signs and verifies a two-file model.
        let model = work.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("weights".utf8).write(to: model.appendingPathComponent("weights.bin"))
        try Data("{}".utf8).write(to: model.appendingPathComponent("config.json"))
        let binPath = try TestSupport.run("swift", ["build"] + swiftPM + ["--show-bin-path"])
        let binary = URL(fileURLWithPath: binPath.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)).appendingPathComponent("SigningOnly")
        let run = try TestSupport.run(binary.path, [model.path])
        XCTAssertEqual(run.status, 0, run.stdoutText + run.stderrText)
        XCTAssertEqual(run.stdoutText, "verified 2\n")
    }

    /// Every package name (`name` and `identity`) in `swift package
    /// show-dependencies --format json` output.
    static func packageNames(in node: Any) -> [String] {
        guard let object = node as? [String: Any] else { return [] }
        var names = [object["name"], object["identity"]].compactMap { $0 as? String }
        for child in object["dependencies"] as? [Any] ?? [] { names += packageNames(in: child) }
        return names
    }
}
