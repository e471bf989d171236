import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import XCTest

/// The error contract for key errors: every case has its own stable code of
/// the form `capability.words-with-dashes`, the file reaches callers through
/// the protocol's `path`, and no message names a command-line flag.
final class ErrorContractTests: XCTestCase {
    static let decodingErrors: [KeyDecodingError] = [
        .notPEM("x"), .unsupportedLabel("CERTIFICATE"), .unsupportedAlgorithm("rsa"), .malformed("x"),
        .passphraseRequired, .wrongPassphrase,
    ]
    static let problems: [KeyFileError.Problem] = decodingErrors.map { .undecodable($0) } + [
        .unusableKeyMaterial(.invalidKey("x")), .binary,
        .wrongRole(expected: .privateKey, actual: .publicKey), .wrongRole(expected: .publicKey, actual: .privateKey),
        .wrongRole(expected: .symmetricKey, actual: .publicKey), .cannotSign(.x25519), .accessibleByOthers(mode: 0o644),
        .privateKeyAmongTrustedKeys, .passphraseVariableUnset, .passphraseForSymmetricKey,
    ]

    func testErrorContract_keyErrorsHaveDistinctCodesPathsAndNoFlags() {
        let errors: [any ModelSecError] = Self.problems.map { KeyFileError(path: "/keys/k.pem", problem: $0) }
            + [OutputExistsError(path: "/keys/k.pem")]
        var codes = Set<String>()
        for error in errors {
            XCTAssertTrue(error.code.range(of: #"^[a-z0-9]+\.[a-z0-9]+(-[a-z0-9]+)*$"#, options: .regularExpression) != nil, error.code)
            XCTAssertEqual(error.path, "/keys/k.pem", "the file reaches callers through the protocol: \(error)")
            XCTAssertEqual(error.category, .invalidInput)
            XCTAssertFalse(error.description.contains("--"), "no flag in \(error.description)")
            XCTAssertTrue(error.description.hasPrefix("/keys/k.pem: "), error.description)
            codes.insert(error.code)
        }
        // Each wrong role has its own code; everything else one per case.
        XCTAssertEqual(codes.count, errors.count)
    }

    func testErrorContract_cryptoAndDecodingCodesAreDistinct() {
        XCTAssertEqual(Set(Self.decodingErrors.map(\.code)).count, Self.decodingErrors.count)
        let crypto: [CryptoBackendError] = [.invalidLength(what: "key", expected: 32, actual: 31), .invalidKey("x"), .authenticationFailure,
                                     .invalidParameter("x"), .lowOrderPoint, .backend("x")]
        XCTAssertEqual(Set(crypto.map(\.code)).count, crypto.count)
        for error in Self.decodingErrors { XCTAssertFalse(error.description.contains("--"), error.description) }
    }
}
