import Foundation

/// The in-toto Statement v1 an OMS signature carries: one subject (the model)
/// and the model-signing v1.0 predicate listing every resource's digest.
struct InTotoStatement: Codable, Equatable {
    static let statementType = "https://in-toto.io/Statement/v1"
    static let predicateType = "https://model_signing/signature/v1.0"

    struct Subject: Codable, Equatable {
        var name: String
        var digest: [String: String]
    }

    struct Resource: Codable, Equatable {
        var name: String
        var algorithm: String
        var digest: String
    }

    struct Serialization: Codable, Equatable {
        var method: String
        var hashType: String
        var allowSymlinks: Bool
        var shardSize: Int64?
        var ignorePaths: [String]?

        enum CodingKeys: String, CodingKey {
            case method
            case hashType = "hash_type"
            case allowSymlinks = "allow_symlinks"
            case shardSize = "shard_size"
            case ignorePaths = "ignore_paths"
        }
    }

    struct Predicate: Codable, Equatable {
        var serialization: Serialization
        var resources: [Resource]
    }

    var type: String
    var subject: [Subject]
    var predicateType: String
    var predicate: Predicate

    enum CodingKeys: String, CodingKey {
        case type = "_type"
        case subject, predicateType, predicate
    }

    /// Compact JSON with sorted keys; the payload is signed as these exact
    /// bytes and never re-canonicalised by verifiers.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }
}

extension InTotoStatement.Serialization {
    // In an extension, so the memberwise initialiser stays.
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decode(String.self, forKey: .method)
        hashType = try c.decode(String.self, forKey: .hashType)
        allowSymlinks = try c.decodeIfPresent(Bool.self, forKey: .allowSymlinks) ?? false
        ignorePaths = try c.decodeIfPresent([String].self, forKey: .ignorePaths)
        // The Python tool may write the shard size as a float (`1000.0`).
        if let integer = try? c.decodeIfPresent(Int64.self, forKey: .shardSize) {
            shardSize = integer
        } else if let real = try c.decodeIfPresent(Double.self, forKey: .shardSize) {
            guard real.rounded() == real, real >= 1, real < 9.0e18 else {
                throw DecodingError.dataCorruptedError(forKey: .shardSize, in: c, debugDescription: "shard_size must be a positive whole number")
            }
            shardSize = Int64(real)
        } else {
            shardSize = nil
        }
    }
}
