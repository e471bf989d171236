import Foundation
import ModelSigning
import ModelSecCrypto
import ModelScanner
import ModelSecIO
import ModelSecKeys

/// A condition that every value a field path reaches must satisfy.
public enum FieldCondition: Sendable, Hashable, CustomStringConvertible {
    /// The path reaches (true) or does not reach (false) a non-null value.
    case exists(Bool)
    /// Equal to the value (numbers compare numerically, everything else exactly).
    case equals(JSONValue)
    /// Equal to one of the values.
    case oneOf([JSONValue])
    /// A string matching the regular expression (ICU syntax, anchored to the whole string).
    case matches(String)
    /// A number ≤ the bound.
    case atMost(Double)
    /// A number ≥ the bound.
    case atLeast(Double)

    public var description: String {
        switch self {
        case let .exists(b): return "exists: \(b)"
        case let .equals(v): return "equals \(v)"
        case let .oneOf(vs): return "one of \(JSONValue.array(vs))"
        case let .matches(r): return "matches /\(r)/"
        case let .atMost(n): return "at most \(JSONValue.number(n))"
        case let .atLeast(n): return "at least \(JSONValue.number(n))"
        }
    }
}

/// A built-in check with its parameters, as a rule configures it. The YAML names
/// (`check:` values) are in `CheckKind`; docs/policy.md documents each one.
public enum ConfiguredCheck: Sendable {
    /// The release's signature verifies with one of `keys` (loaded from the files
    /// the policy names, or the audit's own trusted keys when it has some) and,
    /// if `keyIDs` is not empty, the signer is one of them (ids lowered in
    /// ASCII, compared as exact bytes). `unresolved` holds the key references
    /// that named an unset environment variable, as written. With
    /// `certificates` (the rule's `ca_roots` and identity), a release signed
    /// by the certificate method whose chain leads to those roots, for that
    /// identity, passes too.
    case signedByTrustedKey(keys: [PublicKey], keyIDs: Set<ExactString>, unresolved: [String], certificates: CertificateRule?)
    /// Every artifact is recorded as encrypted (and there is at least one artifact).
    case artifactsEncrypted
    /// The release's algorithms are in the allowed lists (nil = not
    /// constrained); names lowered in ASCII, compared as exact bytes.
    case allowedAlgorithms(signature: Set<ExactString>?, hash: Set<ExactString>?, encryption: Set<ExactString>?)
    /// Each field path exists in the model card (`modelCard` in release.json).
    case requiredMetadata(fields: [FieldPath])
    /// Conditions over a path in release.json.
    case field(path: FieldPath, conditions: [FieldCondition])
    /// The DP report's epsilon and delta are within limits.
    case dpLimits(maxEpsilon: Double?, maxDelta: Double?, required: Bool)
    /// The scanner findings recorded in the release contain no finding of the listed severities.
    case noUnsafeSerialization(failOn: Set<FindingSeverity>, requireScan: Bool)
    /// The release was created at most `seconds` ago.
    case maxAge(seconds: Double, text: String)
    /// The signing key id is not on the revoked list (ids lowered in ASCII,
    /// compared as exact bytes). `unresolved` holds the key or list references
    /// that named an unset environment variable: the check fails closed on them.
    case keyNotRevoked(keyIDs: Set<ExactString>, unresolved: [String])
    /// The model's licence expression (and, with `includeDatasets`, every data
    /// set's) in the ML-BOM has a choice of its `OR`s that uses only allowed
    /// terms (when `allowed` is given) and no denied one (``SPDXExpression``).
    case licenses(allowed: Set<String>?, denied: Set<String>, includeDatasets: Bool)
    /// The ML-BOM lists at least `minimum` data sets, each with a SHA-256.
    case datasetsHashed(minimum: Int)
    /// Each requirement holds for every value the ML-BOM records for its metric.
    case requiredMetrics([MetricRequirement])
    /// The provenance's builder id is one of `allowed` (exact bytes) or starts with one of `prefixes`.
    case provenanceBuilder(allowed: Set<ExactString>, prefixes: [String])
    /// The provenance's subjects are exactly the released files (name and SHA-256).
    case provenanceSubject
    /// The base model named in the ML-BOM is a release whose signed subject
    /// digest is in `digests`, or is the subject digest of one of the release
    /// directories `releases` that verifies with `keys`. Without a base model
    /// the check passes unless `required`.
    case baseModelTrusted(digests: Set<ExactString>, releases: [String], keys: [PublicKey], unresolved: [String], required: Bool)

    /// The check's YAML name.
    public var kind: CheckKind {
        switch self {
        case .signedByTrustedKey: return .signedByTrustedKey
        case .artifactsEncrypted: return .artifactsEncrypted
        case .allowedAlgorithms: return .allowedAlgorithms
        case .requiredMetadata: return .requiredMetadata
        case .field: return .field
        case .dpLimits: return .dpLimits
        case .noUnsafeSerialization: return .noUnsafeSerialization
        case .maxAge: return .maxAge
        case .keyNotRevoked: return .keyNotRevoked
        case .licenses: return .licenses
        case .datasetsHashed: return .datasetsHashed
        case .requiredMetrics: return .requiredMetrics
        case .provenanceBuilder: return .provenanceBuilder
        case .provenanceSubject: return .provenanceSubject
        case .baseModelTrusted: return .baseModelTrusted
        }
    }
}

/// The names of the built-in checks, as written after `check:`.
public enum CheckKind: String, Sendable, Codable, CaseIterable {
    /// The signature verifies with a trusted key.
    case signedByTrustedKey = "signed-by-trusted-key"
    /// Every artifact is encrypted.
    case artifactsEncrypted = "artifacts-encrypted"
    /// Algorithms are on allowed lists.
    case allowedAlgorithms = "allowed-algorithms"
    /// Model-card fields are present.
    case requiredMetadata = "required-metadata"
    /// Conditions over a release.json path.
    case field = "field"
    /// DP epsilon/delta within limits.
    case dpLimits = "dp-limits"
    /// No unsafe scanner findings.
    case noUnsafeSerialization = "no-unsafe-serialization"
    /// Not older than a number of days.
    case maxAge = "max-age"
    /// The signing key is not revoked.
    case keyNotRevoked = "key-not-revoked"
    /// Licences (SPDX expressions) allowed/denied.
    case licenses = "licenses"
    /// Every data set declared with a hash.
    case datasetsHashed = "datasets-hashed"
    /// Evaluation metrics present and within thresholds.
    case requiredMetrics = "required-metrics"
    /// The provenance's builder is allowed.
    case provenanceBuilder = "provenance-builder"
    /// The provenance's subject is the released files.
    case provenanceSubject = "provenance-subject"
    /// The base model is a trusted signed release.
    case baseModelTrusted = "base-model-trusted"
}

/// One `required-metrics` entry: `accuracy >= 0.9`.
public struct MetricRequirement: Sendable, Hashable, CustomStringConvertible {
    /// A comparison.
    public enum Comparison: String, Sendable, Hashable, CaseIterable {
        /// `>=`
        case atLeast = ">="
        /// `<=`
        case atMost = "<="
        /// `>`
        case above = ">"
        /// `<`
        case below = "<"
        /// `==`
        case equal = "=="

        /// Whether `value` compares so with `bound`.
        func holds(_ value: Double, _ bound: Double) -> Bool {
            switch self {
            case .atLeast: return value >= bound
            case .atMost: return value <= bound
            case .above: return value > bound
            case .below: return value < bound
            case .equal: return value == bound
            }
        }
    }

    /// The metric name, compared as exact bytes with the BOM's `performanceMetrics[].type`.
    public let metric: String
    /// The comparison.
    public let comparison: Comparison
    /// The threshold.
    public let bound: Double

    public var description: String { "\(metric) \(comparison.rawValue) \(JSONValue.number(bound))" }

    /// Parses `NAME OP NUMBER` (`accuracy >= 0.9`); nil when it is not of that form.
    public init?(parsing text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 3, let comparison = Comparison.allCases.first(where: { $0.rawValue == parts[1] }),
              let bound = Double(parts[2]), bound.isFinite else { return nil }
        metric = parts[0]
        self.comparison = comparison
        self.bound = bound
    }
}

/// The certificate trust of a `signed-by-trusted-key` rule (`ca_roots`,
/// `certificate_identity`, `certificate_oidc_issuer`, `crls`).
public struct CertificateRule: Sendable {
    /// The roots, revocation lists and identity.
    public var trust: CertificateTrust
    /// `ca_roots` / `crls` references that named an unset environment
    /// variable, as written: while there are any, the certificate path fails
    /// (a revocation list that silently went missing must not pass).
    public var unresolved: [String]

    /// A rule's certificate trust.
    public init(trust: CertificateTrust, unresolved: [String] = []) {
        self.trust = trust
        self.unresolved = unresolved
    }
}

/// Trusted signing keys given to an audit itself rather than named by a
/// policy. When an audit has them, every `signed-by-trusted-key` rule verifies
/// with these keys instead of the keys its policy names (its `key_ids` still
/// apply), and the report says so.
public struct AuditTrust: Sendable {
    /// The keys.
    public let keys: [PublicKey]
    /// Where they came from, as reports show it (for example the directory).
    public let origin: String

    /// Trust in `keys`, described in reports as `origin`.
    public init(keys: [PublicKey], origin: String) {
        self.keys = keys
        self.origin = origin
    }
}
