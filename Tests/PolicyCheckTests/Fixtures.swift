import Foundation
import ModelSecCrypto
@testable import PolicyCheck
import TestSupport
import XCTest
import ModelSecIO

/// An authenticator that accepts exactly one key id (standing in for a real
/// signature check in unit tests; the end-to-end tests use real signatures).
struct StubAuthenticator: ReleaseAuthenticator {
    let signedBy: String?
    func authenticate(trusting trustedKeys: [PublicKey]) -> AuthenticityVerdict {
        guard let signedBy else { return .failed(reason: "stub: bad signature") }
        return trustedKeys.contains { $0.keyID == signedBy } ? .verified(keyID: signedBy) : .failed(reason: "stub: signer not trusted")
    }
}

/// Hand-written release directories and policies.
enum Fixtures {
    static let signerKeyID = String(repeating: "ab", count: 32)

    /// A release.json as `modelsec release create` writes it, as a mutable object.
    static func manifest(name: String = "resnet", version: String = "1.2.0", createdAt: String = "2026-11-01T12:00:00Z") -> [String: JSONValue] {
        let text = """
        {
          "format": "modelsec-release/v1",
          "name": "\(name)", "version": "\(version)", "createdAt": "\(createdAt)",
          "tool": {"name": "modelsec", "version": "0.1.0"},
          "signer": {"keyId": "\(signerKeyID)", "algorithm": "ed25519"},
          "encryption": {"format": "modelsec-encrypted/v1", "cipher": "aes-256-gcm", "chunkSize": 65536,
                         "recipients": [{"type": "x25519", "keyId": "cd"}]},
          "artifacts": [
            {"path": "model.safetensors", "size": 10, "sha256": "\(String(repeating: "0", count: 64))",
             "encryptedPath": "artifacts/model.safetensors.enc", "encryptedSize": 100},
            {"path": "config.json", "size": 2, "sha256": "\(String(repeating: "1", count: 64))",
             "encryptedPath": "artifacts/config.json.enc", "encryptedSize": 90}
          ],
          "modelCard": {"license": "apache-2.0", "owner": "ml-platform@example.com", "intended_use": "demo",
                        "training_data": ["reviews-2024"], "eval": {"accuracy": 0.93}},
          "dpReport": {"epsilon": 2.5, "delta": 1e-6, "noiseMultiplier": 1.1},
          "scan": {"tool": "modelsec-scan 0.1.0", "scannedFiles": 2, "findings": []}
        }
        """
        return try! JSONValue(parsing: Data(text.utf8)).objectValue!
    }

    /// Writes a release directory: release.json plus artifact files, encrypted
    /// (format magic) unless listed in `plaintext`.
    static func releaseDirectory(_ manifest: [String: JSONValue], in parent: URL, plaintext: Set<String> = []) throws -> URL {
        let dir = parent.appendingPathComponent("\(manifest["name"]!.stringValue!)-\(manifest["version"]!.stringValue!)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("artifacts"), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(JSONValue.object(manifest)).write(to: dir.appendingPathComponent("release.json"))
        for artifact in manifest["artifacts"]?.arrayValue ?? [] {
            guard let stored = artifact["encryptedPath"]?.stringValue else { continue }
            let bytes = plaintext.contains(stored) ? Data("plain weights".utf8) : Data("MSECENC".utf8) + Data([0, 1, 0, 0, 0])
            try bytes.write(to: dir.appendingPathComponent(stored))
        }
        return dir
    }

    /// Evidence for `manifest` written to a fresh release directory.
    static func evidence(_ manifest: [String: JSONValue], plaintext: Set<String> = [], signedBy: String? = signerKeyID) throws -> ReleaseEvidence {
        let parent = try TestSupport.makeTemporaryDirectory("policy-fixture")
        let dir = try releaseDirectory(manifest, in: parent, plaintext: plaintext)
        return try ManifestEvidenceLoader { _, _ in StubAuthenticator(signedBy: signedBy) }.load(directory: dir.path)
    }

    /// Parses policy text (base directory for key files: `base`).
    static func lint(_ yaml: String, base: String = "/nonexistent") -> PolicyLoader.LintResult {
        PolicyLoader.lint(text: yaml, path: "test.yaml", sha256: SHA2.SHA256.hash(data: Array(yaml.utf8)).hex, baseDirectory: base)
    }

    /// A one-rule policy; fails the test if it does not parse.
    static func policy(check: String, params: String = "", severity: String = "deny", waivers: String = "", base: String = "/nonexistent",
                       file: StaticString = #filePath, line: UInt = #line) throws -> Policy {
        var yaml = """
        name: t
        version: 1
        rules:
          - id: R1
            title: the rule
            severity: \(severity)
            check: \(check)

        """
        if !params.isEmpty {
            yaml += "    params:\n" + params.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n") + "\n"
        }
        yaml += waivers
        let result = lint(yaml, base: base)
        guard let policy = result.policy else {
            XCTFail("policy did not parse: \(result.diagnostics)", file: file, line: line)
            throw XCTSkip("invalid fixture")
        }
        return policy
    }

    /// Runs the single rule of `policy` on `evidence`.
    static func outcome(_ policy: Policy, _ evidence: ReleaseEvidence, now: Date = date("2026-11-29T00:00:00Z")) -> CheckOutcome {
        policy.rules[0].check.evaluate(evidence, now: now)
    }

    static func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// Sets a nested member (`path` of object keys), creating objects on the way.
    mutating func set(_ path: [String], _ value: JSONValue?) {
        guard let first = path.first else { return }
        if path.count == 1 { self[first] = value; return }
        var inner = self[first]?.objectValue ?? [:]
        inner.set(Array(path.dropFirst()), value)
        self[first] = .object(inner)
    }
}
