import Foundation
import ModelRelease
import ModelScanner
import ModelSecCrypto
import ModelSecKeys
import ModelSigning
import Yams
import ModelSecIO

/// Validates one rule's `params` for its check and builds the `ConfiguredCheck`,
/// reporting unknown, missing and bad parameters with their lines.
struct CheckParameterParser {
    let d: DiagnosticSink
    let params: Node.Mapping
    /// Where to point when a required parameter is missing.
    let at: Mark?
    let baseDirectory: String
    let rule: String

    func parse(_ kind: CheckKind) -> ConfiguredCheck? {
        let before = d.problemCount
        let check: ConfiguredCheck?
        switch kind {
        case .signedByTrustedKey:
            allow(["keys", "key_ids", "ca_roots", "certificate_identity", "certificate_oidc_issuer", "crls"])
            // `keys` or `ca_roots` is required: without either nothing can be verified.
            let files: [String]
            if params["ca_roots"] == nil {
                files = required("keys").flatMap { d.stringList($0, "keys") } ?? []
            } else {
                files = optional("keys").flatMap { d.stringList($0, "keys") } ?? []
            }
            let ids = optional("key_ids").flatMap { d.stringList($0, "key_ids") } ?? []
            if params["keys"] != nil, files.isEmpty { d.report(at: params["keys"]?.mark, "rule '\(rule)': 'keys' is empty") }
            let (keys, unresolved) = loadKeys(files, key: "keys", purpose: "trusted keys")
            check = .signedByTrustedKey(keys: keys, keyIDs: Set(ids.map { ExactString($0).asciiLowercased }), unresolved: unresolved,
                                        certificates: certificateTrust())
        case .artifactsEncrypted:
            allow([])
            check = .artifactsEncrypted
        case .allowedAlgorithms:
            allow(["signature", "hash", "encryption"])
            let sig = optional("signature").flatMap { d.stringList($0, "signature") }
            let hash = optional("hash").flatMap { d.stringList($0, "hash") }
            let enc = optional("encryption").flatMap { d.stringList($0, "encryption") }
            if params["signature"] == nil, params["hash"] == nil, params["encryption"] == nil { missing("signature', 'hash' or 'encryption") }
            func exactSet(_ names: [String]) -> Set<ExactString> { Set(names.map { ExactString($0).asciiLowercased }) }
            check = .allowedAlgorithms(signature: sig.map(exactSet), hash: hash.map(exactSet), encryption: enc.map(exactSet))
        case .requiredMetadata:
            allow(["fields"])
            var paths: [FieldPath] = []
            if case let (node, fields)? = requiredList("fields") {
                for f in fields {
                    do { paths.append(try FieldPath(parsing: f)) } catch { d.report(at: node.mark, "rule '\(rule)': \(error)") }
                }
                for path in paths { noteUnknownCardField(path.components.first, at: node.mark) }
            }
            check = .requiredMetadata(fields: paths)
        case .field:
            allow(["path", "exists", "equals", "one_of", "matches", "at_most", "at_least"])
            var path: FieldPath?
            if let node = required("path"), let text = d.string(node, "path") {
                do { path = try FieldPath(parsing: text) } catch { d.report(at: node.mark, "rule '\(rule)': \(error)") }
                if let components = path?.components, components.first == .key("modelCard"), components.count > 1 {
                    noteUnknownCardField(components[1], at: node.mark)
                }
            }
            var conditions: [FieldCondition] = []
            if let n = optional("exists"), let b = d.bool(n, "exists") { conditions.append(.exists(b)) }
            if let n = optional("equals") {
                if n.scalar == nil { d.report(at: n.mark, "'equals' must be a single value") } else { conditions.append(.equals(d.jsonValue(n))) }
            }
            if let n = optional("one_of") {
                if let seq = n.sequence, !seq.isEmpty { conditions.append(.oneOf(seq.map(d.jsonValue))) } else { d.report(at: n.mark, "'one_of' must be a non-empty list") }
            }
            if let n = optional("matches"), let pattern = d.string(n, "matches") {
                do { _ = try NSRegularExpression(pattern: pattern); conditions.append(.matches(pattern)) } catch {
                    d.report(at: n.mark, "'matches' is not a valid regular expression: \(pattern)")
                }
            }
            if let n = optional("at_most"), let v = d.number(n, "at_most") { conditions.append(.atMost(v)) }
            if let n = optional("at_least"), let v = d.number(n, "at_least") { conditions.append(.atLeast(v)) }
            if ["exists", "equals", "one_of", "matches", "at_most", "at_least"].allSatisfy({ params[$0] == nil }) {
                missing("exists', 'equals', 'one_of', 'matches', 'at_most' or 'at_least")
            }
            check = path.map { .field(path: $0, conditions: conditions) }
        case .dpLimits:
            allow(["max_epsilon", "max_delta", "required"])
            var eps: Double?, delta: Double?
            if let n = optional("max_epsilon"), let v = d.number(n, "max_epsilon") {
                if v <= 0 { d.report(at: n.mark, "'max_epsilon' must be greater than 0") }
                eps = v
            }
            if let n = optional("max_delta"), let v = d.number(n, "max_delta") {
                if v < 0 || v >= 1 { d.report(at: n.mark, "'max_delta' must be in [0, 1)") }
                delta = v
            }
            if params["max_epsilon"] == nil, params["max_delta"] == nil { missing("max_epsilon' or 'max_delta") }
            let req = optional("required").flatMap { d.bool($0, "required") } ?? true
            check = .dpLimits(maxEpsilon: eps, maxDelta: delta, required: req)
        case .noUnsafeSerialization:
            allow(["fail_on", "require_scan"])
            var failOn: Set<FindingSeverity> = [.dangerous, .suspicious, .error]
            if let n = optional("fail_on"), let list = d.stringList(n, "fail_on") {
                failOn = []
                for s in list {
                    if let sev = FindingSeverity(exactRawValue: s) { failOn.insert(sev) } else {
                        d.report(at: n.mark, "'fail_on' entry '\(s)' is not a scanner severity (dangerous, suspicious, error)")
                    }
                }
                if list.isEmpty { d.report(at: n.mark, "'fail_on' is empty") }
            }
            let requireScan = optional("require_scan").flatMap { d.bool($0, "require_scan") } ?? true
            check = .noUnsafeSerialization(failOn: failOn, requireScan: requireScan)
        case .maxAge:
            allow(["days"])
            var seconds: Double?
            if let n = required("days"), let v = d.number(n, "days") {
                if v <= 0 { d.report(at: n.mark, "'days' must be greater than 0") }
                seconds = v * 86_400
            }
            check = seconds.map { .maxAge(seconds: $0, text: "\(JSONValue.number($0 / 86_400)) days") }
        case .keyNotRevoked:
            allow(["key_ids", "keys", "list_file"])
            var ids = Set((optional("key_ids").flatMap { d.stringList($0, "key_ids") } ?? []).map { ExactString($0).asciiLowercased })
            let files = optional("keys").flatMap { d.stringList($0, "keys") } ?? []
            let (keys, unresolved) = loadKeys(files, key: "keys", purpose: "revoked keys")
            ids.formUnion(keys.map { ExactString($0.keyID) })
            var unresolvedReferences = unresolved
            if let n = optional("list_file"), let file = d.string(n, "list_file") {
                switch resolve(file, key: "list_file", purpose: "revoked-keys list") {
                case let .unset(reference)?:
                    unresolvedReferences.append(reference)
                case let .path(resolved, origin)?:
                    if let listed = readRevokedList(file: file, resolved: resolved, origin: origin, at: n.mark) { ids.formUnion(listed) }
                case nil:
                    break
                }
            }
            if params["key_ids"] == nil, params["keys"] == nil, params["list_file"] == nil { missing("key_ids', 'keys' or 'list_file") }
            check = .keyNotRevoked(keyIDs: ids, unresolved: unresolvedReferences)
        case .licenses:
            allow(["allowed", "denied", "include_datasets"])
            let allowed = optional("allowed").flatMap { d.stringList($0, "allowed") }
            let denied = optional("denied").flatMap { d.stringList($0, "denied") } ?? []
            if params["allowed"] == nil, params["denied"] == nil { missing("allowed' or 'denied") }
            for (key, entries) in [("allowed", allowed ?? []), ("denied", denied)] {
                for entry in entries where !Self.isLicenseTerm(entry) {
                    d.report(at: params[key]?.mark, "rule '\(rule)': '\(key)' entry '\(entry)' is not an SPDX licence identifier, exception, LicenseRef or 'ID WITH EXCEPTION'")
                }
            }
            let includeDatasets = optional("include_datasets").flatMap { d.bool($0, "include_datasets") } ?? true
            check = .licenses(allowed: allowed.map { Set($0) }, denied: Set(denied), includeDatasets: includeDatasets)
        case .datasetsHashed:
            allow(["min_count"])
            var minimum = 1
            if let n = optional("min_count"), let v = d.number(n, "min_count") {
                if v < 0 || v != v.rounded() || v > 1_000_000 { d.report(at: n.mark, "rule '\(rule)': 'min_count' must be a whole number from 0 to 1000000") } else { minimum = Int(v) }
            }
            check = .datasetsHashed(minimum: minimum)
        case .requiredMetrics:
            allow(["metrics"])
            var requirements: [MetricRequirement] = []
            if case let (node, entries)? = requiredList("metrics") {
                for entry in entries {
                    if let requirement = MetricRequirement(parsing: entry) { requirements.append(requirement) } else {
                        d.report(at: node.mark, "rule '\(rule)': 'metrics' entry '\(entry)' is not NAME OP NUMBER with OP one of >=, <=, >, <, == (e.g. 'accuracy >= 0.9')")
                    }
                }
            }
            check = .requiredMetrics(requirements)
        case .provenanceBuilder:
            allow(["allowed", "allowed_prefixes"])
            let allowed = optional("allowed").flatMap { d.stringList($0, "allowed") } ?? []
            let prefixes = optional("allowed_prefixes").flatMap { d.stringList($0, "allowed_prefixes") } ?? []
            if params["allowed"] == nil, params["allowed_prefixes"] == nil { missing("allowed' or 'allowed_prefixes") }
            if allowed.isEmpty, prefixes.isEmpty, params["allowed"] != nil || params["allowed_prefixes"] != nil {
                d.report(at: at, "rule '\(rule)': no builder is allowed ('allowed' and 'allowed_prefixes' are empty)")
            }
            for prefix in prefixes where (!prefix.contains("://") && !prefix.hasPrefix("urn:")) || prefix.contains("${") {
                d.report(at: params["allowed_prefixes"]?.mark, "rule '\(rule)': 'allowed_prefixes' entry '\(prefix)' must be a URI prefix with its scheme (e.g. https://ci.example.com/; variables are not expanded here)")
            }
            check = .provenanceBuilder(allowed: Set(exactly: Set(allowed)), prefixes: prefixes)
        case .provenanceSubject:
            allow([])
            check = .provenanceSubject
        case .baseModelTrusted:
            allow(["digests", "releases", "keys", "required"])
            var digests = Set<ExactString>()
            if let n = optional("digests"), let list = d.stringList(n, "digests") {
                for entry in list {
                    let hex = entry.hasPrefix("sha256:") ? String(entry.dropFirst(7)) : entry
                    if EvidenceCheckEvaluator.isHex64(hex) { digests.insert(ExactString(hex)) } else {
                        d.report(at: n.mark, "rule '\(rule)': 'digests' entry '\(entry)' is not sha256: and 64 lowercase hex digits")
                    }
                }
            }
            var releases: [String] = []
            var unresolvedReferences: [String] = []
            for file in optional("releases").flatMap({ d.stringList($0, "releases") }) ?? [] {
                switch resolve(file, key: "releases", purpose: "base model release") {
                case let .path(resolved, _)?: releases.append(resolved)
                case let .unset(reference)?: unresolvedReferences.append(reference)
                case nil: break
                }
            }
            let files = optional("keys").flatMap { d.stringList($0, "keys") } ?? []
            let (keys, unresolvedKeys) = loadKeys(files, key: "keys", purpose: "trusted keys for base model releases")
            if params["releases"] != nil, params["keys"] == nil { missing("keys") }
            if params["digests"] == nil, params["releases"] == nil { missing("digests' or 'releases") }
            let requiredBase = optional("required").flatMap { d.bool($0, "required") } ?? false
            check = .baseModelTrusted(digests: digests, releases: releases, keys: keys,
                                      unresolved: unresolvedReferences + unresolvedKeys, required: requiredBase)
        }
        return d.problemCount == before ? check : nil
    }

    /// Notes a model-card field name that is not in the model-card schema
    /// (compared as exact bytes): releases made now never have it.
    private func noteUnknownCardField(_ component: FieldPath.Component?, at mark: Mark?) {
        guard case let .key(name)? = component,
              !ModelCardSchema.fieldNames.contains(where: { Array($0.utf8) == Array(name.utf8) }) else { return }
        d.note(at: mark, "rule '\(rule)': '\(name)' is not a model-card field (\(ModelCardSchema.fieldNames.joined(separator: ", "))); only releases made before the schema can have it")
    }

    /// True for one SPDX licence term: an identifier, a LicenseRef, or `ID WITH EXCEPTION`.
    static func isLicenseTerm(_ text: String) -> Bool {
        switch try? SPDXExpression(text) {
        case .license?, .with?: return true
        default: return false
        }
    }

    /// The largest revoked-keys list read (16 MiB: a few hundred thousand ids).
    static let maximumListFileSize = 16 << 20

    /// Reports every parameter that is not exactly (byte for byte) one of `names`.
    private func allow(_ names: Set<String>) {
        let exact = Set(exactly: names)
        for key in params.keys {
            guard let k = key.string else { continue }
            if !exact.contains(ExactString(k)) {
                let hint = names.isEmpty ? "this check takes no parameters" : "allowed: \(names.sorted().joined(separator: ", "))"
                d.report(at: key.mark, "rule '\(rule)': unknown parameter '\(k)' (\(hint))")
            }
        }
    }

    private func optional(_ key: String) -> Node? {
        guard let n = params[key] else { return nil }
        if n.tagName == .null { d.report(at: n.mark, "rule '\(rule)': parameter '\(key)' has no value"); return nil }
        return n
    }

    private func required(_ key: String) -> Node? {
        if params[key] == nil { missing(key); return nil }
        return optional(key)
    }

    /// The required list of strings `key` with its node, an empty list
    /// reported; nil (reported) when it is missing or not a list of strings.
    private func requiredList(_ key: String) -> (node: Node, entries: [String])? {
        guard let node = required(key), let entries = d.stringList(node, key) else { return nil }
        if entries.isEmpty { d.report(at: node.mark, "rule '\(rule)': '\(key)' is empty") }
        return (node, entries)
    }

    private func missing(_ key: String) {
        d.report(at: at, "rule '\(rule)': missing parameter '\(key)'")
    }

    /// Where a path named in a policy was taken from, for messages.
    enum PathOrigin {
        /// Written in the policy (or a variable's default): relative to the policy's directory.
        case policy
        /// A variable's value: relative to the working directory.
        case environment
    }

    /// A path parameter after variable expansion.
    enum Resolved {
        /// The path to open, and where it came from.
        case path(String, PathOrigin)
        /// It names an unset variable (without default): the text as written.
        case unset(String)
    }

    /// Expands `${NAME}` / `${NAME:-default}` from the environment (so a shipped
    /// policy can name a deployment's trust directory), then resolves relative
    /// paths against the policy's directory (unless the path starts with a
    /// variable's value, which is relative to the working directory).
    ///
    /// An unset variable without a default is not a problem in the policy, which
    /// `policy lint` checks whatever the environment: it is reported as a note,
    /// and the rule records the reference (it fails closed when evaluated).
    /// nil (reported) when the text is malformed.
    private func resolve(_ file: String, key: String, purpose: String) -> Resolved? {
        var text = file
        var leadingFromEnvironment = false
        var unset: [String] = []
        while let start = text.range(of: "${") {
            guard let end = text[start.upperBound...].firstIndex(of: "}") else {
                d.report(at: params[key]?.mark, "rule '\(rule)': unterminated '${' in '\(file)'")
                return nil
            }
            let inner = String(text[start.upperBound..<end])
            let parts = inner.components(separatedBy: ":-")
            let name = parts[0]
            let value: String
            if let v = ProcessInfo.processInfo.environment[name], !v.isEmpty {
                value = v
                if start.lowerBound == text.startIndex { leadingFromEnvironment = true }
            } else if parts.count > 1 {
                value = parts.dropFirst().joined(separator: ":-")
            } else {
                unset.append(name)
                value = ""
            }
            text.replaceSubrange(start.lowerBound...end, with: value)
        }
        if !unset.isEmpty {
            let names = unset.joined(separator: ", ")
            d.note(at: params[key]?.mark, "rule '\(rule)': environment variable \(names) is not set here, so '\(file)' names no \(purpose); the rule fails when evaluated without it")
            return .unset(file)
        }
        // A path that starts with an environment value is the user's (relative to the
        // working directory); literal paths and defaults belong to the policy.
        if leadingFromEnvironment { return .path(text, .environment) }
        if text.utf8.first == UInt8(ascii: "/") || baseDirectory.isEmpty { return .path(text, .policy) }
        return .path((baseDirectory as NSString).appendingPathComponent(text), .policy)
    }

    /// A path named in the policy, with the path tried when they differ:
    /// `'revoked-keys.txt' (relative paths are resolved against the policy file's directory; tried '/etc/p/revoked-keys.txt')`.
    private func describe(_ file: String, resolved: String, origin: PathOrigin) -> String {
        if ExactString(file) == ExactString(resolved) { return "'\(file)'" }
        switch origin {
        case .policy: return "'\(file)' (relative paths are resolved against the policy file's directory; tried '\(resolved)')"
        case .environment: return "'\(file)' (from the environment; tried '\(resolved)')"
        }
    }

    /// The key ids of a revoked-keys list file, or nil (reported) when it cannot be read.
    private func readRevokedList(file: String, resolved: String, origin: PathOrigin, at mark: Mark?) -> [ExactString]? {
        let named = describe(file, resolved: resolved, origin: origin)
        guard FileManager.default.fileExists(atPath: resolved) else {
            d.report(at: mark, "rule '\(rule)': the revoked-keys list \(named) does not exist")
            return nil
        }
        do {
            let bytes = try FileIO.readFile(resolved, limit: Self.maximumListFileSize)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                d.report(at: mark, "rule '\(rule)': the revoked-keys list \(named) is not UTF-8 text")
                return nil
            }
            return ListFile.entries(text, comments: .anywhere).map(\.asciiLowercased)
        } catch {
            d.report(at: mark, "rule '\(rule)': cannot read the revoked-keys list \(named): \((error as? FileError)?.reason ?? "unreadable")")
            return nil
        }
    }

    /// The certificate trust of a `signed-by-trusted-key` rule: `ca_roots`
    /// (PEM files of root certificates, relative to the policy), with
    /// `certificate_identity` (a subject alternative name the signing
    /// certificate must hold, compared as exact bytes),
    /// `certificate_oidc_issuer` and `crls` (PEM or DER files). Nil when the
    /// rule has no `ca_roots`; the identity options without it are reported.
    private func certificateTrust() -> CertificateRule? {
        let identity = optional("certificate_identity").flatMap { d.string($0, "certificate_identity") }
        let issuer = optional("certificate_oidc_issuer").flatMap { d.string($0, "certificate_oidc_issuer") }
        let crlFiles = optional("crls").flatMap { d.stringList($0, "crls") } ?? []
        guard let rootsNode = optional("ca_roots") else {
            for name in ["certificate_identity", "certificate_oidc_issuer", "crls"] where params[name] != nil {
                d.report(at: params[name]?.mark, "rule '\(rule)': '\(name)' needs 'ca_roots' (the roots the signing certificate must chain to)")
            }
            return nil
        }
        let rootFiles = d.stringList(rootsNode, "ca_roots") ?? []
        if rootFiles.isEmpty { d.report(at: rootsNode.mark, "rule '\(rule)': 'ca_roots' is empty") }
        if identity == nil, issuer == nil {
            // Any certificate under the roots would do: a policy should say whose.
            d.note(at: rootsNode.mark, "rule '\(rule)': 'ca_roots' without 'certificate_identity' or 'certificate_oidc_issuer' trusts every certificate those roots issue")
        }
        var roots: [X509Certificate] = []
        var crls: [[UInt8]] = []
        var unresolved: [String] = []
        for (key, files) in [("ca_roots", rootFiles), ("crls", crlFiles)] {
            for file in files {
                let resolution = resolve(file, key: key, purpose: key == "crls" ? "revocation list" : "CA roots")
                if case let .unset(reference)? = resolution { unresolved.append(reference); continue }
                guard case let .path(resolved, origin)? = resolution else { continue }
                let named = describe(file, resolved: resolved, origin: origin)
                guard FileManager.default.fileExists(atPath: resolved) else {
                    d.report(at: params[key]?.mark, "rule '\(rule)': \(key == "crls" ? "the revocation list" : "the CA roots file") \(named) does not exist")
                    continue
                }
                do {
                    let bytes = try FileIO.readFile(resolved, limit: 4 << 20)
                    if key == "crls" {
                        // PEM (one or more CRLs) or a single DER CRL.
                        if let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN") {
                            crls += try X509ChainVerifier.crls(pem: text)
                        } else {
                            crls.append(bytes)
                        }
                    } else {
                        guard let text = String(validating: bytes, as: UTF8.self) else {
                            d.report(at: params[key]?.mark, "rule '\(rule)': the CA roots file \(named) is not PEM text")
                            continue
                        }
                        roots += try X509Certificate.chain(pem: text)
                    }
                } catch {
                    d.report(at: params[key]?.mark, "rule '\(rule)': cannot load \(named): \((error as? FileError)?.reason ?? "\(error)")")
                }
            }
        }
        return CertificateRule(trust: CertificateTrust(roots: roots, crls: crls, identity: identity, oidcIssuer: issuer),
                               unresolved: unresolved)
    }

    /// Loads public keys from files, or from every *.pub / *.pem in a directory;
    /// also returns the references that name an unset variable.
    private func loadKeys(_ files: [String], key: String, purpose: String) -> ([PublicKey], [String]) {
        var keys: [PublicKey] = []
        var unresolved: [String] = []
        for file in files {
            switch resolve(file, key: key, purpose: purpose) {
            case nil:
                continue
            case let .unset(reference)?:
                unresolved.append(reference)
            case let .path(resolved, origin)?:
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
                    d.report(at: params[key]?.mark, "rule '\(rule)': the key file or directory \(describe(file, resolved: resolved, origin: origin)) does not exist")
                    continue
                }
                do {
                    if isDirectory.boolValue {
                        keys.append(contentsOf: try TrustedKeys(directory: resolved).keys)
                    } else {
                        keys.append(try KeyFile.loadPublicKey(resolved))
                    }
                } catch {
                    d.report(at: params[key]?.mark, "rule '\(rule)': cannot load public key(s) from \(describe(file, resolved: resolved, origin: origin)): \(error)")
                }
            }
        }
        return (keys, unresolved)
    }
}
