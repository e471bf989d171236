#if canImport(Glibc)
import Glibc
#endif
import ArtifactEncryption
import Foundation
@testable import ModelRelease
import ModelSecIO
import TestSupport
import XCTest

/// Release creation opens the model's files through the walk's directory
/// descriptors (``ModelTree/Opener``), for the encryption as for the scan: a
/// directory moved out of the model and replaced by a symbolic link to where
/// it went, between the walk and the reads, is refused when its file is
/// opened. Before, the file was opened by its path, through the link, read
/// and encrypted from outside the model, and only the check that the
/// model's directories had not changed, after every file was read, failed.
final class DescriptorOpenReleaseTests: XCTestCase {
    private func request(_ fixture: ReleaseFixture, output: String) -> ReleaseRequest {
        ReleaseRequest(model: fixture.model.path, name: "bert", version: "1.0.0", signingKey: fixture.signingKey,
                       recipients: [.x25519(fixture.deployKey.publicKey)], output: fixture.path(output))
    }

    func testUnchangedModelIsReleasedThroughDescriptors() throws {
        let fixture = try ReleaseFixture()
        try Data("weights in a directory".utf8).write(to: fixture.model.appendingPathComponent("sub/w.bin"))
        let created = try ReleaseCreator.create(request(fixture, output: "release"), afterWalk: { _ in })
        XCTAssertEqual(created.manifest.artifacts.map(\.path).sorted(), [".hidden", "config.json", "sub/empty.txt", "sub/w.bin", "weights.bin"])
    }

    func testADirectorySwappedForALinkAfterTheWalkIsNotRead() throws {
        let fixture = try ReleaseFixture()
        try Data("weights in a directory".utf8).write(to: fixture.model.appendingPathComponent("sub/w.bin"))
        let outside = fixture.root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let model = fixture.model.path
        XCTAssertThrowsError(try ReleaseCreator.create(request(fixture, output: "release"), afterWalk: { _ in
            XCTAssertEqual(rename(model + "/sub", outside.path + "/sub"), 0)
            XCTAssertEqual(symlink(outside.path + "/sub", model + "/sub"), 0)
        })) {
            guard let error = $0 as? ModelTreeError else {
                return XCTFail("expected the open to be refused, got \(type(of: $0)): \($0)")
            }
            XCTAssertEqual(error.problem, .changed, "\(error)")
            XCTAssertEqual(error.file, model + "/sub")
        }
        XCTAssertFalse(fixture.exists("release"))
        XCTAssertEqual(try fixture.leftovers(), [])
    }

    /// A file swapped for a symbolic link to a file outside the model.
    func testAFileSwappedForALinkAfterTheWalkIsNotRead() throws {
        let fixture = try ReleaseFixture()
        let outside = fixture.root.appendingPathComponent("outside.json")
        try Data("{\"secret\": 1}\n".utf8).write(to: outside)
        let config = fixture.model.path + "/config.json"
        XCTAssertThrowsError(try ReleaseCreator.create(request(fixture, output: "release"), afterWalk: { _ in
            XCTAssertEqual(unlink(config), 0)
            XCTAssertEqual(symlink(outside.path, config), 0)
        })) {
            XCTAssertNotNil($0 as? ModelTreeError, "\(type(of: $0)): \($0)")
        }
        XCTAssertFalse(fixture.exists("release"))
    }
}
