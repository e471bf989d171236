import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
@testable import ModelSigning
import TestSupport
import XCTest

/// The bytes on disk: DSSE PAE, bundle layout, statement content.
final class FormatTests: XCTestCase {
    /// The example from the DSSE v1 protocol specification.
    func testPreAuthenticationEncodingMatchesSpecExample() {
        let pae = DSSEEnvelope.preAuthenticationEncoding(payloadType: "http://example.com/HelloWorld", payload: Array("hello world".utf8))
        XCTAssertEqual(String(decoding: pae, as: UTF8.self), "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
    }

    func testPreAuthenticationEncodingCountsBytesNotCharacters() {
        let pae = DSSEEnvelope.preAuthenticationEncoding(payloadType: "t", payload: Array("é".utf8))
        XCTAssertEqual(pae, Array("DSSEv1 1 t 2 ".utf8) + [0xC3, 0xA9])
    }

    func testBundleLayoutIsWhatModelSigningReads() throws {
        let model = try Fixtures.directoryModel()
        let keys = try Fixtures.keyPair(.p256)
        let bundle = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions())
        let data = try bundle.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertFalse(text.hasSuffix("\n"))
        XCTAssertFalse(text.contains("\n"), "compact JSON")

        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(json["mediaType"] as? String, "application/vnd.dev.sigstore.bundle.v0.3+json")
        let material = try XCTUnwrap(json["verificationMaterial"] as? [String: Any])
        XCTAssertEqual((material["publicKey"] as? [String: Any])?["hint"] as? String, keys.publicKey.keyID)
        XCTAssertEqual((material["tlogEntries"] as? [Any])?.count, 0)
        // The hint is the SHA-256 of the public key file's PEM text.
        XCTAssertEqual(keys.publicKey.keyID, try Fixtures.sha256sum(URL(fileURLWithPath: keys.publicPath)))

        let envelope = try XCTUnwrap(json["dsseEnvelope"] as? [String: Any])
        XCTAssertEqual(envelope["payloadType"] as? String, "application/vnd.in-toto+json")
        let signatures = try XCTUnwrap(envelope["signatures"] as? [[String: Any]])
        XCTAssertEqual(signatures.count, 1)
        XCTAssertEqual(signatures[0]["keyid"] as? String, "")
        let sig = try XCTUnwrap(Data(base64Encoded: signatures[0]["sig"] as! String))
        let payload = try XCTUnwrap(Data(base64Encoded: envelope["payload"] as! String))
        // DER ECDSA over the PAE, checked with the crypto core directly.
        XCTAssertEqual(sig.first, 0x30, "DER SEQUENCE")
        let pae = DSSEEnvelope.preAuthenticationEncoding(payloadType: "application/vnd.in-toto+json", payload: Array(payload))
        XCTAssertTrue(keys.publicKey.isValidSignature(Array(sig), for: pae))

        // The statement.
        let statement = try XCTUnwrap(JSONSerialization.jsonObject(with: payload) as? [String: Any])
        XCTAssertEqual(statement["_type"] as? String, "https://in-toto.io/Statement/v1")
        XCTAssertEqual(statement["predicateType"] as? String, "https://model_signing/signature/v1.0")
        let subject = try XCTUnwrap((statement["subject"] as? [[String: Any]])?.first)
        XCTAssertEqual(subject["name"] as? String, "model")
        let predicate = try XCTUnwrap(statement["predicate"] as? [String: Any])
        let serialization = try XCTUnwrap(predicate["serialization"] as? [String: Any])
        XCTAssertEqual(serialization["method"] as? String, "files")
        XCTAssertEqual(serialization["hash_type"] as? String, "sha256")
        XCTAssertEqual(serialization["allow_symlinks"] as? Bool, false)
        XCTAssertEqual(Set(serialization["ignore_paths"] as? [String] ?? []), [".git", ".gitattributes", ".github", ".gitignore"])
        let resources = try XCTUnwrap(predicate["resources"] as? [[String: String]])
        XCTAssertEqual(Set(resources.map { $0["name"]! }),
                       [".dotfile", "config.json", "empty.txt", "weights/layer0.bin", "weights/deep/nested/layer1.bin"])
        // Each digest is sha256sum of the file; the subject digest is SHA-256 of
        // the concatenated raw digests in the listed order.
        var concatenated: [UInt8] = []
        for resource in resources {
            XCTAssertEqual(resource["algorithm"], "sha256")
            XCTAssertEqual(resource["digest"], try Fixtures.sha256sum(model.appendingPathComponent(resource["name"]!)))
            concatenated += TestSupport.hex(resource["digest"]!)
        }
        let concatFile = try TestSupport.makeTemporaryDirectory().appendingPathComponent("concat")
        try Data(concatenated).write(to: concatFile)
        XCTAssertEqual((subject["digest"] as? [String: String])?["sha256"], try Fixtures.sha256sum(concatFile))
    }

    func testSingleFileModelIsNamedDot() throws {
        let model = try Fixtures.singleFileModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let manifest = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions()).manifest()
        XCTAssertEqual(manifest.modelName, "model.safetensors")
        XCTAssertEqual(manifest.resources.map(\.name), ["."])
        XCTAssertEqual(manifest.resources[0].digest, try Fixtures.sha256sum(model))
    }

    func testShardNamesAndDigests() throws {
        let model = try Fixtures.directoryModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let manifest = try ModelSigner.sign(model: model, key: keys.signingKey,
                                            options: SigningOptions(method: .shards(size: 4096))).manifest()
        XCTAssertEqual(manifest.method, .shards(size: 4096))
        // layer0.bin is 10,000 bytes: three shards; the empty file has none.
        let layer0 = manifest.resources.filter { $0.name.hasPrefix("weights/layer0.bin:") }.map(\.name).sorted()
        XCTAssertEqual(layer0, ["weights/layer0.bin:0:4096", "weights/layer0.bin:4096:8192", "weights/layer0.bin:8192:10000"])
        XCTAssertFalse(manifest.resources.contains { $0.name.hasPrefix("empty.txt") })
        XCTAssertTrue(manifest.resources.allSatisfy { $0.algorithm == "sha256-sharded-4096" })
        // The middle shard's digest is the SHA-256 of exactly those bytes.
        let bytes = try Data(contentsOf: model.appendingPathComponent("weights/layer0.bin"))
        let shard = try TestSupport.makeTemporaryDirectory().appendingPathComponent("shard")
        try bytes[4096..<8192].write(to: shard)
        XCTAssertEqual(manifest.resources.first { $0.name == "weights/layer0.bin:4096:8192" }?.digest, try Fixtures.sha256sum(shard))
    }

    func testShardSizeWrittenAsFloatIsAccepted() throws {
        let json = #"{"method":"shards","hash_type":"sha256","allow_symlinks":false,"shard_size":1000.0}"#
        let decoded = try JSONDecoder().decode(InTotoStatement.Serialization.self, from: Data(json.utf8))
        XCTAssertEqual(decoded.shardSize, 1000)
        let fractional = #"{"method":"shards","hash_type":"sha256","allow_symlinks":false,"shard_size":1000.5}"#
        XCTAssertThrowsError(try JSONDecoder().decode(InTotoStatement.Serialization.self, from: Data(fractional.utf8)))
    }

    func testShardNamesSplitAtTheLastTwoColons() {
        let parsed = ResourceName.parse("a:b/c.bin:10:20", method: .shards(size: 10))
        XCTAssertEqual(parsed?.path, ModelPath("a:b/c.bin"))
        XCTAssertEqual(parsed?.range, 10..<20)
        XCTAssertNil(ResourceName.parse("c.bin:20:10", method: .shards(size: 10)))
        XCTAssertNil(ResourceName.parse("c.bin", method: .shards(size: 10)))
    }

    func testMalformedBundlesAreFormatErrors() throws {
        let model = try Fixtures.singleFileModel()
        let keys = try Fixtures.keyPair(.p256)
        let good = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions())
        let goodJSON = try XCTUnwrap(JSONSerialization.jsonObject(with: good.jsonData()) as? [String: Any])

        func mutated(_ change: (inout [String: Any]) -> Void) throws -> Data {
            var copy = goodJSON
            change(&copy)
            return try JSONSerialization.data(withJSONObject: copy)
        }
        var envelope = goodJSON["dsseEnvelope"] as! [String: Any]
        let cases: [(String, Data)] = [
            ("not JSON", Data("hello".utf8)),
            ("empty", Data()),
            ("wrong media type", try mutated { $0["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2" }),
            ("no envelope", try mutated { $0["dsseEnvelope"] = nil }),
            ("wrong payload type", try mutated { envelope["payloadType"] = "text/plain"; $0["dsseEnvelope"] = envelope }),
        ]
        envelope = goodJSON["dsseEnvelope"] as! [String: Any]
        for (label, data) in cases {
            XCTAssertThrowsError(try SignatureBundle(jsonData: data), label) { error in
                XCTAssertTrue(error is SignatureFormatError, "\(label): \(error)")
            }
        }
        var noSignatures = envelope
        noSignatures["signatures"] = []
        XCTAssertThrowsError(try SignatureBundle(jsonData: try mutated { $0["dsseEnvelope"] = noSignatures })) {
            XCTAssertTrue($0 is SignatureFormatError)
        }
        // Absent tlogEntries and an absent keyid are accepted.
        var lenient = goodJSON
        lenient["verificationMaterial"] = ["publicKey": ["hint": keys.publicKey.keyID]]
        var sigs = envelope["signatures"] as! [[String: Any]]
        sigs[0]["keyid"] = nil
        var lenientEnvelope = envelope
        lenientEnvelope["signatures"] = sigs
        lenient["dsseEnvelope"] = lenientEnvelope
        let parsed = try SignatureBundle(jsonData: JSONSerialization.data(withJSONObject: lenient))
        let result = try ModelVerifier.verify(model: model, bundle: parsed, trustedKeys: TrustedKeys([keys.publicKey]),
                                              options: VerificationOptions())
        XCTAssertEqual(result.outcome, .verified, result.summary)
    }

    func testSignedPayloadThatIsNotAStatementIsAFormatError() throws {
        let keys = try Fixtures.keyPair(.ed25519)
        let payload = Array(#"{"_type":"https://in-toto.io/Statement/v1"}"#.utf8)
        let sig = try keys.signingKey.signature(for: DSSEEnvelope.preAuthenticationEncoding(payloadType: DSSEEnvelope.inTotoPayloadType, payload: payload))
        let bundle = SignatureBundle(verificationMaterial: .init(keyHint: keys.publicKey.keyID),
                                     dsseEnvelope: DSSEEnvelope(payload: Data(payload).base64EncodedString(), payloadType: DSSEEnvelope.inTotoPayloadType,
                                                                signatures: [.init(sig: Data(sig).base64EncodedString())]))
        let model = try Fixtures.singleFileModel()
        XCTAssertThrowsError(try ModelVerifier.verify(model: model, bundle: bundle, trustedKeys: TrustedKeys([keys.publicKey]))) {
            XCTAssertTrue($0 is SignatureFormatError, "\($0)")
        }
    }
    /// A bundle or a signed statement that two JSON readers could read two
    /// ways is refused before it is decoded. A key holder could otherwise
    /// sign a statement with two `subject` members: Python's json (and so
    /// model_signing) keeps the last, JSONDecoder may keep another.
    func testBundlesAndStatementsThatReadersCouldReadTwoWaysAreRefused() throws {
        let model = try Fixtures.singleFileModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let good = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions())
        let goodText = String(decoding: try good.jsonData(), as: UTF8.self)
        XCTAssertTrue(goodText.hasPrefix("{"))

        // The bundle: a repeated member, and the same key in NFC and NFD.
        let bundleCases = [
            ("a repeated mediaType", "{\"mediaType\":\"x\"," + goodText.dropFirst()),
            ("a key spelled in NFC and NFD", "{\"caf\u{E9}\":1,\"cafe\u{301}\":2," + goodText.dropFirst()),
        ]
        for (label, text) in bundleCases {
            XCTAssertThrowsError(try SignatureBundle(jsonData: Data(text.utf8)), label) { error in
                XCTAssertTrue(error is SignatureFormatError, "\(label): \(error)")
                XCTAssertTrue("\(error)".contains("readers could disagree"), "\(label): \(error)")
            }
        }
        XCTAssertNoThrow(try SignatureBundle(jsonData: Data(goodText.utf8)))

        // The statement, validly signed, with a second subject before the real one.
        let statement = String(decoding: good.payloadBytes, as: UTF8.self)
        XCTAssertTrue(statement.hasPrefix("{"))
        let forged = Array(("{\"subject\":[{\"name\":\"other\",\"digest\":{\"sha256\":\"" + String(repeating: "0", count: 64) + "\"}}],"
                            + statement.dropFirst()).utf8)
        let sig = try keys.signingKey.signature(for: DSSEEnvelope.preAuthenticationEncoding(payloadType: DSSEEnvelope.inTotoPayloadType, payload: forged))
        let bundle = SignatureBundle(verificationMaterial: .init(keyHint: keys.publicKey.keyID),
                                     dsseEnvelope: DSSEEnvelope(payload: Data(forged).base64EncodedString(), payloadType: DSSEEnvelope.inTotoPayloadType,
                                                                signatures: [.init(sig: Data(sig).base64EncodedString())]))
        XCTAssertThrowsError(try ModelVerifier.verify(model: model, bundle: bundle, trustedKeys: TrustedKeys([keys.publicKey]))) { error in
            XCTAssertTrue(error is SignatureFormatError, "\(error)")
            XCTAssertTrue("\(error)".contains("readers could disagree"), "\(error)")
        }
        // The same statement without the extra member verifies.
        XCTAssertEqual(try ModelVerifier.verify(model: model, bundle: good, trustedKeys: TrustedKeys([keys.publicKey])).outcome, .verified)
    }

    /// A bundle is decoded before its signature is checked, and JSONDecoder's
    /// tree of small values costs over 10 times the document: an 8 MiB member
    /// of four million zeros (over 100 MiB as a tree, and accepted, being an
    /// unknown member) is refused by its count of values before any tree is
    /// built.
    func testABundleOfMillionsOfValuesIsRefusedWithoutDecodingIt() throws {
        let model = try Fixtures.singleFileModel()
        let keys = try Fixtures.keyPair(.ed25519)
        let good = try ModelSigner.sign(model: model, key: keys.signingKey, options: SigningOptions())
        var text = Array(try good.jsonData())
        XCTAssertEqual(text.first, UInt8(ascii: "{"))
        var padding = Array("{\"x\":[0".utf8)
        padding.reserveCapacity(8 << 20 + 16)
        while padding.count < 8 << 20 { padding += Array(",0".utf8) }
        padding += Array("],".utf8)
        text = padding + text.dropFirst()
        var thrown: (any Error)?
        let growth = try TestSupport.peakResidentGrowthMiB {
            do { _ = try SignatureBundle(jsonData: Data(text)) } catch { thrown = error }
        }
        XCTAssertTrue(thrown is SignatureFormatError, String(describing: thrown))
        XCTAssertTrue("\(thrown.map { "\($0)" } ?? "")".contains("more than \(SignatureBundle.maximumJSONValues) JSON values"), String(describing: thrown))
        XCTAssertFalse("\(thrown.map { "\($0)" } ?? "")".contains("readers could disagree"), "too large, not ambiguous: \(String(describing: thrown))")
        XCTAssertLessThan(growth, 40, "the peak grew by \(growth) MiB for a \(text.count >> 20) MiB bundle")
        // A bundle of ordinary size is far below the bound.
        XCTAssertNoThrow(try SignatureBundle(jsonData: Data(try good.jsonData())))
    }
}
