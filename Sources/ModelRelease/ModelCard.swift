import Foundation
import ModelSecIO
import Yams

/// Model-card metadata given with `--metadata FILE.yaml`: a YAML mapping whose
/// well-known keys (`license`, `owner`, `intended_use`, `training_data`) are
/// checked, and whose other keys are kept exactly as written.
///
/// ```yaml
/// license: apache-2.0
/// owner: ml-platform@example.com
/// intended_use: Sentiment classification of English product reviews.
/// training_data: reviews-2024 (internal), 1.2M labelled reviews
/// eval:            # anything else is preserved
///   accuracy: 0.93
/// ```
public struct ModelCard: Sendable, Equatable, Codable {
    /// The well-known keys whose values must be strings.
    public static let stringKeys = ["license", "owner", "intended_use"]
    /// The well-known key for the training data (a string, list or mapping).
    public static let trainingDataKey = "training_data"
    /// Metadata files larger than this are refused (``BoundedYAML/maximumDocumentSize``).
    public static let maximumFileSize = BoundedYAML.maximumDocumentSize
    /// Nesting deeper than this is refused (``BoundedYAML/maximumDepth``).
    public static let maximumDepth = BoundedYAML.maximumDepth
    /// More values than this (after expanding YAML aliases) are refused
    /// (``BoundedYAML/maximumNodeCount``).
    public static let maximumValueCount = BoundedYAML.maximumNodeCount

    /// Every key of the mapping, as written (well-known ones included).
    public let fields: [String: MetadataValue]

    /// The licence (SPDX identifier or free text).
    public var license: String? { fields["license"]?.stringValue }
    /// Who is responsible for the model.
    public var owner: String? { fields["owner"]?.stringValue }
    /// What the model is for.
    public var intendedUse: String? { fields["intended_use"]?.stringValue }
    /// What it was trained on.
    public var trainingData: MetadataValue? { fields[ModelCard.trainingDataKey] }
    /// The keys other than the well-known ones.
    public var extraFields: [String: MetadataValue] {
        fields.filter { !(ModelCard.stringKeys + [ModelCard.trainingDataKey]).contains($0.key) }
    }

    /// A card with `fields` (checked as a parsed file would be).
    public init(fields: [String: MetadataValue], source: String = "<metadata>") throws {
        for key in ModelCard.stringKeys {
            if let value = fields[key], value.stringValue == nil {
                throw ReleaseInputError(path: source, reason: "\(key) must be a string, not \(value.kindName)")
            }
        }
        if let value = fields[ModelCard.trainingDataKey], value == .null {
            throw ReleaseInputError(path: source, reason: "\(ModelCard.trainingDataKey) is empty")
        }
        self.fields = fields
    }

    public init(from decoder: Decoder) throws {
        fields = try decoder.singleValueContainer().decode([String: MetadataValue].self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(fields)
    }

    /// Reads and checks a metadata file.
    public static func load(path: String) throws -> ModelCard {
        let bytes = try FileIO.readFile(path, limit: maximumFileSize)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ReleaseInputError(path: path, reason: "metadata is not UTF-8 text")
        }
        return try ModelCard(yaml: text, source: path)
    }

    /// Parses YAML text with ``BoundedYAML`` (size, nesting, alias expansion
    /// and key limits); `source` names it in errors.
    public init(yaml text: String, source: String = "<metadata>") throws {
        let node: Node?
        do {
            node = try BoundedYAML.compose(text, source: source)
        } catch let refusal as BoundedYAML.Refusal {
            throw ReleaseInputError(path: source, reason: refusal.detail)
        } catch let error as YamlError {
            throw ReleaseInputError(path: source, reason: "not valid YAML: \(ModelCard.describe(error))")
        } catch {
            throw ReleaseInputError(path: source, reason: "not valid YAML")
        }
        guard let node, case .mapping = node else {
            throw ReleaseInputError(path: source, reason: "metadata must be a YAML mapping (key: value lines) at the top level")
        }
        guard case let .object(fields) = try ModelCard.convert(node, source: source) else {
            throw ReleaseInputError(path: source, reason: "metadata must be a YAML mapping at the top level")
        }
        try self.init(fields: fields, source: source)
    }

    /// YAML node to JSON value with the YAML 1.1 core resolution Yams applies
    /// (so `yes`, `3`, `1.5`, `~` become bool, integer, number, null). The
    /// tree is bounded by ``BoundedYAML`` (nodes, depth), so plain recursion is safe.
    static func convert(_ node: Node, source: String) throws -> MetadataValue {
        switch node {
        case let .scalar(scalar):
            switch Tag.Name(rawValue: node.tag.description) {
            case .null: return .null
            case .bool: return node.bool.map(MetadataValue.bool) ?? .string(scalar.string)
            case .int:
                if let value = Int64(exactly: node.int ?? 0), node.int != nil { return .integer(value) }
                return .string(scalar.string)
            case .float:
                if let value = node.float, value.isFinite { return .number(value) }
                return .string(scalar.string)
            default:
                return .string(scalar.string)
            }
        case let .sequence(sequence):
            return .array(try sequence.map { try convert($0, source: source) })
        case let .mapping(mapping):
            var object: [String: MetadataValue] = [:]
            for (key, value) in mapping {
                guard case let .scalar(keyScalar) = key else {
                    throw ReleaseInputError(path: source, reason: "mapping keys must be plain strings (line \(key.mark?.line ?? 0))")
                }
                // Canonically equivalent keys (NFC and NFD spellings) are refused
                // as duplicates: JSON readers that key objects by Swift `String`
                // (the policy checker's among them) would merge them.
                guard object[keyScalar.string] == nil else {
                    throw ReleaseInputError(path: source, reason: "the key \"\(keyScalar.string)\" appears twice")
                }
                object[keyScalar.string] = try convert(value, source: source)
            }
            return .object(object)
        case .alias:
            throw ReleaseInputError(path: source, reason: "unresolved YAML alias at line \(node.mark?.line ?? 0)")
        }
    }

    /// A one-line description of a YAML error (Yams's own spans several lines).
    static func describe(_ error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return "\(problem) at line \(mark.line), column \(mark.column)"
        case let .reader(problem, _, _, _):
            return problem
        case let .duplicatedKeysInMapping(duplicates, _):
            return "duplicated key(s) \(duplicates.sorted().joined(separator: ", "))"
        default:
            return String(describing: error).split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
    }
}

extension MetadataValue {
    /// "a string", "a number", … for error messages.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "a mapping"
        }
    }
}
