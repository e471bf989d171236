import Foundation
import TestSupport

/// Minimal readers for the Project Wycheproof JSON files in Tests/Vectors/wycheproof.
struct WycheproofFile<Group: Decodable>: Decodable {
    let algorithm: String
    let numberOfTests: Int
    let testGroups: [Group]

    static func load(_ name: String) throws -> WycheproofFile<Group> {
        let url = TestSupport.sharedVectors.appendingPathComponent("wycheproof/\(name)")
        return try JSONDecoder().decode(WycheproofFile<Group>.self, from: Data(contentsOf: url))
    }
}

struct AEADGroup: Decodable {
    let ivSize: Int, keySize: Int, tagSize: Int
    let tests: [Case]
    struct Case: Decodable { let tcId: Int; let key, iv, aad, msg, ct, tag, result: String }
}

struct SignatureGroup: Decodable {
    let publicKeyDer: String
    let publicKey: PublicKeyInfo
    let tests: [Case]
    struct PublicKeyInfo: Decodable { let pk: String?; let uncompressed: String? }
    struct Case: Decodable { let tcId: Int; let msg, sig, result: String; let flags: [String] }
}

struct XDHGroup: Decodable {
    let tests: [Case]
    struct Case: Decodable { let tcId: Int; let `public`, `private`, shared, result: String; let flags: [String] }
}

struct HKDFGroup: Decodable {
    let tests: [Case]
    struct Case: Decodable { let tcId: Int; let ikm, salt, info: String; let size: Int; let okm, result: String }
}

struct MACGroup: Decodable {
    let keySize: Int, tagSize: Int
    let tests: [Case]
    struct Case: Decodable { let tcId: Int; let key, msg, tag, result: String }
}
