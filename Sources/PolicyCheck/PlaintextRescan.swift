import Foundation
import ModelRelease
import ModelScanner
import ModelSecIO
import ModelSecKeys

/// Evidence with the scanner findings recomputed from the plaintext: each
/// release is put through the deploy gate (signature, release.json, decryption
/// with plaintext digests checked) into a temporary directory, scanned there,
/// and the temporary copy is removed. The recorded `scan` of release.json is
/// replaced by the fresh findings; a release that fails the gate gets a single
/// `error` finding saying why, so `no-unsafe-serialization` fails closed.
public struct RescanningEvidenceLoader: ReleaseEvidenceLoader, @unchecked Sendable {
    /// Loads the recorded evidence.
    public let base: any ReleaseEvidenceLoader
    /// The deploy-gate request to reuse (trusted keys and identities); its
    /// release directory and output are replaced for each release.
    private let template: DeployRequest
    /// Decryption runs one release at a time (identities are shared).
    private let lock = NSLock()

    /// Rescans with the trusted keys and identities of `template`.
    public init(base: any ReleaseEvidenceLoader, template: DeployRequest) {
        self.base = base
        var template = template
        template.token = nil
        template.policy = nil
        template.showProgress = false
        self.template = template
    }

    public func load(directory: String) throws -> ReleaseEvidence {
        let recorded = try base.load(directory: directory)
        let scratch = try TemporaryScratch()
        defer { scratch.remove() }
        var request = template
        request.releaseDirectory = directory
        request.output = scratch.path + "/model"
        lock.lock()
        let gate = Result { try DeployGate.run(request) }
        lock.unlock()
        let findings: [RecordedFinding]
        switch gate {
        case let .failure(error):
            findings = [RecordedFinding(severity: "error", kind: "rescan-failed", location: directory, message: "\(error)")]
        case let .success(report) where !report.deployed:
            findings = [RecordedFinding(severity: "error", kind: "rescan-failed", location: directory,
                                        message: "could not decrypt for rescanning: \(report.failedStep.map { "\($0.name.rawValue): \($0.detail)" } ?? report.summary)")]
        case .success:
            let scan = ModelScanner.scan(paths: [request.output])
            let prefix = request.output + "/"
            var stored: [ExactString: String] = [:]
            for artifact in recorded.manifest["artifacts"]?.arrayValue ?? [] {
                if let p = artifact["path"]?.stringValue, let e = artifact["encryptedPath"]?.stringValue { stored[ExactString(p)] = e }
            }
            findings = scan.files.flatMap { file in
                file.findings.map { f in
                    let location = f.location.utf8.starts(with: prefix.utf8)
                        ? String(decoding: f.location.utf8.dropFirst(prefix.utf8.count), as: UTF8.self) : f.location
                    let modelPath = String(decoding: location.utf8.prefix { $0 != UInt8(ascii: ":") }, as: UTF8.self)
                    return RecordedFinding(severity: f.severity.rawValue, kind: f.kind.rawValue, location: location,
                                           storedPath: stored[ExactString(modelPath)], message: "(rescanned) " + f.message)
                }
            }
        }
        return ReleaseEvidence(directory: recorded.directory, manifestPath: recorded.manifestPath, manifest: recorded.manifest,
                               name: recorded.name, version: recorded.version, createdAt: recorded.createdAt,
                               signerKeyID: recorded.signerKeyID, signatureAlgorithms: recorded.signatureAlgorithms,
                               hashAlgorithms: recorded.hashAlgorithms, artifacts: recorded.artifacts,
                               dpEpsilon: recorded.dpEpsilon, dpDelta: recorded.dpDelta, hasDPReport: recorded.hasDPReport,
                               scanFindings: findings, authenticator: recorded.authenticator)
    }
}

/// A private temporary directory, removed by `remove()`.
struct TemporaryScratch {
    let path: String
    init() throws {
        var template = Array((NSTemporaryDirectory() + "/modelsec-rescan-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw FileError(path: NSTemporaryDirectory(), reason: "cannot create a temporary directory") }
        path = String(cString: made)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
