import AccessTokens
import ArtifactEncryption
import Foundation
import ModelRelease
import ModelSecCrypto
import ModelSecKeys
import TestSupport

/// Keys, a small model and helpers shared by the release tests.
struct ReleaseFixture {
    let root: URL
    let model: URL
    let signingKey: SigningPrivateKey
    let deployKey: X25519.PrivateKey

    init() throws {
        root = try TestSupport.makeTemporaryDirectory("modelsec-release")
        model = root.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("{\"hidden\": 4}\n".utf8).write(to: model.appendingPathComponent("config.json"))
        try Data(SecureRandom.bytes(count: 200_000)).write(to: model.appendingPathComponent("weights.bin"))
        try Data().write(to: model.appendingPathComponent("sub/empty.txt"))
        try Data("dot".utf8).write(to: model.appendingPathComponent(".hidden"))
        guard case let .ed25519(key) = PrivateKey.generate(.ed25519) else { fatalError("ed25519 expected") }
        signingKey = .ed25519(key)
        guard case let .x25519(deploy) = PrivateKey.generate(.x25519) else { fatalError("x25519 expected") }
        deployKey = deploy
    }

    var trusted: TrustedKeys { TrustedKeys([signingKey.publicKey]) }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    /// Creates a release of the fixture model at `name`.
    @discardableResult
    func create(_ name: String = "release", version: String = "1.0.0", key: SigningPrivateKey? = nil,
                configure: (inout ReleaseRequest) -> Void = { _ in }) throws -> ReleaseCreator.Result {
        var request = ReleaseRequest(model: model.path, name: "bert", version: version, signingKey: key ?? signingKey,
                                     recipients: [.x25519(deployKey.publicKey)], output: path(name))
        configure(&request)
        return try ReleaseCreator.create(request)
    }

    /// A deploy request for the release at `name` into `output`.
    func deployRequest(_ name: String = "release", output: String = "deployed") -> DeployRequest {
        DeployRequest(releaseDirectory: path(name), trustedKeys: trusted, identities: [.x25519(deployKey)], output: path(output))
    }

    /// Entries of the fixture root whose names start with `.` and contain `modelsec-tmp` (leftover staging).
    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.contains("modelsec-tmp") }
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    /// Flips one byte of `file` at `offset` (negative: from the end).
    func flipByte(_ file: String, at offset: Int) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let index = offset >= 0 ? offset : bytes.count + offset
        bytes[index] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: file))
    }
}

/// Token issuer fixture.
struct TokenFixture {
    let key: SigningPrivateKey
    let issuer = "https://registry.example"
    let audience = "deploy-gate"

    init() {
        guard case let .ed25519(raw) = PrivateKey.generate(.ed25519) else { fatalError("ed25519 expected") }
        key = .ed25519(raw)
    }

    func token(scope: String, lifetime: Int64 = 600) throws -> String {
        let issuer = try AccessTokenIssuer(signingKey: key, issuer: self.issuer)
        return try issuer.issue(.init(subject: "ci", audiences: [audience], scopes: [try ModelScope(parsing: scope)],
                                      lifetime: TokenDuration(seconds: lifetime))).token
    }

    func check(_ token: String) throws -> DeployTokenCheck {
        DeployTokenCheck(token: token, keys: [try VerificationKey(key.publicKey)], issuer: issuer, audience: audience)
    }
}

/// A value a `@Sendable` closure (a deploy policy) records for the test to
/// read after the call.
final class Recorded<Value>: @unchecked Sendable { // `stored` is guarded by `lock`
    private let lock = NSLock()
    private var stored: Value?

    /// The recorded value, if any.
    var value: Value? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
