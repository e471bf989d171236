import Foundation
import ModelSecIO
import Yams

/// The model card given with `--metadata FILE` (YAML, or JSON, which is
/// read as YAML flow syntax): a mapping checked against ``ModelCardSchema``
/// (docs/evidence.md documents every field). It is recorded in release.json
/// as `modelCard` and fills the model component of the release's ML-BOM.
///
/// ```yaml
/// schema: modelsec-model-card/v1
/// license: Apache-2.0
/// owner: ml-platform@example.com
/// intended_use: Sentiment classification of English product reviews.
/// datasets:
///   - {name: reviews-2024, role: training, sha256: 9f86d0…}
/// metrics:
///   - {name: accuracy, value: 0.93, dataset: reviews-2024-test}
/// extra:           # free-form, kept as written
///   ticket: ML-1234
/// ```
public struct ModelCard: Sendable, Equatable, Codable {
    /// The legacy free-text field describing the training data.
    public static let trainingDataKey = "training_data"
    /// The field whose mapping is kept as written, unchecked.
    public static let extraKey = "extra"
    /// Metadata files larger than this are refused (``BoundedYAML/maximumDocumentSize``).
    public static let maximumFileSize = BoundedYAML.maximumDocumentSize
    /// Nesting deeper than this is refused (``BoundedYAML/maximumDepth``).
    public static let maximumDepth = BoundedYAML.maximumDepth
    /// More values than this (after expanding YAML aliases) are refused
    /// (``BoundedYAML/maximumNodeCount``).
    public static let maximumValueCount = BoundedYAML.maximumNodeCount

    /// Every field of the mapping, as written.
    public let fields: [String: MetadataValue]

    /// The licence: an SPDX license expression.
    public var license: String? { fields["license"]?.stringValue }
    /// Who is responsible for the model.
    public var owner: String? { fields["owner"]?.stringValue }
    /// What the model is for.
    public var intendedUse: String? { fields["intended_use"]?.stringValue }
    /// The free-text description of the training data (`training_data`).
    public var trainingData: MetadataValue? { fields[ModelCard.trainingDataKey] }
    /// The members of `extra` (free-form, kept as written).
    public var extraFields: [String: MetadataValue] { fields[ModelCard.extraKey]?.objectValue ?? [:] }

    /// A card with `fields`, checked against ``ModelCardSchema`` (errors name
    /// `source` but no line).
    public init(fields: [String: MetadataValue], source: String = "<metadata>") throws {
        try ModelCardSchema.check(fields, lines: [:], source: source)
        self.fields = fields
    }

    public init(from decoder: Decoder) throws {
        fields = try decoder.singleValueContainer().decode([String: MetadataValue].self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(fields)
    }

    /// Reads and checks a metadata file (YAML or JSON).
    public static func load(path: String) throws -> ModelCard {
        try ModelCard(yaml: try readText(path: path), source: path)
    }

    /// Parses YAML (or JSON) text with ``BoundedYAML`` (size, nesting, alias
    /// expansion and key limits) and checks it against ``ModelCardSchema``;
    /// `source` names it in errors.
    public init(yaml text: String, source: String = "<metadata>") throws {
        let (fields, lines) = try ModelCard.parseMapping(text, source: source)
        try ModelCardSchema.check(fields, lines: lines, source: source)
        self.fields = fields
    }

    /// The top-level mapping of a YAML or JSON document, with the line of
    /// every member and list item (see ``convert(_:source:place:lines:)``).
    static func parseMapping(_ text: String, source: String) throws -> (fields: [String: MetadataValue], lines: [String: Int]) {
        let node: Node?
        do {
            node = try BoundedYAML.compose(text, source: source)
        } catch let refusal as BoundedYAML.Refusal {
            throw ReleaseInputError(path: source, reason: refusal.detail)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            let keys = duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            throw ReleaseInputError(path: source, reason: "line \(context.mark.line): the key \(keys) appears twice (keys that differ only in Unicode normalization count as the same)",
                                    kind: .modelCardInvalid)
        } catch let error as YamlError {
            throw ReleaseInputError(path: source, reason: "not valid YAML: \(ModelCard.describe(error))")
        } catch {
            throw ReleaseInputError(path: source, reason: "not valid YAML")
        }
        guard let node, case .mapping = node else {
            throw ReleaseInputError(path: source, reason: "metadata must be a YAML mapping (key: value lines) at the top level")
        }
        var lines: [String: Int] = [:]
        guard case let .object(fields) = try ModelCard.convert(node, source: source, place: "", lines: &lines) else {
            throw ReleaseInputError(path: source, reason: "metadata must be a YAML mapping at the top level")
        }
        return (fields, lines)
    }

    /// Reads a UTF-8 YAML or JSON file of at most ``maximumFileSize`` bytes.
    static func readText(path: String) throws -> String {
        let bytes = try FileIO.readFile(path, limit: maximumFileSize)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ReleaseInputError(path: path, reason: "not UTF-8 text")
        }
        return text
    }

    /// YAML node to JSON value with the YAML 1.1 core resolution Yams applies
    /// (so `yes`, `3`, `1.5`, `~` become bool, integer, number, null). The
    /// tree is bounded by ``BoundedYAML`` (nodes, depth), so plain recursion is safe.
    /// `lines` gets the line of every member and list item, keyed by its
    /// place (`datasets[0].sha256`), for the schema's errors.
    static func convert(_ node: Node, source: String, place: String, lines: inout [String: Int]) throws -> MetadataValue {
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
            var items: [MetadataValue] = []
            for (index, item) in sequence.enumerated() {
                let itemPlace = "\(place)[\(index)]"
                if let line = item.mark?.line { lines[itemPlace] = line }
                items.append(try convert(item, source: source, place: itemPlace, lines: &lines))
            }
            return .array(items)
        case let .mapping(mapping):
            var object: [String: MetadataValue] = [:]
            for (key, value) in mapping {
                guard case let .scalar(keyScalar) = key else {
                    throw ReleaseInputError(path: source, reason: "mapping keys must be plain strings (line \(key.mark?.line ?? 0))")
                }
                // Keys are written into release.json, whose readers refuse a key
                // that is not NFC, too long or a run of combining marks.
                if let problem = UnambiguousJSON.keyProblem(keyScalar.string) {
                    throw ReleaseInputError(path: source, reason: "line \(key.mark?.line ?? 0): the key \(problem)", kind: .modelCardInvalid)
                }
                // Canonically equivalent keys (NFC and NFD spellings) are refused
                // as duplicates: JSON readers that key objects by Swift `String`
                // (the policy checker's among them) would merge them.
                guard object[keyScalar.string] == nil else {
                    throw ReleaseInputError(path: source, reason: "line \(key.mark?.line ?? 0): the key \"\(keyScalar.string)\" appears twice (keys that differ only in Unicode normalization count as the same)",
                                            kind: .modelCardInvalid)
                }
                let memberPlace = place.isEmpty ? keyScalar.string : "\(place).\(keyScalar.string)"
                if let line = key.mark?.line { lines[memberPlace] = line }
                object[keyScalar.string] = try convert(value, source: source, place: memberPlace, lines: &lines)
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
