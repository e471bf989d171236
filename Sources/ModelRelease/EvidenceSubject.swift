import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSigning

/// What the evidence files (BOM, provenance) describe: the released model
/// files and the model card. Built from the artifacts `release create`
/// hashed, before release.json is written (release.json lists the evidence
/// files, so they cannot name release.json's own digest).
public struct EvidenceSubject: Sendable {
    /// One model file.
    public struct File: Sendable, Equatable {
        /// Its release path.
        public let path: String
        /// Plaintext size in bytes.
        public let size: UInt64
        /// Lowercase hex SHA-256 of the plaintext.
        public let sha256: String
    }

    /// The release name.
    public let name: String
    /// The release version.
    public let version: String
    /// The creation time, as release.json records it (RFC 3339, UTC).
    public let createdAt: String
    /// `ModelSecVersion.current`.
    public let toolVersion: String
    /// The model files, sorted by path (byte order), as release.json lists them.
    public let files: [File]
    /// The model card, if one was given.
    public let card: ModelCard?

    /// The subject of `artifacts` (release.json's artifact entries).
    public init(name: String, version: String, createdAt: String, artifacts: [ReleaseManifest.Artifact], card: ModelCard?,
                toolVersion: String = ModelSecVersion.current) {
        self.name = name
        self.version = version
        self.createdAt = createdAt
        self.toolVersion = toolVersion
        files = artifacts.map { File(path: $0.path, size: $0.size, sha256: $0.sha256) }
        self.card = card
    }

    /// The OMS manifest digest of the model files alone (lowercase hex): the
    /// SHA-256 of their SHA-256 digests concatenated in path order, which is
    /// the subject digest `model_signing` (files method) computes for the
    /// deployed model directory without its `.modelsec/` directory.
    public var omsDigest: String {
        ModelSigning.subjectDigest(of: files.map { Hex.decode($0.sha256) ?? [] }).hex
    }
}

/// The JSON conventions of every evidence file: built as ``MetadataValue``
/// trees, written pretty with sorted keys, unescaped slashes and a final newline.
enum EvidenceJSON {
    /// The canonical bytes of `value`.
    static func encode(_ value: MetadataValue) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    /// An object of the members whose value is not nil.
    static func object(_ members: [(String, MetadataValue?)]) -> MetadataValue {
        var object: [String: MetadataValue] = [:]
        for (key, value) in members { if let value { object[key] = value } }
        return .object(object)
    }

    /// A number as text: integers without a fraction, others in Swift's shortest round-trip form.
    static func numberText(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
