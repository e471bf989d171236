import Foundation
@testable import ModelScanner
import ModelSecIO
import TestSupport
import XCTest

/// A directory walk must scan every file a loader could read as a pickle,
/// whatever its name: protocol 0/1 pickles have no magic bytes.
final class DirectoryWalkClassTests: XCTestCase {
    /// `cposix\nsystem\n(S'true'\ntR.`: protocol 0, os.system("true").
    static let protocol0System = Array("cposix\nsystem\n(S'true'\ntR.".utf8)

    func testWalkScansProtocol0PicklesWithoutAModelNameOrMagic() throws {
        let dir = try TestSupport.makeTemporaryDirectory("walk-p0").appendingPathComponent("model")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["model", "weights.h5", "checkpoint.data", "model.pth.tar"] {
            try Data(Self.protocol0System).write(to: dir.appendingPathComponent(name))
        }
        // Broken after the import: pickle.load has already called os.system.
        try Data(Array("cposix\nsystem\n(S'true'\ntR".utf8) + [0xFF, 0xFF]).write(to: dir.appendingPathComponent("broken"))
        try Data("{\"hidden_size\": 4}\n".utf8).write(to: dir.appendingPathComponent("config.json"))
        try Data("# Model card\n".utf8).write(to: dir.appendingPathComponent("README.md"))
        let report = ModelScanner.scan(paths: [dir.path])
        let flagged = Set(report.files.filter { !$0.findings.isEmpty }.map { ($0.path as NSString).lastPathComponent })
        XCTAssertEqual(flagged, ["model", "weights.h5", "checkpoint.data", "model.pth.tar", "broken"])
        for name in ["model", "weights.h5", "checkpoint.data", "model.pth.tar", "broken"] {
            let file = try XCTUnwrap(report.files.first { $0.path.hasSuffix("/" + name) })
            XCTAssertTrue(file.findings.contains { $0.severity == .dangerous && $0.global == "posix.system" }, "\(name): \(file.findings)")
        }
        XCTAssertEqual(Set(report.skipped.map { ($0 as NSString).lastPathComponent }), ["config.json", "README.md"])
        // The tree scan (what release create and the deploy gate use) agrees.
        let tree = ModelScanner.scan(tree: try ModelTree.walk(dir.path))
        XCTAssertEqual(Set(tree.skipped.map(\.path.string)), ["config.json", "README.md"])
    }
}
