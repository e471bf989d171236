import Foundation
import ModelScanner
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys

/// Builds `ReleaseEvidence` from a release directory's `release.json`
/// (format `modelsec-release/v1`, docs/release-format.md). Which fields feed
/// which facts is listed in docs/policy.md ("Evidence").
public struct ManifestEvidenceLoader: ReleaseEvidenceLoader {
    /// Makes the authenticator for a release directory (the release module's verifier).
    /// It receives the directory and the SHA-256 of the release.json bytes the evidence was parsed from.
    public let authenticatorFactory: @Sendable (_ directory: String, _ manifestDigest: [UInt8]) -> any ReleaseAuthenticator

    /// A loader that verifies signatures with the authenticators `authenticatorFactory` makes.
    public init(authenticatorFactory: @escaping @Sendable (_ directory: String, _ manifestDigest: [UInt8]) -> any ReleaseAuthenticator) {
        self.authenticatorFactory = authenticatorFactory
    }

    /// The manifest's file name inside a release directory.
    public static let manifestFile = "release.json"
    /// The first 8 bytes of every file in the modelsec encryption format (docs/encryption-format.md).
    static let encryptedMagic: [UInt8] = Array("MSECENC".utf8) + [0]

    public func load(directory: String) throws -> ReleaseEvidence {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AuditError.notADirectory(path: directory)
        }
        let manifestPath = (directory as NSString).appendingPathComponent(Self.manifestFile)
        var isLink = stat()
        if lstat(manifestPath, &isLink) != 0, errno == ENOENT {
            throw AuditError.noManifest(directory: directory, manifest: manifestPath)
        }
        let bytes = try FileIO.readRegularFile(manifestPath)
        // Read one way before anything is hashed: release.json is parsed before
        // its signature is checked, so an unsigned one must not be able to
        // stall the audit (a key of combining marks) or mean two things.
        let manifest: JSONValue
        do { manifest = try JSONValue(parsing: Data(bytes)) } catch let ambiguity as UnambiguousJSON.Ambiguity {
            throw AuditError.manifestNotJSON(manifest: manifestPath, reason: ambiguity.reason)
        } catch {
            throw AuditError.manifestNotJSON(manifest: manifestPath)
        }
        let digest = SHA2.SHA256.hash(data: bytes)
        return try Self.evidence(manifest: manifest, directory: directory, manifestPath: manifestPath,
                                 authenticator: authenticatorFactory(directory, digest.bytes), manifestSHA256: digest.hex)
    }

    /// Extracts the facts from a parsed manifest. Throws an `AuditError` when name
    /// or version is missing (without them the release cannot be identified or
    /// waived). `manifestSHA256` is the hex SHA-256 of the release.json bytes
    /// (the bytes the release signature covers), when the caller has them.
    public static func evidence(manifest: JSONValue, directory: String, manifestPath: String,
                                authenticator: any ReleaseAuthenticator, manifestSHA256: String? = nil) throws -> ReleaseEvidence {
        guard manifest.objectValue != nil else { throw AuditError.manifestNotObject(manifest: manifestPath) }
        guard let name = manifest["name"]?.stringValue, !name.isEmpty else { throw AuditError.manifestUnidentified(manifest: manifestPath, missing: "name") }
        guard let version = manifest["version"]?.stringValue, !version.isEmpty else { throw AuditError.manifestUnidentified(manifest: manifestPath, missing: "version") }

        let created = manifest["createdAt"]?.stringValue.flatMap(parseTimestamp)
        let signerKeyID = manifest["signer"]?["keyId"]?.stringValue.map { ExactString($0).asciiLowercased.string }
        let signatureAlgorithms = manifest["signer"]?["algorithm"]?.stringValue.map { [$0] } ?? []
        let encryption = manifest["encryption"]
        let cipher = encryption?["cipher"]?.stringValue
        let encryptionDeclared = encryption?["format"]?.stringValue != nil && cipher != nil

        var artifacts: [ArtifactFact] = []
        var hashes = Set<String>()
        for entry in manifest["artifacts"]?.arrayValue ?? [] {
            let path = entry["path"]?.stringValue ?? "?"
            if entry["sha256"]?.stringValue != nil { hashes.insert("sha256") }
            var encrypted = false
            if encryptionDeclared, let stored = entry["encryptedPath"]?.stringValue, isInsideRelease(stored) {
                encrypted = hasEncryptedMagic((directory as NSString).appendingPathComponent(stored))
            }
            let stored = entry["encryptedPath"]?.stringValue ?? path
            artifacts.append(ArtifactFact(path: stored, encrypted: encrypted, encryptionAlgorithm: encrypted ? cipher : nil))
        }

        let dp = manifest["dpReport"]
        let hasDP = dp != nil && dp?.isNull == false
        let (epsilon, delta) = dp.map(dpParameters) ?? (nil, nil)

        var storedPathByModelPath: [ExactString: String] = [:]
        for entry in manifest["artifacts"]?.arrayValue ?? [] {
            if let path = entry["path"]?.stringValue, let stored = entry["encryptedPath"]?.stringValue { storedPathByModelPath[ExactString(path)] = stored }
        }
        var findings: [RecordedFinding]?
        if let scan = manifest["scan"], !scan.isNull {
            findings = (scan["findings"]?.arrayValue ?? []).map { f in
                let file = f["path"]?.stringValue ?? ""
                let location = f["location"]?.stringValue ?? ""
                let shown = location.isEmpty || ExactString(location) == ExactString(file) ? file : "\(file):\(location)"
                return RecordedFinding(severity: f["severity"]?.stringValue ?? "error", kind: f["kind"]?.stringValue ?? "unknown",
                                       location: shown, storedPath: storedPathByModelPath[ExactString(file)], message: f["message"]?.stringValue ?? "")
            }
        }

        return ReleaseEvidence(directory: directory, manifestPath: manifestPath, manifest: manifest, name: name, version: version,
                               createdAt: created, signerKeyID: signerKeyID, signatureAlgorithms: signatureAlgorithms,
                               hashAlgorithms: hashes.sorted(), artifacts: artifacts, dpEpsilon: epsilon, dpDelta: delta,
                               hasDPReport: hasDP, scanFindings: findings, authenticator: authenticator, manifestSHA256: manifestSHA256)
    }

    /// epsilon and delta from a DP report: top-level `epsilon`/`delta` (DP-SGD
    /// accounting), else `cost.epsilon`/`cost.delta` (a `modelsec dp release`
    /// result), else `total.epsilon`/`total.delta`.
    static func dpParameters(_ report: JSONValue) -> (Double?, Double?) {
        for container in [report, report["cost"], report["total"]].compactMap({ $0 }) {
            let e = container["epsilon"]?.numberValue
            let d = container["delta"]?.numberValue
            if e != nil || d != nil { return (e, d) }
        }
        return (nil, nil)
    }

    /// True when `path`, judged on its UTF-8 bytes, names a file inside the
    /// release directory: relative, and split on the byte `/` no component is
    /// empty, `.`, `..` or holds NUL. (A split on `Character`s misses the `..`
    /// in `../\u{301}x`: the slash and the combining mark are one grapheme.)
    static func isInsideRelease(_ path: String) -> Bool {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { return false }
        return bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).allSatisfy { component in
            !component.isEmpty && !component.contains(0)
                && !component.elementsEqual(".".utf8) && !component.elementsEqual("..".utf8)
        }
    }

    static func parseTimestamp(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let d = formatter.date(from: text) { return d }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    static func hasEncryptedMagic(_ path: String) -> Bool {
        // Non-blocking, regular files only: a FIFO in its place is "not encrypted", never a hang.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
        var head = [UInt8](repeating: 0, count: encryptedMagic.count)
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return n == encryptedMagic.count && head == encryptedMagic
    }
}

/// An authenticator for when no signature verifier is available: every check fails closed.
public struct UnavailableAuthenticator: ReleaseAuthenticator {
    /// Why verification is unavailable.
    public let reason: String
    /// Fails every verification with `reason`.
    public init(reason: String) { self.reason = reason }
    public func authenticate(trusting trustedKeys: [PublicKey]) -> AuthenticityVerdict { .failed(reason: reason) }
}
