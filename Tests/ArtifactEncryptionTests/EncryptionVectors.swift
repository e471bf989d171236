import ArtifactEncryption
import Foundation
import ModelSecCrypto
import TestSupport
import XCTest

/// One published test vector of the encrypted file format
/// (docs/encryption-vectors/README.md describes the fields).
struct EncryptionVector: Decodable {
    /// An identity to decrypt with.
    struct IdentityEntry: Decodable {
        /// "x25519", "symmetric-key" or "passphrase".
        let type: String
        let privateKeyHex: String?
        let publicKeyHex: String?
        let privateKeyPem: String?
        let keyHex: String?
        let keyFile: String?
        let passphraseHex: String?
    }

    /// What a reader must do with the file.
    struct Expected: Decodable {
        /// "ok", "malformed", "authentication-failed" or "no-matching-identity".
        let result: String
        let exitCode: Int32
        let plaintextHex: String?
        let plaintextSize: UInt64?
        let chunkSize: Int?
        let chunkCount: UInt64?
        let headerSize: Int?
        let recipientTypes: [String]?
    }

    /// Keys derived while opening a valid vector.
    struct Intermediates: Decodable {
        let fileKeyHex: String
        let payloadKeyHex: String
        let headerKeyHex: String
        let headerMacHex: String
    }

    let schema: String
    let name: String
    let description: String
    let ciphertextHex: String
    let identities: [IdentityEntry]
    let expected: Expected
    let intermediates: Intermediates?

    var ciphertext: [UInt8] { TestSupport.hex(ciphertextHex) }
    var plaintext: [UInt8]? { expected.plaintextHex.map(TestSupport.hex) }
    var isValid: Bool { expected.result == "ok" }

    /// The ``EncryptionError/Kind`` modelsec must report for a must-reject vector.
    var expectedKind: EncryptionError.Kind? {
        switch expected.result {
        case "malformed": return .malformed
        case "authentication-failed": return .authenticationFailed
        case "no-matching-identity": return .noMatchingIdentity
        default: return nil
        }
    }

    /// The identities as library values.
    func libraryIdentities() throws -> [Identity] {
        try identities.map { entry in
            switch entry.type {
            case "x25519": return .x25519(try X25519.PrivateKey(rawBytes: TestSupport.hex(entry.privateKeyHex ?? "")))
            case "symmetric-key": return .symmetricKey(SecretKey(copying: TestSupport.hex(entry.keyHex ?? "")))
            case "passphrase": return .passphrase(SecretBytes(copying: TestSupport.hex(entry.passphraseHex ?? "")))
            default: throw VectorError("\(name): unknown identity type \(entry.type)")
            }
        }
    }

    /// Writes the identities as files in `dir` (mode 0600) and returns the
    /// command-line options that name them. `--passphrase-file` gets the
    /// passphrase and a newline.
    func identityOptions(in dir: URL, passphraseOption: String = "--passphrase-file") throws -> [String] {
        var options: [String] = []
        for (index, entry) in identities.enumerated() {
            let file = dir.appendingPathComponent("identity-\(index)")
            let option: String
            let contents: Data
            switch entry.type {
            case "x25519":
                option = "--identity"
                contents = Data((entry.privateKeyPem ?? "").utf8)
            case "symmetric-key":
                option = "--key-file"
                contents = Data((entry.keyFile ?? "").utf8)
            case "passphrase":
                option = passphraseOption
                contents = Data(TestSupport.hex(entry.passphraseHex ?? "") + [0x0A])
            default:
                throw VectorError("\(name): unknown identity type \(entry.type)")
            }
            try contents.write(to: file)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
            options += [option, file.path]
        }
        return options
    }

    /// A problem with the vector files themselves.
    struct VectorError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// The committed vectors.
enum EncryptionVectors {
    /// docs/encryption-vectors in the checkout.
    static let folder = TestSupport.repositoryRoot.appendingPathComponent("docs/encryption-vectors")
    /// The generator script beside them.
    static let generator = folder.appendingPathComponent("generate.py").path
    /// The schema string every vector file carries.
    static let schema = "modelsec-encryption-vectors/1"

    /// Every `*.json` vector, sorted by name; each file's name must be its vector's name.
    static func load() throws -> [EncryptionVector] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { file in
            let vector = try JSONDecoder().decode(EncryptionVector.self, from: Data(contentsOf: folder.appendingPathComponent(file)))
            guard vector.schema == schema, file == vector.name + ".json" else {
                throw EncryptionVector.VectorError("\(file): schema \(vector.schema) / name \(vector.name) do not match")
            }
            return vector
        }
    }
}
