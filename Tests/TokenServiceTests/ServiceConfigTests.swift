import Foundation
import ModelSecCrypto
import TestSupport
import TokenService
import XCTest

/// `service.yaml`: unknown keys, plain HTTP off loopback, bad values are
/// refused with their line; the shipped example loads.
final class ServiceConfigTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestSupport.makeTemporaryDirectory("service-config")
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private func load(_ yaml: String) throws -> ServiceConfig {
        let path = directory.appendingPathComponent("service.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try ServiceConfig.load(path)
    }

    private func assertInvalid(_ yaml: String, line expected: Int? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(yaml), file: file, line: line) { error in
            guard case let .invalidConfig(_, at, _) = error as? TokenServiceError else {
                return XCTFail("not invalidConfig: \(error)", file: file, line: line)
            }
            XCTAssertEqual((error as? TokenServiceError)?.code, "serve.invalid-config", file: file, line: line)
            if let expected { XCTAssertEqual(at, expected, "\(error)", file: file, line: line) }
        }
    }

    private let minimal = """
        issuer: https://tokens.example
        signing_key: issuer.pem
        audience: deploy-gateway

        """

    func testMinimalConfigGetsLoopbackDefaults() throws {
        let config = try load(minimal)
        XCTAssertEqual(config.listen, ServiceConfig.ListenAddress(parsing: "127.0.0.1:8787"))
        XCTAssertEqual(config.tokenEndpoint, "https://tokens.example/token")
        XCTAssertEqual(config.audiences, ["deploy-gateway"])
        XCTAssertEqual(config.signingKey, directory.appendingPathComponent("issuer.pem").path)
        XCTAssertEqual(config.defaultTTL.seconds, 900)
        XCTAssertEqual(config.maximumTTL.seconds, 3600)
    }

    func testUnknownKeyIsRefusedWithItsLine() {
        assertInvalid(minimal + "alow_plain_http: true\n", line: 4)
        assertInvalid(minimal + "clients:\n  - id: a\n    auth: private_key_jwt\n    pubkey: k.pem\n", line: 7)
    }

    func testPlainHTTPOffLoopbackNeedsExplicitOptIn() throws {
        assertInvalid(minimal + "listen: 0.0.0.0:8787\n", line: 4)
        assertInvalid(minimal + "listen: 10.1.2.3:8787\nallow_plain_http: yes\n")
        XCTAssertFalse(try load(minimal + "listen: 0.0.0.0:8787\nallow_plain_http: true\n").listen.isLoopback)
        XCTAssertTrue(try load(minimal + "listen: 127.9.9.9:0\n").listen.isLoopback)
        XCTAssertTrue(try load(minimal + "listen: \"[::1]:8787\"\n").listen.isLoopback)
    }

    func testBadValuesAreRefused() {
        assertInvalid(minimal + "listen: example.com:80\n")
        assertInvalid(minimal + "listen: 127.0.0.1:99999\n")
        assertInvalid(minimal + "max_ttl: forever\n")
        assertInvalid(minimal + "max_ttl: 10m\ndefault_ttl: 1h\n")
        assertInvalid(minimal + "tls_cert: cert.pem\n")
        assertInvalid("issuer: https://tokens.example\nsigning_key: k.pem\n")
        assertInvalid(minimal + "issuer: https://again.example\n")
        assertInvalid(minimal + "clients:\n  - id: \"bad id\"\n    auth: client_secret_basic\n    secret_hash: x\n    scopes: model:pull:a@b\n")
        assertInvalid(minimal + "clients:\n  - id: a\n    auth: client_secret_basic\n    secret_hash: x\n    scopes: model:pull:a@b\n")
        assertInvalid(minimal + "clients:\n  - id: a\n    auth: magic\n    scopes: model:pull:a@b\n")
    }

    func testSecretClientWithHashLoads() throws {
        let hash = try SecretHash(hashing: "s3cret", parameters: Argon2id.Parameters(iterations: 1, memoryKiB: 64))
        let config = try load(minimal + "clients:\n  - id: ci.deploy_1\n    auth: client_secret_post\n    secret_hash: \"\(hash.encoded)\"\n    scopes: [\"model:pull:*@*\"]\n    max_ttl: 5m\n")
        XCTAssertEqual(config.clients.count, 1)
        XCTAssertEqual(config.clients[0].method, .clientSecretPost)
        XCTAssertEqual(config.clients[0].maximumTTL?.seconds, 300)
    }

    func testShippedExampleLoads() throws {
        let path = TestSupport.repositoryRoot.appendingPathComponent("examples/token-service/service.yaml").path
        let config = try ServiceConfig.load(path)
        XCTAssertEqual(config.listen, ServiceConfig.ListenAddress(parsing: "127.0.0.1:8787"))
        XCTAssertEqual(config.audiences, ["deploy-gate"], "the audience the Kubernetes and CI example gates check")
        XCTAssertTrue(config.clients.contains { $0.method == .privateKeyJWT })
        XCTAssertTrue(config.clients.contains { $0.method == .clientSecretBasic })
        XCTAssertEqual(config.trustRules.map(\.name), ["k8s-prod-deployer"])
        XCTAssertEqual(config.trustRules.first?.claims.map(\.path).sorted(),
                       ["kubernetes.io.namespace", "kubernetes.io.serviceaccount.name"])
        XCTAssertEqual((try config.issuerKeys[Array("https://kubernetes.default.svc.cluster.local".utf8)]?.keys(for: ""))?.map(\.algorithm), ["RS256"])
    }
}
