import Foundation
import ModelSecCrypto
import ModelSecIO

/// The content of `release.json`: what a release is, who signed it, what it
/// contains and how it is encrypted. Covered by the release signature (as the
/// resource `.modelsec/release.json`), so none of it can be edited after
/// `release create`. See docs/release-format.md.
public struct ReleaseManifest: Codable, Sendable, Equatable {
    /// The value of `format` in every release.json this version writes.
    public static let formatIdentifier = "modelsec-release/v1"

    /// One model file of the release.
    public struct Artifact: Codable, Sendable, Equatable {
        /// The file's POSIX path relative to the model directory.
        public let path: String
        /// Plaintext size in bytes.
        public let size: UInt64
        /// Lowercase hex SHA-256 of the plaintext.
        public let sha256: String
        /// The encrypted file, relative to the release directory.
        public let encryptedPath: String
        /// The encrypted file's size in bytes.
        public let encryptedSize: UInt64

        /// An artifact entry.
        public init(path: String, size: UInt64, sha256: String, encryptedPath: String, encryptedSize: UInt64) {
            self.path = path
            self.size = size
            self.sha256 = sha256
            self.encryptedPath = encryptedPath
            self.encryptedSize = encryptedSize
        }
    }

    /// The tool that made the release.
    public struct Tool: Codable, Sendable, Equatable {
        /// `modelsec`.
        public let name: String
        /// `ModelSecVersion.current` at creation.
        public let version: String
    }

    /// The signing key.
    public struct Signer: Codable, Sendable, Equatable {
        /// Lowercase hex SHA-256 of the public key's SPKI PEM text (the OMS key id).
        public let keyID: String
        /// `ed25519` or `p256`.
        public let algorithm: String

        enum CodingKeys: String, CodingKey { case keyID = "keyId", algorithm }
    }

    /// One recipient the artifacts are encrypted to.
    public struct Recipient: Codable, Sendable, Equatable {
        /// `x25519` or `symmetric-key`.
        public let type: String
        /// For `x25519`: the key id of the recipient's public key. Never set for symmetric keys.
        public let keyID: String?

        /// A recipient entry.
        public init(type: String, keyID: String?) {
            self.type = type
            self.keyID = keyID
        }

        enum CodingKeys: String, CodingKey { case type, keyID = "keyId" }
    }

    /// How the artifacts are encrypted.
    public struct Encryption: Codable, Sendable, Equatable {
        /// `modelsec-encrypted/v1`: the format of docs/encryption-format.md.
        public let format: String
        /// The cipher.
        public let cipher: String
        /// Plaintext bytes per chunk.
        public let chunkSize: Int
        /// Everyone who can decrypt, in header order.
        public let recipients: [Recipient]
    }

    /// What the model scanner found in the plaintext files at creation.
    public struct ScanResult: Codable, Sendable, Equatable {
        /// The scanner and its version.
        public let tool: String
        /// Files the scanner looked at.
        public let scannedFiles: Int
        /// Every finding (an empty list means nothing was found).
        public let findings: [Finding]

        /// A scan result.
        public init(tool: String, scannedFiles: Int, findings: [Finding]) {
            self.tool = tool
            self.scannedFiles = scannedFiles
            self.findings = findings
        }
    }

    /// One scanner finding.
    public struct Finding: Codable, Sendable, Equatable {
        /// The model file (relative path).
        public let path: String
        /// `dangerous`, `suspicious`, `error`, … as the scanner grades it.
        public let severity: String
        /// The scanner's finding kind.
        public let kind: String
        /// Where in the file (e.g. `archive/data.pkl`).
        public let location: String
        /// The imported global involved, when there is one.
        public let global: String?
        /// What the scanner says.
        public let message: String

        /// A finding.
        public init(path: String, severity: String, kind: String, location: String, global: String?, message: String) {
            self.path = path
            self.severity = severity
            self.kind = kind
            self.location = location
            self.global = global
            self.message = message
        }
    }

    /// A compliance evidence file of the release (BOM or provenance): in the
    /// release directory under `path`, signed as the resource
    /// `.modelsec/<path>` by the release signature, installed there by the gate.
    public struct EvidenceFile: Codable, Sendable, Equatable {
        /// The file name, one of ``ReleaseLayout/evidenceFiles``.
        public let path: String
        /// What it is: `cyclonedx-1.6`, `spdx-3.0.1` or `slsa-provenance-v1`.
        public let kind: String
        /// Its media type.
        public let mediaType: String
        /// Its size in bytes.
        public let size: UInt64
        /// Lowercase hex SHA-256 of its bytes.
        public let sha256: String

        /// An evidence entry for `bytes`.
        public init(path: String, kind: String, mediaType: String, bytes: [UInt8]) {
            self.path = path
            self.kind = kind
            self.mediaType = mediaType
            size = UInt64(bytes.count)
            sha256 = SHA2.SHA256.hash(data: bytes).hex
        }
    }

    /// Always ``formatIdentifier``.
    public let format: String
    /// The model's name (the NAME of `model:deploy:NAME@VERSION`).
    public let name: String
    /// The release version.
    public let version: String
    /// When the release was made (RFC 3339, UTC, whole seconds).
    public let createdAt: String
    /// The tool that made it.
    public let tool: Tool
    /// The key that signed it.
    public let signer: Signer
    /// The encryption parameters.
    public let encryption: Encryption
    /// Every model file, sorted by path (byte order).
    public let artifacts: [Artifact]
    /// The model card from `--metadata`, if given.
    public let modelCard: ModelCard?
    /// The differential-privacy report from `--dp-report`, kept verbatim, if given.
    public let dpReport: MetadataValue?
    /// The scanner's results; nil when no scanner ran.
    public let scan: ScanResult?
    /// The evidence files (BOM, provenance); absent in releases made before
    /// they existed.
    public let evidence: [EvidenceFile]?

    /// A manifest.
    public init(name: String, version: String, createdAt: Date, signer: Signer, encryption: Encryption,
                artifacts: [Artifact], modelCard: ModelCard?, dpReport: MetadataValue?, scan: ScanResult?,
                evidence: [EvidenceFile]? = nil) {
        format = Self.formatIdentifier
        self.name = name
        self.version = version
        self.createdAt = ReleaseManifest.timestamp(createdAt)
        tool = Tool(name: "modelsec", version: ModelSecVersion.current)
        self.signer = signer
        self.encryption = encryption
        self.artifacts = artifacts
        self.modelCard = modelCard
        self.dpReport = dpReport
        self.scan = scan
        self.evidence = evidence
    }

    /// The canonical bytes: pretty JSON, sorted keys, unescaped slashes, a final newline.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [UInt8(ascii: "\n")]
    }

    /// Parses release.json and checks what a reader relies on: the format,
    /// the name and version, and that every path is safe and unique.
    /// `label` names the file in errors.
    public init(jsonData data: Data, label: String = ReleaseLayout.manifestFile) throws {
        let decoded: ReleaseManifest
        do {
            // One reading for every reader: JSONDecoder keeps one of two
            // duplicate keys, Python's json the last.
            try UnambiguousJSON.check(Array(data))
            decoded = try JSONDecoder().decode(ReleaseManifest.self, from: data)
        } catch let ambiguity as UnambiguousJSON.Ambiguity {
            throw ReleaseVerificationError(path: label, reason: "not a release manifest: readers could disagree on it: \(ambiguity)")
        } catch {
            throw ReleaseVerificationError(path: label, reason: "not a release manifest: \(ReleaseManifest.describe(error))")
        }
        func bad(_ reason: String) -> ReleaseVerificationError { ReleaseVerificationError(path: label, reason: reason) }
        guard decoded.format == Self.formatIdentifier else {
            throw bad("unsupported format \"\(decoded.format)\" (expected \(Self.formatIdentifier))")
        }
        if let problem = ReleaseIdentity.problem(name: decoded.name, version: decoded.version) { throw bad(problem) }
        // Paths are judged on their bytes: Swift's String comparisons and
        // Character splitting treat canonically equivalent text as equal and
        // can hide a "/" inside a grapheme.
        var seen = Set<[UInt8]>()
        let provenance = ModelPath(ReleaseLayout.provenanceDirectory)
        let artifactsRoot = ModelPath(ReleaseLayout.artifactsDirectory)
        for artifact in decoded.artifacts {
            guard let path = ModelPath.safeRelative(artifact.path), !path.isWithin(provenance) else {
                throw bad("artifact path \(Self.quoted(artifact.path)) is not a safe relative path")
            }
            // No deeper than `release create`'s walk goes, so the gate's walk of the decrypted files reaches every one.
            guard path.components.count <= ModelTree.Options.defaultMaxDepth + 1 else {
                throw bad("artifact path \(Self.quoted(artifact.path)) is nested deeper than \(ModelTree.Options.defaultMaxDepth) directories")
            }
            guard let stored = ModelPath.safeRelative(artifact.encryptedPath), stored.isWithin(artifactsRoot),
                  stored.bytes == ReleaseLayout.encryptedPath(for: path).bytes else {
                throw bad("encrypted path \(Self.quoted(artifact.encryptedPath)) is not \(ReleaseLayout.artifactsDirectory)/<path>\(ReleaseLayout.encryptedSuffix) for \(Self.quoted(artifact.path))")
            }
            guard seen.insert(path.bytes).inserted else { throw bad("artifact \(Self.quoted(artifact.path)) is listed twice") }
            guard artifact.sha256.utf8.count == 64, artifact.sha256.utf8.allSatisfy({ ("0"..."9").contains(Character(UnicodeScalar($0))) || ("a"..."f").contains(Character(UnicodeScalar($0))) }) else {
                throw bad("artifact \"\(artifact.path)\" has a sha256 that is not 64 lowercase hex digits")
            }
        }
        var evidenceNames = Set<[UInt8]>()
        for file in decoded.evidence ?? [] {
            guard ReleaseLayout.evidenceFiles.contains(where: { Array($0.utf8) == Array(file.path.utf8) }) else {
                throw bad("evidence file \(Self.quoted(file.path)) is not one of \(ReleaseLayout.evidenceFiles.joined(separator: ", "))")
            }
            guard evidenceNames.insert(Array(file.path.utf8)).inserted else { throw bad("evidence file \(file.path) is listed twice") }
            guard ModelCardSchema.isHex64(file.sha256) else { throw bad("evidence file \(file.path) has a sha256 that is not 64 lowercase hex digits") }
        }
        self = decoded
    }

    /// `text` in double quotes with control characters, quotes, backslashes
    /// and non-ASCII escaped as `\u{…}`, so an error message shows exactly
    /// which bytes a hostile path holds. Policy checks (PolicyCheck) quote
    /// names with it too.
    package static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\"" && scalar != "\\" {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return out + "\""
    }

    /// Total plaintext bytes.
    public var totalSize: UInt64 { artifacts.reduce(0) { $0 + $1.size } }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
    }

    static func describe(_ error: Error) -> String {
        func path(_ keys: [CodingKey]) -> String { keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
        switch error {
        case let DecodingError.keyNotFound(key, context): return "missing field \(path(context.codingPath + [key]))"
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context): return "wrong type at \(path(context.codingPath))"
        case let DecodingError.dataCorrupted(context): return context.codingPath.isEmpty ? "not valid JSON" : "invalid value at \(path(context.codingPath))"
        default: return "not valid JSON"
        }
    }
}

extension ReleaseManifest {
    /// Reads `directory`/release.json WITHOUT checking the signature (for
    /// inspection; the deploy gate uses ``ReleaseAuthentication``).
    public static func read(directory: String) throws -> ReleaseManifest {
        let path = directory + "/" + ReleaseLayout.manifestFile
        let bytes: [UInt8]
        do { bytes = try FileIO.readRegularFile(path, limit: ReleaseAuthentication.maximumFileSize) } catch let error as FileError {
            throw ReleaseInputError(path: path, reason: error.reason)
        }
        do { return try ReleaseManifest(jsonData: Data(bytes), label: path) } catch let error as ReleaseVerificationError {
            throw ReleaseInputError(path: error.file, reason: error.reason)
        }
    }
}
