import Foundation
import ModelRelease
import ModelSecCrypto
import ModelSecIO
import ModelSigning

/// The outcome of checking a release's signature against a set of trusted keys.
public enum AuthenticityVerdict: Sendable, Equatable {
    /// The signature and the signed `release.json` verify with the key `keyID`.
    case verified(keyID: String)
    /// They verify with the key `keyID` of a certificate (`subject`, its
    /// subject alternative names `identities`) that chains to trusted roots.
    case certified(keyID: String, subject: String, identities: [String])
    /// They do not (or could not be checked); `reason` says why.
    case failed(reason: String)
}

/// Verifies a release's signature for real. The release module provides the
/// implementation; tests can substitute their own.
public protocol ReleaseAuthenticator: Sendable {
    /// Verifies the release against `trustedKeys` (the keys a policy rule names).
    func authenticate(trusting trustedKeys: [PublicKey]) -> AuthenticityVerdict
    /// Verifies the release by the certificate method: the chain its
    /// signature carries leads to `trust`'s roots (with its identity), and
    /// the signing certificate's key verifies the release.
    func authenticate(certifiedBy trust: CertificateTrust) -> AuthenticityVerdict
}

extension ReleaseAuthenticator {
    /// Evidence that cannot be checked by certificate (the default) fails.
    public func authenticate(certifiedBy trust: CertificateTrust) -> AuthenticityVerdict {
        .failed(reason: "this release's signature cannot be checked by certificate")
    }
}

/// One artifact as `release.json` records it.
public struct ArtifactFact: Sendable, Codable, Hashable {
    /// The artifact's path relative to the release directory (the stored, encrypted file).
    public let path: String
    /// Whether it is recorded as encrypted.
    public let encrypted: Bool
    /// The encryption algorithm recorded for it, if any.
    public let encryptionAlgorithm: String?

    /// Describes one artifact.
    public init(path: String, encrypted: Bool, encryptionAlgorithm: String?) {
        self.path = path
        self.encrypted = encrypted
        self.encryptionAlgorithm = encryptionAlgorithm
    }
}

/// A scanner finding as recorded in `release.json`.
public struct RecordedFinding: Sendable, Codable, Hashable {
    /// `dangerous`, `suspicious` or `error` (the scanner's `FindingSeverity`).
    public let severity: String
    /// The finding kind (e.g. `dangerous-global`).
    public let kind: String
    /// The model file (and archive entry) it concerns, for people.
    public let location: String
    /// The stored file in the release directory that holds the model file
    /// (its encrypted artifact), when known.
    public let storedPath: String?
    /// The scanner's one-line message.
    public let message: String

    /// Describes one finding.
    public init(severity: String, kind: String, location: String, storedPath: String? = nil, message: String) {
        self.severity = severity
        self.kind = kind
        self.location = location
        self.storedPath = storedPath
        self.message = message
    }
}

/// What a policy judges about one release: the parsed `release.json` (for field
/// conditions) plus the facts the built-in checks need, and a way to verify the
/// release's signature. Build it with a `ReleaseEvidenceLoader` or by hand.
public struct ReleaseEvidence: Sendable {
    /// The release directory.
    public let directory: String
    /// The path of `release.json` (SARIF locations point at it).
    public let manifestPath: String
    /// The whole `release.json`.
    public let manifest: JSONValue
    /// The release name.
    public let name: String
    /// The release version.
    public let version: String
    /// When the release was created, if recorded.
    public let createdAt: Date?
    /// The key id of the signer as recorded (authenticated only by `authenticator`).
    public let signerKeyID: String?
    /// Signature algorithms used (e.g. `ecdsa-p256-sha256`, `ed25519`).
    public let signatureAlgorithms: [String]
    /// Hash algorithms used (e.g. `sha256`).
    public let hashAlgorithms: [String]
    /// The artifacts.
    public let artifacts: [ArtifactFact]
    /// The DP report's epsilon and delta, when the release has a DP report.
    public let dpEpsilon: Double?
    /// See `dpEpsilon`.
    public let dpDelta: Double?
    /// Whether a DP report is present at all.
    public let hasDPReport: Bool
    /// The scanner findings, or nil when the release records no scan.
    public let scanFindings: [RecordedFinding]?
    /// Verifies the signature.
    public let authenticator: any ReleaseAuthenticator
    /// Lowercase hex SHA-256 of the `release.json` bytes the evidence came from
    /// (what the release signature covers), when known. Reports show it so
    /// that two copies of `name@version` that differ are told apart.
    public let manifestSHA256: String?

    /// `name@version`, what waiver patterns match.
    public var identifier: String { "\(name)@\(version)" }

    /// The model-card metadata: release.json's `modelCard` object (null when absent).
    public var metadata: JSONValue { evidence(manifest["modelCard"]) }

    private func evidence(_ value: JSONValue?) -> JSONValue { value ?? .null }

    /// The encryption algorithms of the artifacts.
    public var encryptionAlgorithms: [String] { Array(Set(artifacts.compactMap(\.encryptionAlgorithm))).sorted() }

    /// Assembles evidence.
    public init(directory: String, manifestPath: String, manifest: JSONValue, name: String, version: String,
                createdAt: Date?, signerKeyID: String?, signatureAlgorithms: [String], hashAlgorithms: [String],
                artifacts: [ArtifactFact], dpEpsilon: Double?, dpDelta: Double?, hasDPReport: Bool,
                scanFindings: [RecordedFinding]?, authenticator: any ReleaseAuthenticator, manifestSHA256: String? = nil) {
        self.directory = directory
        self.manifestPath = manifestPath
        self.manifest = manifest
        self.name = name
        self.version = version
        self.createdAt = createdAt
        self.signerKeyID = signerKeyID
        self.signatureAlgorithms = signatureAlgorithms
        self.hashAlgorithms = hashAlgorithms
        self.artifacts = artifacts
        self.dpEpsilon = dpEpsilon
        self.dpDelta = dpDelta
        self.hasDPReport = hasDPReport
        self.scanFindings = scanFindings
        self.authenticator = authenticator
        self.manifestSHA256 = manifestSHA256
    }
}

/// Turns a release directory into evidence. Throws a `ModelSecError` with
/// category `.invalidInput` when the release cannot be read (audit exit code 2).
public protocol ReleaseEvidenceLoader: Sendable {
    /// Loads the release in `directory`.
    func load(directory: String) throws -> ReleaseEvidence
}

extension ReleaseEvidence {
    /// The same evidence with `findings` in place of the scanner findings
    /// release.json records: how the deploy gate and `audit --identity` make
    /// the policy judge what they scanned themselves.
    public func replacingScanFindings(_ findings: [RecordedFinding]) -> ReleaseEvidence {
        ReleaseEvidence(directory: directory, manifestPath: manifestPath, manifest: manifest,
                        name: name, version: version, createdAt: createdAt,
                        signerKeyID: signerKeyID, signatureAlgorithms: signatureAlgorithms,
                        hashAlgorithms: hashAlgorithms, artifacts: artifacts,
                        dpEpsilon: dpEpsilon, dpDelta: dpDelta, hasDPReport: hasDPReport,
                        scanFindings: findings, authenticator: authenticator, manifestSHA256: manifestSHA256)
    }
}

extension RecordedFinding {
    /// The findings of a scan made from the decrypted plaintext (the deploy
    /// gate's `scan` step), each pointing at its artifact's encrypted file;
    /// `note` is put before each message to say where they come from.
    public static func fromPlaintextScan(_ scan: ReleaseManifest.ScanResult, note: String) -> [RecordedFinding] {
        scan.findings.map {
            RecordedFinding(severity: $0.severity, kind: $0.kind, location: $0.location,
                            storedPath: ReleaseLayout.encryptedPath(for: $0.path), message: "(\(note)) " + $0.message)
        }
    }
}
