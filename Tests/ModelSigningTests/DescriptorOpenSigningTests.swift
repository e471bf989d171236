#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ModelSecIO
import ModelSecKeys
@testable import ModelSigning
import TestSupport
import XCTest

/// Signing and verification open a walked model's files through the walk's
/// directory descriptors (``ModelTree/Opener``): a directory moved out of the
/// model and replaced by a symbolic link to where it went, or a file replaced,
/// between the walk and the hashing is refused; the file outside the model
/// is never hashed (before, it was opened by its path, through the link).
final class DescriptorOpenSigningTests: XCTestCase {
    /// `base/model` with `a.bin` and `sub/w.bin`, and an empty `base/outside`.
    private func makeModel() throws -> (model: URL, outside: URL) {
        let base = try TestSupport.makeTemporaryDirectory("signing-descriptor-open")
        let model = base.appendingPathComponent("model"), outside = base.appendingPathComponent("outside")
        try Fixtures.write("a.bin", "top file", in: model)
        try Fixtures.write("sub/w.bin", "weights in a directory", in: model)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        return (model, outside)
    }

    /// Moves `model/sub` (its files keep their inodes and stamps) out of the
    /// model and puts a symbolic link to it in its place: by its path,
    /// `model/sub/w.bin` is still the file the walk saw, now outside the model.
    private func moveSubOutside(_ model: URL, _ outside: URL) {
        XCTAssertEqual(rename(model.path + "/sub", outside.path + "/sub"), 0)
        XCTAssertEqual(symlink(outside.path + "/sub", model.path + "/sub"), 0)
    }

    private func assertRefusedAtSub(_ error: Error, _ model: URL, file: StaticString = #filePath, line: UInt = #line) {
        // The open through the walked directory refuses the link (not a
        // later check that the directory changed, after the file was read).
        guard let error = error as? ModelTreeError else {
            return XCTFail("expected the open to be refused, got \(type(of: error)): \(error)", file: file, line: line)
        }
        XCTAssertEqual(error.problem, .changed, "\(error)", file: file, line: line)
        XCTAssertEqual(error.file, model.path + "/sub", file: file, line: line)
    }

    func testUnchangedModelSignsAndVerifiesThroughDescriptors() throws {
        let (model, _) = try makeModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions(), afterWalk: { _ in })
        let result = try ModelVerifier.verify(model: model, bundle: bundle, trustedKeys: TrustedKeys([keys.publicKey]),
                                              options: VerificationOptions(), afterWalk: { _ in })
        XCTAssertEqual(result.outcome, .verified, result.summary)
        XCTAssertEqual(result.verifiedFileCount, 2)
    }

    func testSigningRefusesADirectorySwappedForALinkAfterTheWalk() throws {
        let keys = try Fixtures.keyPair(.ed25519)
        for method in [SerializationMethod.files, .shards(size: 4)] {
            let (model, outside) = try makeModel()
            XCTAssertThrowsError(try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions(method: method),
                                                      afterWalk: { _ in self.moveSubOutside(model, outside) })) {
                self.assertRefusedAtSub($0, model)
            }
        }
    }

    /// Verification has no later directory check: before, the moved file
    /// was hashed through the link and the model "verified".
    func testVerificationRefusesADirectorySwappedForALinkAfterTheWalk() throws {
        let (model, outside) = try makeModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey)
        XCTAssertThrowsError(try ModelVerifier.verify(model: model, bundle: bundle, trustedKeys: TrustedKeys([keys.publicKey]),
                                                      options: VerificationOptions(),
                                                      afterWalk: { _ in self.moveSubOutside(model, outside) })) {
            self.assertRefusedAtSub($0, model)
        }
    }

    /// One file verified on its own: the directories on its path are opened
    /// as they were when the path was looked at.
    func testVerifyingOneFileRefusesADirectorySwappedForALinkAfterItWasFound() throws {
        let (model, outside) = try makeModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey)
        let trusted = TrustedKeys([keys.publicKey])
        let before = try ModelVerifier.verifyFile(relativePath: "sub/w.bin", model: model, bundle: bundle, trustedKeys: trusted,
                                                  options: VerificationOptions(), afterLocate: { _ in })
        XCTAssertEqual(before.outcome, .verified, before.summary)
        XCTAssertThrowsError(try ModelVerifier.verifyFile(relativePath: "sub/w.bin", model: model, bundle: bundle, trustedKeys: trusted,
                                                          options: VerificationOptions(),
                                                          afterLocate: { _ in self.moveSubOutside(model, outside) })) {
            self.assertRefusedAtSub($0, model)
        }
    }

    /// A file replaced by another with the same content and size (another
    /// inode) after the walk: not the file the walk saw, so not hashed.
    func testVerificationRefusesAFileReplacedAfterTheWalk() throws {
        let (model, _) = try makeModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey)
        XCTAssertThrowsError(try ModelVerifier.verify(model: model, bundle: bundle, trustedKeys: TrustedKeys([keys.publicKey]),
                                                      options: VerificationOptions(), afterWalk: { _ in
            try Fixtures.write("replacement", "weights in a directory", in: model)
            XCTAssertEqual(rename(model.path + "/replacement", model.path + "/sub/w.bin"), 0)
        })) {
            XCTAssertEqual(($0 as? ModelTreeError)?.problem, .changed, "\($0)")
        }
    }

    /// A model whose links the signature allows: the link the walk followed
    /// is followed again, but it must reach the directory the walk listed.
    func testAFollowedLinkRetargetedAfterTheWalkIsRefused() throws {
        let (model, outside) = try makeModel()
        try Fixtures.write("real/r.bin", "real", in: model)
        XCTAssertEqual(symlink("real", model.path + "/linked"), 0)
        try Fixtures.write("r.bin", "real", in: outside)
        let keys = try Fixtures.keyPair(.ed25519)
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions(allowSymlinks: true))
        XCTAssertThrowsError(try ModelVerifier.verify(model: model, bundle: bundle, trustedKeys: TrustedKeys([keys.publicKey]),
                                                      options: VerificationOptions(), afterWalk: { _ in
            XCTAssertEqual(unlink(model.path + "/linked"), 0)
            XCTAssertEqual(symlink(outside.path, model.path + "/linked"), 0)
        })) {
            XCTAssertEqual(($0 as? ModelTreeError)?.problem, .changed, "\($0)")
            XCTAssertEqual(($0 as? ModelTreeError)?.file, model.path + "/linked")
        }
    }
}
