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
/// `@unchecked Sendable`: `DeployRequest` (the trusted keys and identities) is not
/// `Sendable`; the template is never mutated, and every gate run holds `lock`.
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
        // The gate scans the decrypted files itself (its `scan` step); its
        // findings are used even when it then refuses the release (for
        // example because release.json hides one of them).
        let findings: [RecordedFinding]
        switch gate {
        case let .failure(error):
            findings = [RecordedFinding(severity: "error", kind: "rescan-failed", location: directory, message: "\(error)")]
        case let .success(report):
            if let scan = report.scan {
                findings = RecordedFinding.fromPlaintextScan(scan, note: "rescanned")
            } else {
                findings = [RecordedFinding(severity: "error", kind: "rescan-failed", location: directory,
                                            message: "could not decrypt for rescanning: \(report.failedStep.map { "\($0.name.rawValue): \($0.detail)" } ?? report.summary)")]
            }
        }
        return recorded.replacingScanFindings(findings)
    }
}

/// A private temporary directory, removed by `remove()`.
struct TemporaryScratch {
    let path: String
    init() throws {
        var template = Array((NSTemporaryDirectory() + "/modelsec-rescan-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw AuditError.scratchUnavailable(path: NSTemporaryDirectory()) }
        path = String(cString: made)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
