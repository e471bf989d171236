import Foundation
import ModelSec

/// The deploy gate's policy step for `release verify --policy`: the policies
/// of docs/policy.md evaluated (as `modelsec audit` does) over the release
/// whose signature and release.json the gate has already authenticated.
enum ReleasePolicyStep {
    /// A step that passes when no `deny` rule of `policies` fails (warnings
    /// and waived results pass, as `modelsec audit` without --fail-on-warn).
    /// Scanner rules judge the gate's fresh scan of the plaintext, not the
    /// findings release.json records. Signature rules verify with `trust`
    /// (the gate's own --trusted-keys / --public-key) in place of the keys the
    /// policies name, exactly as `modelsec audit --trusted-keys` does.
    static func make(policies: [Policy], trust: AuditTrust?) -> DeployPolicy {
        DeployPolicy { release, freshScan in
            // Evidence comes from the authentic release.json bytes, not a second read of the file.
            let manifestPath = release.directory + "/" + ReleaseLayout.manifestFile
            let digest = SHA2.SHA256.hash(data: release.manifestBytes).bytes
            let recorded = try ManifestEvidenceLoader.evidence(
                manifest: try .init(parsing: Data(release.manifestBytes)),
                directory: release.directory, manifestPath: manifestPath,
                authenticator: ReleaseDirectoryAuthenticator(directory: release.directory, manifestDigest: digest))
            let evidence = recorded.replacingScanFindings(RecordedFinding.fromPlaintextScan(freshScan, note: "scanned at the gate"))
            let report = PolicyEvaluator.audit(releases: [evidence], policies: policies, trust: trust)
            let failures = report.results.filter { $0.status == .failure }
            if failures.isEmpty {
                return .init(passed: true, detail: report.totals.line)
            }
            let reasons = failures.map { "\($0.policy)/\($0.ruleID): \($0.message)" }.joined(separator: "; ")
            return .init(passed: false, detail: "\(failures.count) deny rule\(failures.count == 1 ? "" : "s") failed: \(reasons)")
        }
    }
}

extension CLI {
    /// The signature trust given on the command line (`--trusted-keys DIR`
    /// and `--public-key PUB.pem`, together), as policies' signature rules
    /// use it in place of the keys they name; nil when neither was given.
    /// `modelsec audit` and the deploy gate's policy step both take it from here.
    static func signatureTrust(trustedKeys: String?, publicKeys: [String]) throws -> AuditTrust? {
        guard trustedKeys != nil || !publicKeys.isEmpty else { return nil }
        var keys: [PublicKey] = []
        var origins: [String] = []
        if let trustedKeys {
            keys += try loadTrustedKeys(directory: trustedKeys, publicKeyFiles: []).keys
            origins.append("--trusted-keys \(trustedKeys)")
        }
        if !publicKeys.isEmpty {
            keys += try loadTrustedKeys(directory: nil, publicKeyFiles: publicKeys).keys
            origins.append("--public-key " + publicKeys.joined(separator: ", "))
        }
        return AuditTrust(keys: keys, origin: origins.joined(separator: "; "))
    }

    /// The signature trust of `--trusted-keys DIR` (when `directory` is
    /// given) or `--public-key` files. A key that cannot verify signatures
    /// (an X25519 encryption key) is a usage error when given by
    /// `--public-key`; in a directory it is left out, and a directory with
    /// no other key is a usage error, so a mix-up is never reported as an
    /// "untrusted signer".
    static func loadTrustedKeys(directory: String?, publicKeyFiles: [String]) throws -> TrustedKeys {
        if let directory {
            let all: [PublicKey]
            do { all = try TrustedKeys(directory: directory).keys } catch let error as FileError where CLI.isDirectory(directory) == false {
                throw HintedError(underlying: error, hint: "--trusted-keys takes a directory of public keys; for one key file use --public-key \(CLI.shellQuoted(directory))")
            }
            let signing = all.filter { $0.algorithm.canSign }
            guard !signing.isEmpty else {
                throw CLIError(.invalidArguments, "\(directory): --trusted-keys holds only x25519 keys, which cannot verify signatures; put the signers' public keys (ed25519 or ECDSA, the .pub of the --signing-key / --key) there", path: directory)
            }
            return TrustedKeys(signing)
        }
        var keys: [PublicKey] = []
        for path in publicKeyFiles {
            let loaded: [PublicKey]
            do { loaded = try TrustedKeys(publicKeyFiles: [path]).keys } catch let error as FileError where CLI.isDirectory(path) == true {
                throw HintedError(underlying: error, hint: "--public-key takes one key file; for a directory of keys use --trusted-keys \(CLI.shellQuoted(path))")
            }
            if loaded.contains(where: { !$0.algorithm.canSign }) {
                throw CLIError(.invalidArguments, "\(path): an x25519 key cannot verify signatures; --public-key needs the signer's public key (ed25519 or ECDSA, the .pub of the signing key)", path: path)
            }
            keys += loaded
        }
        return TrustedKeys(keys)
    }

    /// Whether `path` is a directory (following symbolic links); nil when
    /// nothing is there.
    static func isDirectory(_ path: String) -> Bool? {
        var directory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &directory) else { return nil }
        return directory.boolValue
    }
}
