import Foundation
import TestSupport
import XCTest

/// An app may import modelsec next to swift-crypto. No top-level public type
/// of ours may share a name with one of swift-crypto's, or every unqualified
/// use of that name in such a file becomes ambiguous.
final class SwiftCryptoNameTests: XCTestCase {
    /// The top-level public types, protocols and type aliases of swift-crypto
    /// 4.5.2 (modules Crypto and _CryptoExtras), listed from its sources.
    static let swiftCryptoNames: Set<String> = Set("""
        AES ANSIKDFx963 ChaChaPoly CryptoASN1Error CryptoError CryptoKitASN1Error CryptoKitError CryptoKitMetaError
        Curve25519 DiffieHellmanKeyAgreement Digest HKDF HMAC HPKE HPKEDiffieHellmanPrivateKey
        HPKEDiffieHellmanPrivateKeyGeneration HPKEDiffieHellmanPublicKey HPKEKEMPrivateKey HPKEKEMPrivateKeyGeneration
        HPKEKEMPublicKey HPKEPublicKeySerialization HashFunction HashedAuthenticationCode Insecure KDF KEM
        KEMPrivateKey KEMPublicKey MD5Digest MLDSA65 MLDSA87 MLKEM1024 MLKEM768 MessageAuthenticationCode P256 P384
        P521 RSAPSSSPKIError SHA1Digest SHA256 SHA256Digest SHA2_256 SHA2_384 SHA2_512 SHA384 SHA384Digest SHA3_256
        SHA3_256Digest SHA3_384 SHA3_384Digest SHA3_512 SHA3_512Digest SHA512 SHA512256 SHA512256Digest SHA512Digest
        SharedSecret SymmetricKey SymmetricKeySize XWingMLKEM768X25519 _CryptoRSAError _RSA
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))

    func testNoTopLevelPublicTypeSharesANameWithSwiftCrypto() throws {
        let sources = TestSupport.repositoryRoot.appendingPathComponent("Sources")
        let declaration = try NSRegularExpression(pattern: #"^public (?:final )?(?:enum|struct|class|protocol|typealias|actor) ([A-Za-z0-9_]+)"#,
                                                  options: .anchorsMatchLines)
        var ours: [String: String] = [:]
        let walker = try XCTUnwrap(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
        for case let url as URL in walker where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            for match in declaration.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let name = String(text[Range(match.range(at: 1), in: text)!])
                ours[name] = url.lastPathComponent
            }
        }
        XCTAssertGreaterThan(ours.count, 100, "the scan found the declarations")
        XCTAssertNotNil(ours["SecretKey"], "the scan sees ModelSecCrypto")
        let clashes = ours.keys.filter { Self.swiftCryptoNames.contains($0) }.sorted().map { "\($0) (\(ours[$0]!))" }
        XCTAssertEqual(clashes, [], "these names clash with swift-crypto's")
    }
}
