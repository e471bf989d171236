import Foundation
import ModelRelease
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys

/// The checks over a release's evidence files (ML-BOM and provenance, read
/// through ``EvidenceDocuments``). docs/policy.md documents each one.
enum EvidenceCheckEvaluator {
    static func evaluate(_ check: ConfiguredCheck, _ evidence: ReleaseEvidence) -> CheckOutcome {
        let bomFile = (evidence.directory as NSString).appendingPathComponent(ReleaseLayout.cycloneDXFile)
        let provenanceFile = (evidence.directory as NSString).appendingPathComponent(ReleaseLayout.provenanceFile)
        func pass(_ m: String, _ file: String) -> CheckOutcome { CheckOutcome(passed: true, message: m, files: [evidence.manifestPath, file]) }
        func fail(_ m: String, _ file: String) -> CheckOutcome { CheckOutcome(passed: false, message: m, files: [evidence.manifestPath, file]) }

        switch check {
        case let .licenses(allowed, denied, includeDatasets):
            let bom: JSONValue
            switch EvidenceDocuments.bom(evidence) {
            case let .failure(problem): return fail(problem.message, bomFile)
            case let .success(value): bom = value
            }
            var judged = [EvidenceDocuments.model(bom)]
            if includeDatasets { judged += EvidenceDocuments.datasets(bom) }
            var accepted: [String] = []
            for component in judged {
                let name = EvidenceDocuments.label(component)
                guard let text = EvidenceDocuments.licenseExpression(component) else {
                    return fail("\(name) declares no licence (exactly one SPDX expression expected)", bomFile)
                }
                let expression: SPDXExpression
                do { expression = try SPDXExpression(text) } catch {
                    return fail("\(name): licence \"\(text)\" is not an SPDX expression: \(error)", bomFile)
                }
                guard let choice = expression.acceptableChoice(allowed: allowed, denied: denied) else {
                    return fail("\(name): licence \(expression) has no choice that the policy allows", bomFile)
                }
                accepted.append("\(name): \(choice.map(\.description).joined(separator: " AND "))")
            }
            return pass("licences allowed (\(accepted.joined(separator: "; ")))", bomFile)

        case let .datasetsHashed(minimum):
            let bom: JSONValue
            switch EvidenceDocuments.bom(evidence) {
            case let .failure(problem): return fail(problem.message, bomFile)
            case let .success(value): bom = value
            }
            let datasets = EvidenceDocuments.datasets(bom)
            guard datasets.count >= minimum else {
                return fail("the ML-BOM declares \(datasets.count) data set(s); the policy requires at least \(minimum)", bomFile)
            }
            let unhashed = datasets.filter { EvidenceDocuments.sha256($0).map(isHex64) != true }
            guard unhashed.isEmpty else {
                return fail("data set(s) without a SHA-256: \(unhashed.map(EvidenceDocuments.label).joined(separator: ", "))", bomFile)
            }
            return pass("\(datasets.count) data set(s), each with a SHA-256", bomFile)

        case let .requiredMetrics(requirements):
            let bom: JSONValue
            switch EvidenceDocuments.bom(evidence) {
            case let .failure(problem): return fail(problem.message, bomFile)
            case let .success(value): bom = value
            }
            let recorded = EvidenceDocuments.model(bom)["modelCard"]?["quantitativeAnalysis"]?["performanceMetrics"]?.arrayValue ?? []
            var problems: [String] = []
            for requirement in requirements {
                let values = recorded.filter { $0["type"]?.stringValue.map { Array($0.utf8) == Array(requirement.metric.utf8) } == true }
                    .map { $0["value"]?.stringValue }
                guard !values.isEmpty else { problems.append("no \(requirement.metric) recorded"); continue }
                for text in values {
                    guard let text, let value = Double(text), value.isFinite else {
                        problems.append("\(requirement.metric) is recorded as \"\(text ?? "nothing")\", not a number")
                        continue
                    }
                    if !requirement.comparison.holds(value, requirement.bound) {
                        problems.append("\(requirement.metric) = \(text), required \(requirement)")
                    }
                }
            }
            if problems.isEmpty { return pass("metrics meet \(requirements.map(\.description).joined(separator: ", "))", bomFile) }
            return fail(problems.joined(separator: "; "), bomFile)

        case let .provenanceBuilder(allowed, prefixes):
            let statement: JSONValue
            switch EvidenceDocuments.provenance(evidence) {
            case let .failure(problem): return fail(problem.message, provenanceFile)
            case let .success(value): statement = value
            }
            guard let builder = statement["predicate"]?["runDetails"]?["builder"]?["id"]?.stringValue else {
                return fail("the provenance names no builder (runDetails.builder.id)", provenanceFile)
            }
            if allowed.contains(ExactString(builder)) || prefixes.contains(where: { Array(builder.utf8).starts(with: Array($0.utf8)) }) {
                return pass("built by \(builder), an allowed builder", provenanceFile)
            }
            return fail("built by \(quoted(builder)), which is not an allowed builder", provenanceFile)

        case .provenanceSubject:
            let statement: JSONValue
            switch EvidenceDocuments.provenance(evidence) {
            case let .failure(problem): return fail(problem.message, provenanceFile)
            case let .success(value): statement = value
            }
            // Both sides keyed by exact bytes: a String-keyed map would merge NFC and NFD names.
            var released: [[UInt8]: String] = [:]
            for artifact in evidence.manifest["artifacts"]?.arrayValue ?? [] {
                guard let path = artifact["path"]?.stringValue, let sha = artifact["sha256"]?.stringValue else { continue }
                released[Array(path.utf8)] = sha
            }
            var subjects: [[UInt8]: String] = [:]
            for subject in statement["subject"]?.arrayValue ?? [] {
                guard let name = subject["name"]?.stringValue, let sha = subject["digest"]?["sha256"]?.stringValue else {
                    return fail("a provenance subject has no name or SHA-256 digest", provenanceFile)
                }
                guard subjects.updateValue(sha, forKey: Array(name.utf8)) == nil else {
                    return fail("the provenance names \(quoted(name)) twice", provenanceFile)
                }
            }
            guard !released.isEmpty else { return fail("release.json lists no artifacts", provenanceFile) }
            for (path, sha) in released.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                let name = quoted(String(decoding: path, as: UTF8.self))
                guard let subject = subjects.removeValue(forKey: path) else { return fail("released file \(name) is not a provenance subject", provenanceFile) }
                guard Array(subject.utf8) == Array(sha.utf8) else { return fail("released file \(name) has a different SHA-256 in the provenance", provenanceFile) }
            }
            if let extra = subjects.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }).first {
                return fail("the provenance names \(quoted(String(decoding: extra, as: UTF8.self))), which is not a released file", provenanceFile)
            }
            return pass("the provenance's \(released.count) subject(s) are exactly the released files", provenanceFile)

        case let .baseModelTrusted(digests, releases, keys, unresolved, required):
            let bom: JSONValue
            switch EvidenceDocuments.bom(evidence) {
            case let .failure(problem): return fail(problem.message, bomFile)
            case let .success(value): bom = value
            }
            let bases = (bom["components"]?.arrayValue ?? []).filter { $0["type"]?.stringValue == "machine-learning-model" }
            guard let base = bases.first else {
                return required ? fail("the ML-BOM names no base model", bomFile) : pass("no base model declared (not required)", bomFile)
            }
            guard bases.count == 1 else { return fail("the ML-BOM names \(bases.count) base models; one is expected", bomFile) }
            guard let digest = EvidenceDocuments.sha256(base), isHex64(digest) else {
                return fail("the base model \(EvidenceDocuments.label(base)) has no SHA-256 release digest", bomFile)
            }
            if digests.contains(ExactString(digest)) || digests.contains(ExactString("sha256:" + digest)) {
                return pass("base model \(EvidenceDocuments.label(base)) is the approved release sha256:\(digest)", bomFile)
            }
            if !unresolved.isEmpty, keys.isEmpty {
                return fail("base model releases cannot be verified: \(unresolved.joined(separator: ", ")) names an environment variable that is not set", bomFile)
            }
            let trusted = TrustedKeys(keys)
            for directory in releases {
                guard case let .authentic(release) = ReleaseAuthentication.check(directory: directory, trustedKeys: trusted) else { continue }
                if Array(release.subjectDigest.lowercased().utf8) == Array(digest.utf8) {
                    return pass("base model \(EvidenceDocuments.label(base)) is \(release.manifest.name)@\(release.manifest.version) (\(directory)), signed by trusted key \(release.signerKeyID)", bomFile)
                }
            }
            return fail("base model \(EvidenceDocuments.label(base)) (sha256:\(digest)) is neither an approved digest nor a release the policy names that a trusted key signed", bomFile)

        default:
            return fail("not an evidence check", evidence.manifestPath)
        }
    }

    /// `text` quoted as release.json's own errors quote a path (``ReleaseManifest/quoted(_:)``),
    /// so a message shows which bytes a name holds.
    static func quoted(_ text: String) -> String { ReleaseManifest.quoted(text) }

    static func isHex64(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
