import Foundation
import ModelSecIO

/// A JSON value kept as the user wrote it: model-card fields from
/// `--metadata` YAML beyond the known ones, and the DP report from
/// `--dp-report`. Integers that fit in 64 bits stay exact; other numbers are
/// IEEE-754 doubles. Objects are written with sorted keys.
public indirect enum MetadataValue: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `null` (YAML `~`, `null` or an empty value).
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// An integer that fits in 64 bits.
    case integer(Int64)
    /// Any other number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([MetadataValue])
    /// An object.
    case object([String: MetadataValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([MetadataValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: MetadataValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .integer(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }

    /// Parses a JSON document (any top-level value). A document another
    /// reader could read differently (a duplicate key, or two keys that are
    /// the same Unicode text in different byte forms, which a Swift
    /// dictionary would merge) throws ``UnambiguousJSON/Ambiguity``.
    public init(jsonData data: Data) throws {
        try UnambiguousJSON.check(Array(data))
        self = try JSONDecoder().decode(MetadataValue.self, from: data)
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// The members, when this is an object.
    public var objectValue: [String: MetadataValue]? {
        if case let .object(value) = self { return value }
        return nil
    }

    /// Compact JSON text with sorted keys.
    public var description: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "null"
    }
}
