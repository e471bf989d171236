import ModelScanner
import ModelSecIO

extension ReleaseManifest.ScanResult {
    /// The record of a scan of a walked model: every finding of every
    /// scanned file, filed under `releasePath(file)`. Reports arrive attached
    /// to their files, so no finding can be lost to a path that fails to
    /// match; a location that names the file on disk is rewritten to name
    /// the release path instead, and any other location is kept as it is.
    init(scan: ModelTreeScan, releasePath: (ModelTree.File) -> ModelPath) {
        var findings: [ReleaseManifest.Finding] = []
        for entry in scan.scanned {
            let path = releasePath(entry.file).string
            let shown = Array(entry.report.path.utf8)
            for finding in entry.report.findings {
                let location = Array(finding.location.utf8)
                let relative = location.starts(with: shown)
                    ? path + String(decoding: location.dropFirst(shown.count), as: UTF8.self)
                    : finding.location
                findings.append(.init(path: path, severity: finding.severity.rawValue, kind: finding.kind.rawValue,
                                      location: relative, global: finding.global, message: finding.message))
            }
        }
        // Files read through a reference but not in the tree as spelled: the
        // path as found, made relative to the tree's root when it lies under it.
        for report in scan.unattached {
            let shown = Array(report.path.utf8)
            let rootPrefix = Array(scan.root.utf8) + [UInt8(ascii: "/")]
            let path = shown.starts(with: rootPrefix) ? String(decoding: shown.dropFirst(rootPrefix.count), as: UTF8.self) : report.path
            for finding in report.findings {
                findings.append(.init(path: path, severity: finding.severity.rawValue, kind: finding.kind.rawValue,
                                      location: finding.location, global: finding.global, message: finding.message))
            }
        }
        self.init(tool: "modelsec-scan \(ModelSecVersion.current)", scannedFiles: scan.scanned.count + scan.unattached.count, findings: findings)
    }

    /// The findings of `self` that `recorded` does not have, compared as a
    /// multiset on file, severity, kind, global and location as exact bytes
    /// (messages and scanner versions may differ): a second dangerous import
    /// in the same file is a finding the record lacks, even when the first
    /// is recorded. What a deploy gate's fresh scan of the plaintext found
    /// that the releaser's record did not.
    func findingsNotIn(_ recorded: ReleaseManifest.ScanResult) -> [ReleaseManifest.Finding] {
        func key(_ f: ReleaseManifest.Finding) -> [UInt8] {
            Array("\(f.path)\u{0}\(f.severity)\u{0}\(f.kind)\u{0}\(f.global ?? "")\u{0}\(f.location)".utf8)
        }
        var available: [[UInt8]: Int] = [:]
        for finding in recorded.findings { available[key(finding), default: 0] += 1 }
        return findings.filter { finding in
            let k = key(finding)
            guard let count = available[k], count > 0 else { return true }
            available[k] = count - 1
            return false
        }
    }

    /// "1 dangerous, 2 error" style counts by severity, or "no finding".
    var severityCounts: String { Self.severityCounts(findings) }

    static func severityCounts(_ findings: [ReleaseManifest.Finding]) -> String {
        guard !findings.isEmpty else { return "no finding" }
        var counts: [(String, Int)] = []
        for finding in findings {
            if let index = counts.firstIndex(where: { Array($0.0.utf8) == Array(finding.severity.utf8) }) {
                counts[index].1 += 1
            } else {
                counts.append((finding.severity, 1))
            }
        }
        return counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
    }
}
