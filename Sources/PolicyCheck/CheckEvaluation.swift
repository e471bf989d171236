import Foundation
import ModelSigning
import ModelScanner
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys

/// What one check concluded about one release, before waivers.
public struct CheckOutcome: Sendable, Equatable {
    /// Whether the release satisfies the check.
    public let passed: Bool
    /// Why, for a person.
    public let message: String
    /// Files inside the release the outcome concerns (absolute or as given); the
    /// manifest when nothing more precise applies.
    public let files: [String]
}

extension ConfiguredCheck {
    /// Runs the check over `evidence` at time `now`. Signature checks use
    /// `trust` in place of the policy's keys when it is given.
    public func evaluate(_ evidence: ReleaseEvidence, now: Date, trust: AuditTrust? = nil) -> CheckOutcome {
        let manifest = [evidence.manifestPath]
        func pass(_ m: String, _ files: [String]? = nil) -> CheckOutcome { CheckOutcome(passed: true, message: m, files: files ?? manifest) }
        func fail(_ m: String, _ files: [String]? = nil) -> CheckOutcome { CheckOutcome(passed: false, message: m, files: files ?? manifest) }
        func artifactFile(_ path: String) -> String { (evidence.directory as NSString).appendingPathComponent(path) }

        switch self {
        case let .signedByTrustedKey(policyKeys, keyIDs, unresolved, certificates):
            let keys = trust?.keys ?? policyKeys
            let source = trust.map { "trusted keys given to the audit: \($0.origin)" } ?? "trusted keys named by the policy"
            // Trust by CA roots (the rule's own, whatever keys the audit was given).
            var certificateProblem: String?
            if let rule = certificates, !rule.unresolved.isEmpty {
                certificateProblem = "the rule's ca_roots/crls take \(rule.unresolved.joined(separator: ", ")), whose environment variable is not set"
            } else if let rule = certificates {
                var pki = rule.trust
                pki.time = now
                switch evidence.authenticator.authenticate(certifiedBy: pki) {
                case let .certified(keyID, subject, identities):
                    if !keyIDs.isEmpty, !keyIDs.contains(ExactString(keyID).asciiLowercased) {
                        return fail("signed by key \(keyID) (certificate \(subject)), which is not among the key ids the rule allows")
                    }
                    let named = identities.isEmpty ? "" : ", identity \(identities.joined(separator: ", "))"
                    return pass("signature verified with the certificate \(subject)\(named), issued under the rule's CA roots (key \(keyID))")
                case let .verified(keyID):
                    if !keyIDs.isEmpty, !keyIDs.contains(ExactString(keyID).asciiLowercased) {
                        return fail("signed by key \(keyID), which is not among the key ids the rule allows")
                    }
                    return pass("signature verified with key \(keyID) certified under the rule's CA roots")
                case let .failed(reason):
                    certificateProblem = reason
                }
            }
            if let certificateProblem, keys.isEmpty {
                return fail("signature not verified by the rule's CA roots: \(certificateProblem)")
            }
            guard !keys.isEmpty else {
                if let trust { return fail("no trusted keys: the audit was given \(trust.origin), which holds no public key") }
                if !unresolved.isEmpty {
                    return fail("no trusted keys: the policy takes them from \(unresolved.joined(separator: ", ")), whose environment variable is not set, and the audit was given none")
                }
                return fail("no trusted keys: the policy names none and the audit was given none")
            }
            switch evidence.authenticator.authenticate(trusting: keys) {
            case let .failed(reason):
                let byRoots = certificateProblem.map { "; nor by the rule's CA roots: \($0)" } ?? ""
                return fail("signature not verified (\(source)): \(reason)\(byRoots)")
            case let .verified(keyID), let .certified(keyID, _, _):
                if !keyIDs.isEmpty, !keyIDs.contains(ExactString(keyID).asciiLowercased) {
                    return fail("signed by key \(keyID), which is not among the key ids the rule allows")
                }
                return pass("signature verified with trusted key \(keyID) (\(source))")
            }

        case .artifactsEncrypted:
            guard !evidence.artifacts.isEmpty else { return fail("the release records no artifacts") }
            let plain = evidence.artifacts.filter { !$0.encrypted }
            if plain.isEmpty { return pass("all \(evidence.artifacts.count) artifact(s) are encrypted") }
            return fail("not encrypted: \(plain.map(\.path).joined(separator: ", "))", plain.map { artifactFile($0.path) })

        case let .allowedAlgorithms(signature, hash, encryption):
            var problems: [String] = []
            func judge(_ label: String, _ used: [String], _ allowed: Set<ExactString>?) {
                guard let allowed else { return }
                if used.isEmpty { problems.append("no \(label) algorithm recorded"); return }
                let bad = used.filter { !allowed.contains(ExactString($0).asciiLowercased) }
                if !bad.isEmpty { problems.append("\(label) algorithm \(bad.joined(separator: ", ")) not in allowed list [\(allowed.sorted().map(\.string).joined(separator: ", "))]") }
            }
            judge("signature", evidence.signatureAlgorithms, signature)
            judge("hash", evidence.hashAlgorithms, hash)
            judge("encryption", evidence.encryptionAlgorithms, encryption)
            if problems.isEmpty { return pass("algorithms allowed") }
            return fail(problems.joined(separator: "; "))

        case let .requiredMetadata(fields):
            let metadata = evidence.metadata
            let missing = fields.filter { $0.values(in: metadata).isEmpty }
            if missing.isEmpty { return pass("model card has \(fields.map(\.description).joined(separator: ", "))") }
            return fail("model card (modelCard) is missing \(missing.map(\.description).joined(separator: ", "))")

        case let .field(path, conditions):
            let values = path.values(in: evidence.manifest)
            for condition in conditions {
                if let problem = FieldConditionEvaluator.problem(condition, values: values, path: path) { return fail(problem) }
            }
            return pass("\(path) satisfies \(conditions.map(\.description).joined(separator: ", "))")

        case let .dpLimits(maxEpsilon, maxDelta, required):
            guard evidence.hasDPReport else {
                return required ? fail("the release has no DP report") : pass("no DP report (not required)")
            }
            var problems: [String] = []
            if let maxEpsilon {
                if let e = evidence.dpEpsilon { if !(e <= maxEpsilon) { problems.append("epsilon \(JSONValue.number(e)) exceeds \(JSONValue.number(maxEpsilon))") } } else { problems.append("the DP report records no epsilon") }
            }
            if let maxDelta {
                if let d = evidence.dpDelta { if !(d <= maxDelta) { problems.append("delta \(JSONValue.number(d)) exceeds \(JSONValue.number(maxDelta))") } } else { problems.append("the DP report records no delta") }
            }
            if problems.isEmpty {
                return pass("epsilon \(evidence.dpEpsilon.map { JSONValue.number($0).description } ?? "-"), delta \(evidence.dpDelta.map { JSONValue.number($0).description } ?? "-") within limits")
            }
            return fail(problems.joined(separator: "; "))

        case let .noUnsafeSerialization(failOn, requireScan):
            guard let findings = evidence.scanFindings else {
                return requireScan ? fail("the release records no scanner results") : pass("no scanner results (not required)")
            }
            let bad = findings.filter { FindingSeverity(exactRawValue: $0.severity).map(failOn.contains) ?? true }
            if bad.isEmpty { return pass("scanner: \(findings.count) finding(s), none of severity \(failOn.map(\.rawValue).sorted().joined(separator: "/"))") }
            let shown = bad.prefix(3).map { "\($0.severity) \($0.kind) in \($0.location): \($0.message)" }.joined(separator: "; ")
            let more = bad.count > 3 ? " (and \(bad.count - 3) more)" : ""
            let files = Set(bad.compactMap { $0.storedPath.map { ExactString(artifactFile($0)) } }).sorted().map(\.string)
            return fail("\(bad.count) unsafe finding(s): \(shown)\(more)", manifest + files)

        case let .maxAge(seconds, text):
            guard let created = evidence.createdAt else { return fail("the release records no creation time") }
            let age = now.timeIntervalSince(created)
            let days = (age / 86_400 * 10).rounded() / 10
            if age <= seconds { return pass("created \(days) day(s) ago (limit \(text))") }
            return fail("created \(days) day(s) ago, older than \(text)")

        case let .keyNotRevoked(keyIDs, unresolved):
            guard unresolved.isEmpty else {
                return fail("revocation cannot be checked: \(unresolved.joined(separator: ", ")) names an environment variable that is not set")
            }
            guard let signer = evidence.signerKeyID else { return fail("the release records no signer key id") }
            if keyIDs.contains(ExactString(signer).asciiLowercased) { return fail("signing key \(signer) is revoked") }
            return pass("signing key \(signer) is not revoked")

        case .licenses, .datasetsHashed, .requiredMetrics, .provenanceBuilder, .provenanceSubject, .baseModelTrusted:
            return EvidenceCheckEvaluator.evaluate(self, evidence)
        }
    }
}

/// Field conditions over the values a path reaches.
enum FieldConditionEvaluator {
    /// nil when the condition holds; otherwise why it does not.
    static func problem(_ condition: FieldCondition, values: [JSONValue], path: FieldPath) -> String? {
        if case let .exists(expected) = condition {
            if expected == !values.isEmpty { return nil }
            return expected ? "\(path) is missing" : "\(path) is present but must not be"
        }
        guard !values.isEmpty else { return "\(path) is missing" }
        for value in values {
            if !holds(condition, value) { return "\(path) = \(value) does not satisfy \(condition)" }
        }
        return nil
    }

    static func holds(_ condition: FieldCondition, _ value: JSONValue) -> Bool {
        switch condition {
        case .exists: return true
        case let .equals(expected): return equal(value, expected)
        case let .oneOf(options): return options.contains { equal(value, $0) }
        case let .matches(pattern):
            guard let s = value.stringValue, let regex = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return false }
            return regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
        case let .atMost(bound): return value.numberValue.map { $0 <= bound } ?? false
        case let .atLeast(bound): return value.numberValue.map { $0 >= bound } ?? false
        }
    }

    /// Exact equality, except that a YAML scalar written unquoted as a number or
    /// bool also equals the same text in a JSON string (`version: 2` vs `"2"` is
    /// NOT equal: types must match; numbers compare numerically).
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.number(x), .number(y)): return x == y
        default: return a == b
        }
    }
}
