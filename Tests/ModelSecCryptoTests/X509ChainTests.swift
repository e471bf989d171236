import Foundation
import ModelSecCrypto
import TestSupport
import XCTest

/// Certificate path validation: each way a signing certificate can be unfit
/// is refused and named. The PKI comes from Python `cryptography`.
final class X509ChainTests: XCTestCase {
    /// Made once, on first use (a static `let` is initialised once, thread-safely).
    private static let pki: URL? = try? TestSupport.makePKI()

    private func pem(_ name: String) throws -> String {
        let dir = try XCTUnwrap(Self.pki, "the test PKI could not be made")
        return try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
    }

    private func verify(_ leaf: String, roots: String = "root.pem", chain: String = "chain.pem", crl: Bool = false,
                        at time: Date = Date()) throws -> [X509Certificate] {
        let verifier = X509ChainVerifier(roots: try X509Certificate.chain(pem: pem(roots)),
                                         crls: crl ? try X509ChainVerifier.crls(pem: pem("crl.pem")) : [])
        return try verifier.verify(leaf: try X509Certificate.chain(pem: pem(leaf))[0],
                                   intermediates: try X509Certificate.chain(pem: pem(chain)), at: time)
    }

    private func refusal(_ leaf: String, roots: String = "root.pem", chain: String = "chain.pem", crl: Bool = false,
                         at time: Date = Date()) -> String? {
        do {
            _ = try verify(leaf, roots: roots, chain: chain, crl: crl, at: time)
            return nil
        } catch let error as X509Error {
            return error.code
        } catch {
            return "unexpected: \(error)"
        }
    }

    func testAGoodChainVerifiesAndReportsTheLeaf() throws {
        let chain = try verify("leaf-good.pem", crl: true)
        XCTAssertEqual(chain.count, 3)
        let leaf = chain[0]
        XCTAssertEqual(leaf.subject, "CN=release signer good,O=modelsec tests")
        XCTAssertEqual(leaf.issuer, "CN=modelsec test intermediate,O=modelsec tests")
        XCTAssertEqual(leaf.subjectAlternativeNames, [.uri("https://ci.example.com/pipelines/release")])
        XCTAssertEqual(leaf.usage, X509Usage(digitalSignature: true, codeSigning: true))
        XCTAssertLessThan(leaf.notBefore, Date())
        XCTAssertGreaterThan(leaf.notAfter, Date())
        XCTAssertEqual(chain[2].subject, "CN=modelsec test root,O=modelsec tests")
        // The certified key is the leaf's own key, as OpenSSL reads the key file.
        let keyFile = try XCTUnwrap(Self.pki).appendingPathComponent("leaf-good.key").path
        let r = try TestSupport.run("/usr/bin/openssl", ["pkey", "-in", keyFile, "-pubout", "-outform", "DER"])
        XCTAssertEqual(Array(r.stdout), leaf.subjectPublicKeyInfo)
        XCTAssertNoThrow(try verify("leaf-p384.pem"))
        XCTAssertNoThrow(try verify("leaf-p521.pem"))
    }

    func testEachUnfitCertificateIsRefusedWithItsReason() {
        XCTAssertEqual(refusal("leaf-expired.pem"), "certificate.expired")
        XCTAssertEqual(refusal("leaf-future.pem"), "certificate.not-yet-valid")
        XCTAssertEqual(refusal("leaf-no-digital-signature.pem"), "certificate.key-usage")
        XCTAssertEqual(refusal("leaf-server-auth-only.pem"), "certificate.extended-key-usage")
        XCTAssertEqual(refusal("leaf-revoked.pem", crl: true), "certificate.revoked")
        XCTAssertEqual(refusal("leaf-other-root.pem", chain: "other-chain.pem"), "certificate.untrusted")
        XCTAssertEqual(refusal("leaf-good.pem", roots: "other-root.pem"), "certificate.untrusted")
        // Without the intermediate there is no path.
        XCTAssertEqual(refusal("leaf-good.pem", chain: "leaf-good.pem"), "certificate.untrusted")
    }

    func testValidityIsJudgedAtTheVerificationTime() {
        // The expired leaf was valid 45 days ago; the good one is not valid before its start.
        XCTAssertNil(refusal("leaf-expired.pem", at: Date().addingTimeInterval(-45 * 86400)))
        XCTAssertEqual(refusal("leaf-good.pem", at: Date().addingTimeInterval(-10 * 86400)), "certificate.not-yet-valid")
        XCTAssertEqual(refusal("leaf-good.pem", at: Date().addingTimeInterval(400 * 86400)), "certificate.expired")
    }

    func testRevokedIsOnlyKnownWithTheCRLAndTheRevocationIsNotIgnored() {
        XCTAssertNil(refusal("leaf-revoked.pem", crl: false))
        XCTAssertEqual(refusal("leaf-revoked.pem", crl: true), "certificate.revoked")
    }

    func testChainFilesAreParsedStrictly() throws {
        let good = try pem("leaf-good.pem")
        let key = try pem("leaf-good.key")
        XCTAssertThrowsError(try X509Certificate.chain(pem: good + key)) { error in
            XCTAssertEqual((error as? X509Error)?.code, "certificate.malformed")
        }
        XCTAssertThrowsError(try X509Certificate.chain(pem: "junk\n" + good))
        XCTAssertThrowsError(try X509Certificate.chain(pem: ""))
        let der = try X509Certificate.chain(pem: good)[0].derRepresentation
        XCTAssertThrowsError(try X509Certificate(der: der + [0]), "trailing bytes after a DER certificate")
        XCTAssertEqual(try X509Certificate(der: der).pemRepresentation, good)
    }
}
