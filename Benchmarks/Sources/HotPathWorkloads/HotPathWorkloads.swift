// The library hot paths that `make bench-check` guards with deterministic
// thresholds: allocations (the ordo-one `HotPaths` benchmark target) and
// instruction counts (`hotpath-instructions` under callgrind). Both run
// exactly these workloads, so the two guards always measure the same code.
import Foundation
import ModelSec

/// One guarded hot path: `prepare()` builds its input once, `run()` is the
/// measured unit of work (it throws on any failure, so a guard never times
/// a path that stopped doing its job).
public struct HotPath: Sendable {
    /// The name the thresholds are filed under.
    public let name: String
    /// Builds the input (keys, files, tokens) and returns the measured unit.
    public let prepare: @Sendable (_ fixtures: Fixtures) throws -> @Sendable () throws -> Void
}

/// Inputs shared by the workloads: a scratch directory, and the PyTorch
/// checkpoint `torch.save` wrote (by Benchmarks/bench-check.sh) for the scanner.
public struct Fixtures: Sendable {
    /// A directory the workloads may write into.
    public let directory: String
    /// A PyTorch zip checkpoint written by the real `torch.save`.
    public let torchCheckpoint: String

    /// Reads `MODELSEC_BENCH_FIXTURES` (set by bench-check.sh).
    public static func fromEnvironment() throws -> Fixtures {
        guard let dir = ProcessInfo.processInfo.environment["MODELSEC_BENCH_FIXTURES"], !dir.isEmpty else {
            throw WorkloadError("MODELSEC_BENCH_FIXTURES is not set (run Benchmarks/bench-check.sh)")
        }
        let torch = (dir as NSString).appendingPathComponent("model.pt")
        guard FileManager.default.fileExists(atPath: torch) else { throw WorkloadError("\(torch) is missing") }
        return Fixtures(directory: dir, torchCheckpoint: torch)
    }
}

/// A workload that could not run or produced a wrong result.
public struct WorkloadError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Deterministic bytes (a counter pattern): the same input in every run.
func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) } }

public enum HotPaths {
    /// Every guarded path, in the order the thresholds list them.
    public static let all: [HotPath] = [
        encrypt(mebibytes: 4), encrypt(mebibytes: 32), decrypt(mebibytes: 32),
        hashModel(mebibytes: 32), verifyTokens(count: 100), scanTorchCheckpoint(),
    ]

    /// Encrypts `mebibytes` MiB to one X25519 recipient, into a discarding
    /// output. The 4 and 32 MiB variants together show the per-chunk cost:
    /// encryption allocates per file and per 4 MiB batch, never per 64 KiB chunk.
    static func encrypt(mebibytes: Int) -> HotPath {
        HotPath(name: "encrypt-\(mebibytes)MiB") { _ in
            let recipient = X25519Recipient(X25519.PrivateKey().publicKey)
            let plaintext = pattern(mebibytes << 20)
            return {
                var written = 0
                let encryptor = try Encryptor(recipients: [recipient]) { written += $0.count }
                try encryptor.write(plaintext)
                try encryptor.finish()
                guard encryptor.plaintextByteCount == UInt64(plaintext.count), written > plaintext.count else {
                    throw WorkloadError("encrypt wrote \(written) bytes for \(plaintext.count)")
                }
            }
        }
    }

    /// Decrypts a `mebibytes` MiB file held in memory.
    static func decrypt(mebibytes: Int) -> HotPath {
        HotPath(name: "decrypt-\(mebibytes)MiB") { _ in
            let key = X25519.PrivateKey()
            let plaintext = pattern(mebibytes << 20)
            var ciphertext: [UInt8] = []
            let encryptor = try Encryptor(recipients: [X25519Recipient(key.publicKey)]) { ciphertext.append(contentsOf: $0) }
            try encryptor.write(plaintext)
            try encryptor.finish()
            let sealed = ciphertext
            return {
                let decryptor = try Decryptor(source: MemorySource(sealed), identities: [X25519Identity(key)])
                var read = 0
                try decryptor.decrypt { read += $0.count }
                guard read == plaintext.count else { throw WorkloadError("decrypt returned \(read) bytes") }
            }
        }
    }

    /// Signs a model directory of one `mebibytes` MiB file (the walk, SHA-256
    /// of every byte, the statement and an Ed25519 signature).
    static func hashModel(mebibytes: Int) -> HotPath {
        HotPath(name: "sign-model-\(mebibytes)MiB") { fixtures in
            let model = (fixtures.directory as NSString).appendingPathComponent("model-\(mebibytes)MiB")
            try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
            try Data(pattern(mebibytes << 20)).write(to: URL(fileURLWithPath: (model as NSString).appendingPathComponent("weights.bin")))
            let key = PrivateKey.generate(.ed25519).signingKey!
            let url = URL(fileURLWithPath: model)
            return {
                let bundle = try ModelSigner.sign(model: url, key: key)
                guard try bundle.manifest().fileCount == 1 else { throw WorkloadError("the signed manifest does not list one file") }
            }
        }
    }

    /// Verifies `count` RFC 9068 EdDSA access tokens (signature, claims, scope).
    static func verifyTokens(count: Int) -> HotPath {
        HotPath(name: "verify-\(count)-tokens") { _ in
            let key = PrivateKey.generate(.ed25519)
            let issuer = try AccessTokenIssuer(signingKey: key.signingKey!, issuer: "https://registry.example")
            let tokens = try (0..<count).map { index in
                try issuer.issue(.init(subject: "pipeline-\(index)", audiences: ["deploy-gateway"],
                                       scopes: [try ModelScope(parsing: "model:deploy:resnet@2.1.\(index)"),
                                                try ModelScope(parsing: "model:pull:resnet@*")],
                                       lifetime: TokenDuration(seconds: 86400))).token
            }
            let verifier = try AccessTokenVerifier(keys: [try VerificationKey(key.publicKey)], issuer: "https://registry.example",
                                                   audience: "deploy-gateway",
                                                   requiredScopes: [try ModelScope(parsing: "model:pull:resnet@2.1.0")])
            return { for token in tokens { _ = try verifier.verify(token) } }
        }
    }

    /// Scans the PyTorch checkpoint (zip central directory, the pickle, the
    /// tensor records; tensor data is skipped).
    static func scanTorchCheckpoint() -> HotPath {
        HotPath(name: "scan-torch-checkpoint") { fixtures in
            let path = fixtures.torchCheckpoint
            return {
                let report = ModelScanner.scanFile(at: path)
                guard report.findings.isEmpty else { throw WorkloadError("the benign checkpoint has findings: \(report.findings)") }
            }
        }
    }
}
