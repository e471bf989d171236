#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
@testable import ModelSigning
import TestSupport
import XCTest

/// Library round trips and every way verification must fail.
final class SignVerifyTests: XCTestCase {
    let quiet = SigningOptions()
    let quietVerify = VerificationOptions()

    private func verify(_ model: URL, _ bundle: SignatureBundle, _ keys: [PublicKey],
                        options: VerificationOptions = VerificationOptions()) throws -> ModelVerificationResult {
        try ModelVerifier.verify(model: model, bundle: bundle, trustedKeys: TrustedKeys(keys), options: options)
    }

    func testRoundTripWithBothKeyTypesAndBothMethods() throws {
        for algorithm in [KeyAlgorithm.ed25519, .p256] {
            for method in [SerializationMethod.files, .shards(size: 1000)] {
                let model = try Fixtures.directoryModel()
                let keys = try Fixtures.keyPair(algorithm)
                let bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions(method: method))
                let reread = try SignatureBundle(jsonData: bundle.jsonData())
                let result = try verify(model, reread, [keys.publicKey])
                XCTAssertEqual(result.outcome, .verified, "\(algorithm) \(method): \(result.summary)")
                XCTAssertEqual(result.signerKeyID, keys.publicKey.keyID)
                XCTAssertEqual(result.verifiedFileCount, method == .files ? 5 : 4, "the empty file has no shard")
            }
        }
    }

    func testEveryModifiedMissingAndExtraFileIsReported() throws {
        for method in [SerializationMethod.files, .shards(size: 1000)] {
            let model = try Fixtures.directoryModel()
            let keys = try Fixtures.keyPair(.ed25519)
            let bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions(method: method))
            try Fixtures.flipByte(model.appendingPathComponent("weights/layer0.bin"))
            try Fixtures.write("config.json", #"{"layers": 13}"#, in: model)  // same size, different content
            try FileManager.default.removeItem(at: model.appendingPathComponent(".dotfile"))
            try FileManager.default.removeItem(at: model.appendingPathComponent("weights/deep/nested/layer1.bin"))
            try Fixtures.write("weights/extra.bin", "unsigned", in: model)
            try Fixtures.write(".new-dotfile", "unsigned", in: model)

            let result = try verify(model, bundle, [keys.publicKey])
            XCTAssertEqual(result.outcome, .contentMismatch, "\(method)")
            XCTAssertEqual(result.modified, ["config.json", "weights/layer0.bin"], "\(method)")
            XCTAssertEqual(result.missing, [".dotfile", "weights/deep/nested/layer1.bin"], "\(method)")
            XCTAssertEqual(Set(result.extra), [".new-dotfile", "weights/extra.bin"], "\(method)")
            XCTAssertEqual(result.signerKeyID, keys.publicKey.keyID)

            let lenient = try verify(model, bundle, [keys.publicKey], options: VerificationOptions(ignoreUnsignedFiles: true))
            XCTAssertEqual(lenient.extra, [])
            XCTAssertEqual(lenient.modified, ["config.json", "weights/layer0.bin"])
        }
    }

    func testAppendingToAFileIsDetected() throws {
        let model = try Fixtures.directoryModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: quiet)
        try Fixtures.write("empty.txt", "no longer empty", in: model)
        XCTAssertEqual(try verify(model, bundle, [keys.publicKey]).modified, ["empty.txt"])
    }

    func testUntrustedSignerIsNamedByKeyID() throws {
        let model = try Fixtures.directoryModel()
        let signer = try Fixtures.keyPair(.p256)
        let other = try Fixtures.keyPair(.p256)
        let bundle = try ModelSigner.sign(model: model, key: signer.signingKey, options: quiet)
        let result = try verify(model, bundle, [other.publicKey])
        XCTAssertEqual(result.outcome, .untrustedSigner)
        XCTAssertEqual(result.claimedKeyID, signer.publicKey.keyID)
        XCTAssertNil(result.signerKeyID)
        XCTAssertTrue(result.summary.contains(signer.publicKey.keyID))
    }

    func testTamperedPayloadOrSignatureFails() throws {
        let model = try Fixtures.directoryModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: quiet)

        // A forged statement (a digest swapped) under the original signature.
        var payload = [UInt8](Data(base64Encoded: bundle.dsseEnvelope.payload)!)
        let text = String(decoding: payload, as: UTF8.self)
        let digest = try Fixtures.sha256sum(model.appendingPathComponent("config.json"))
        payload = Array(text.replacingOccurrences(of: digest, with: String(repeating: "0", count: 64)).utf8)
        var forged = bundle
        forged.dsseEnvelope.payload = Data(payload).base64EncodedString()
        XCTAssertEqual(try verify(model, forged, [keys.publicKey]).outcome, .invalidSignature)

        // A corrupted signature.
        var sig = [UInt8](Data(base64Encoded: bundle.dsseEnvelope.signatures[0].sig)!)
        sig[10] ^= 0x80
        var corrupted = bundle
        corrupted.dsseEnvelope.signatures[0].sig = Data(sig).base64EncodedString()
        XCTAssertEqual(try verify(model, corrupted, [keys.publicKey]).outcome, .invalidSignature)

        // A hint naming a trusted key does not make a signature by another key valid.
        let other = try Fixtures.keyPair(.ed25519)
        var relabelled = try ModelSigner.sign(model: model, key: other.signingKey, options: quiet)
        relabelled.verificationMaterial = .init(keyHint: keys.publicKey.keyID)
        XCTAssertEqual(try verify(model, relabelled, [keys.publicKey]).outcome, .invalidSignature)
    }

    func testMissingHintStillFindsTheTrustedKey() throws {
        let model = try Fixtures.singleFileModel()
        let keys = try Fixtures.keyPair(.p256)
        var bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: quiet)
        bundle.verificationMaterial = .init(keyHint: nil)
        let unrelated = try Fixtures.keyPair(.ed25519)
        let result = try verify(model, bundle, [unrelated.publicKey, keys.publicKey])
        XCTAssertEqual(result.outcome, .verified, result.summary)
        XCTAssertEqual(result.signerKeyID, keys.publicKey.keyID)
    }

    /// NFC "é" (C3 A9) and NFD "e" + U+0301 (65 CC 81) are different files on
    /// disk and different resources, though Swift's String calls them equal.
    func testNamesAreComparedAsBytesNotAsUnicodeStrings() throws {
        let nfc = "caf\u{E9}.bin", nfd = "cafe\u{301}.bin"
        XCTAssertEqual(nfc, nfd, "precondition: Swift String equality folds normalisation forms")
        XCTAssertNotEqual(Array(nfc.utf8), Array(nfd.utf8))

        let root = try TestSupport.makeTemporaryDirectory().appendingPathComponent("unicode")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (name, content) in [(nfc, "composed"), (nfd, "decomposed")] {
            let path = root.path + "/" + name
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(content.utf8)))
        }
        let listed = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: root.path))
        try XCTSkipIf(listed.count != 2, "this file system normalises names")

        let keys = try Fixtures.keyPair(.ed25519)
        let bundle = try ModelSigner.sign(model: root, key: keys.signingKey, options: quiet)
        let names = try bundle.manifest().resources.map { Array($0.name.utf8) }
        XCTAssertEqual(Set(names), [Array(nfc.utf8), Array(nfd.utf8)])
        XCTAssertTrue(try verify(root, bundle, [keys.publicKey]).isVerified)

        // Remove the NFD file: exactly it is missing, the NFC one still matches.
        XCTAssertEqual(unlink(root.path + "/" + nfd), 0)
        let result = try verify(root, bundle, [keys.publicKey])
        XCTAssertEqual(result.missing.map { Array($0.utf8) }, [Array(nfd.utf8)])
        XCTAssertEqual(result.modified, [])
        XCTAssertEqual(result.extra, [])
    }

    func testGitPathsSignatureFileAndIgnorePathsAreLeftOut() throws {
        let model = try Fixtures.directoryModel()
        try Fixtures.write(".git/HEAD", "ref: refs/heads/main", in: model)
        try Fixtures.write(".gitignore", "*.tmp", in: model)
        try Fixtures.write("notes/README.md", "docs", in: model)
        try Fixtures.write("sub/.git/config", "nested .git is a normal folder", in: model)
        let signature = model.appendingPathComponent("model.sig")
        let keys = try Fixtures.keyPair(.ed25519)
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey,
                                          options: SigningOptions(ignorePaths: ["notes/"], signaturePath: signature))
        try bundle.write(to: signature.path)
        let manifest = try bundle.manifest()
        let names = Set(manifest.resources.map(\.name))
        XCTAssertFalse(names.contains(".git/HEAD"))
        XCTAssertFalse(names.contains(".gitignore"))
        XCTAssertFalse(names.contains("notes/README.md"))
        XCTAssertFalse(names.contains("model.sig"))
        XCTAssertTrue(names.contains("sub/.git/config"))
        XCTAssertTrue(names.contains(".dotfile"))
        XCTAssertEqual(Set(manifest.ignorePaths), [".git", ".gitattributes", ".github", ".gitignore", "notes", "model.sig"])

        // The verifier honours the recorded ignore paths.
        try Fixtures.write("notes/other.md", "changed docs", in: model)
        try Fixtures.write(".git/ORIG_HEAD", "x", in: model)
        XCTAssertTrue(try verify(model, bundle, [keys.publicKey], options: VerificationOptions(signaturePath: signature)).isVerified)

        XCTAssertThrowsError(try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions(ignorePaths: ["../x"])))
    }

    func testSymlinksAreRefusedUnlessAllowed() throws {
        let model = try Fixtures.directoryModel()
        XCTAssertEqual(symlink("config.json", model.path + "/link.json"), 0)
        let keys = try Fixtures.keyPair(.ed25519)
        XCTAssertThrowsError(try ModelSigner.sign(model: model, key: keys.signingKey, options: quiet)) { error in
            let error = error as? ModelTreeError
            XCTAssertEqual(error?.problem, .symbolicLink)
            XCTAssertEqual(error.map { $0.file }, model.path + "/link.json") // its own path (the protocol's is nil: see the report)
            XCTAssertEqual(error?.category, .invalidInput)
        }
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions(allowSymlinks: true))
        let manifest = try bundle.manifest()
        XCTAssertTrue(manifest.allowSymlinks)
        let link = try XCTUnwrap(manifest.resources.first { $0.name == "link.json" })
        XCTAssertEqual(link.digest, try Fixtures.sha256sum(model.appendingPathComponent("config.json")))
        XCTAssertTrue(try verify(model, bundle, [keys.publicKey]).isVerified)

        // A file replaced by a symlink fails verification of a no-symlink signature.
        try FileManager.default.removeItem(at: model.appendingPathComponent("link.json"))
        let strict = try ModelSigner.sign(model: model, key: keys.signingKey, options: quiet)
        try FileManager.default.removeItem(at: model.appendingPathComponent("empty.txt"))
        XCTAssertEqual(symlink("/dev/null", model.path + "/empty.txt"), 0)
        let result = try verify(model, strict, [keys.publicKey])
        XCTAssertEqual(result.outcome, .contentMismatch)
    }

    func testSpecialFilesAreRefused() throws {
        let model = try Fixtures.directoryModel()
        XCTAssertEqual(mkfifo(model.path + "/pipe", 0o600), 0)
        let keys = try Fixtures.keyPair(.ed25519)
        XCTAssertThrowsError(try ModelSigner.sign(model: model, key: keys.signingKey, options: quiet)) {
            XCTAssertEqual(($0 as? ModelTreeError)?.problem, .specialFile)
            XCTAssertEqual(($0 as? ModelTreeError).map { $0.file }, model.path + "/pipe")
        }
    }

    /// verifyFile hashes only the named file: a FIFO elsewhere in the model
    /// (which a full walk refuses) does not matter.
    func testVerifyFileLooksAtOneFileOnly() throws {
        for method in [SerializationMethod.files, .shards(size: 3000)] {
            let model = try Fixtures.directoryModel()
            let keys = try Fixtures.keyPair(.ed25519)
            let bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions(method: method))
            XCTAssertEqual(mkfifo(model.path + "/pipe", 0o600), 0)
            try Fixtures.flipByte(model.appendingPathComponent("config.json"))
            let trusted = TrustedKeys([keys.publicKey])

            let good = try ModelVerifier.verifyFile(relativePath: "weights/layer0.bin", model: model, bundle: bundle, trustedKeys: trusted, options: quietVerify)
            XCTAssertEqual(good.outcome, .verified, good.summary)
            XCTAssertEqual(good.verifiedFileCount, 1)
            let bad = try ModelVerifier.verifyFile(relativePath: "./config.json", model: model, bundle: bundle, trustedKeys: trusted, options: quietVerify)
            XCTAssertEqual(bad.modified, ["config.json"])
            let unsigned = try ModelVerifier.verifyFile(relativePath: "pipe", model: model, bundle: bundle, trustedKeys: trusted, options: quietVerify)
            XCTAssertEqual(unsigned.extra, ["pipe"])
            try FileManager.default.removeItem(at: model.appendingPathComponent(".dotfile"))
            let missing = try ModelVerifier.verifyFile(relativePath: ".dotfile", model: model, bundle: bundle, trustedKeys: trusted, options: quietVerify)
            XCTAssertEqual(missing.missing, [".dotfile"])
        }
    }

    /// One rule for the whole model and for one file: `verifyFile` of a file
    /// reached through a symbolic link to a directory fails exactly as the
    /// full verification of a no-symlink signature does.
    func testSymlinkRuleClass_verifyFileRefusesALinkedDirectoryOnThePath() throws {
        let model = try Fixtures.directoryModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: quiet)
        let trusted = TrustedKeys([keys.publicKey])
        // Same bytes, but the directory is now a link to a copy elsewhere.
        let elsewhere = try TestSupport.makeTemporaryDirectory().appendingPathComponent("weights-copy")
        try FileManager.default.copyItem(at: model.appendingPathComponent("weights"), to: elsewhere)
        try FileManager.default.removeItem(at: model.appendingPathComponent("weights"))
        XCTAssertEqual(symlink(elsewhere.path, model.path + "/weights"), 0)

        let whole = try verify(model, bundle, [keys.publicKey])
        XCTAssertEqual(whole.outcome, .contentMismatch)
        let one = try ModelVerifier.verifyFile(relativePath: "weights/layer0.bin", model: model, bundle: bundle, trustedKeys: trusted, options: quietVerify)
        XCTAssertEqual(one.outcome, .contentMismatch, one.summary)
        XCTAssertTrue(one.summary.contains("symbolic link"), one.summary)
        // With a signature that allows links, both accept it.
        let allowing = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions(allowSymlinks: true))
        XCTAssertTrue(try verify(model, allowing, [keys.publicKey]).isVerified)
        let allowed = try ModelVerifier.verifyFile(relativePath: "weights/layer0.bin", model: model, bundle: allowing, trustedKeys: trusted, options: quietVerify)
        XCTAssertEqual(allowed.outcome, .verified, allowed.summary)
    }

    /// Many files and multi-shard files across several workers give the same
    /// digests as hashing them one at a time.
    func testParallelHashingMatchesSequentialHashing() throws {
        let root = try TestSupport.makeTemporaryDirectory().appendingPathComponent("many")
        for i in 0..<200 {
            try Fixtures.write("d\(i % 7)/f\(i).bin", String(repeating: "x\(i)", count: i * 37), in: root)
        }
        var big = [UInt8](repeating: 0, count: 3 << 20)
        for i in big.indices { big[i] = UInt8(truncatingIfNeeded: i &* 7 &+ i >> 9) }
        try Data(big).write(to: root.appendingPathComponent("big.bin"))
        let inventory = try ModelTree.walk(root.path)
        for method in [SerializationMethod.files, .shards(size: 1 << 20)] {
            let planned = ModelSerializer.plan(inventory.files, method: method)
            let parallel = try ParallelHasher.digests(of: planned.map(\.task), files: inventory.files, in: inventory, workers: 4)
            for (resource, digest) in zip(planned, parallel) {
                let data = try Data(contentsOf: URL(fileURLWithPath: inventory.files[resource.task.fileIndex].displayPath))
                let slice = resource.range.map { data[Int($0.lowerBound)..<Int($0.upperBound)] } ?? data[...]
                XCTAssertEqual(digest, SHA2.SHA256.hash(data: Data(slice)).bytes, resource.name)
            }
        }
    }

    func testUnreadableModelIsAnInputError() throws {
        let keys = try Fixtures.keyPair(.ed25519)
        XCTAssertThrowsError(try ModelSigner.sign(model: URL(fileURLWithPath: "/nonexistent/model"), key: keys.signingKey)) {
            XCTAssertEqual(($0 as? ModelSecError)?.category, .invalidInput)
        }
    }
}

/// Symbolic links to directories, when allowed.
final class SymlinkDirectoryTests: XCTestCase {
    func testLinkedDirectoriesAreWalkedAndLoopsRefused() throws {
        let model = try Fixtures.directoryModel()
        XCTAssertEqual(symlink("weights", model.path + "/weights-link"), 0)
        let keys = try Fixtures.keyPair(.ed25519)
        let options = SigningOptions(allowSymlinks: true)
        let names = Set(try ModelSigner.sign(model: model, key: keys.signingKey, options: options).manifest().resources.map(\.name))
        XCTAssertTrue(names.contains("weights-link/layer0.bin"))
        XCTAssertTrue(names.contains("weights-link/deep/nested/layer1.bin"))

        XCTAssertEqual(symlink("..", model.path + "/weights/deep/up"), 0)
        XCTAssertThrowsError(try ModelSigner.sign(model: model, key: keys.signingKey, options: options)) {
            XCTAssertEqual(($0 as? ModelTreeError)?.problem, .symbolicLinkLoop, "\($0)")
        }
    }
}
