/// Typed views of a model card's structured fields (``ModelCardSchema``),
/// for the evidence builders and the policy checks. A card read back from an
/// older release.json may hold other shapes; the views skip what does not fit.
extension ModelCard {
    /// One entry of `datasets`.
    public struct Dataset: Sendable, Equatable {
        /// `name`.
        public let name: String
        /// `sha256` (lowercase hex), nil only in cards that did not pass the schema.
        public let sha256: String?
        /// `role` (default `training`).
        public let role: String
        /// `version`.
        public let version: String?
        /// `url`.
        public let url: String?
        /// `license` (an SPDX expression).
        public let license: String?
        /// `classification`.
        public let classification: String?
        /// `description`.
        public let description: String?
    }

    /// One entry of `metrics`.
    public struct Metric: Sendable, Equatable {
        /// `name` (e.g. `accuracy`).
        public let name: String
        /// `value`.
        public let value: Double
        /// `dataset`.
        public let dataset: String?
        /// `slice`.
        public let slice: String?
        /// `confidence_lower`.
        public let confidenceLower: Double?
        /// `confidence_upper`.
        public let confidenceUpper: Double?
    }

    /// `base_model`.
    public struct BaseModel: Sendable, Equatable {
        /// `name`.
        public let name: String
        /// `version`.
        public let version: String?
        /// `digest`: `sha256:` and the base release's signed subject digest.
        public let digest: String
        /// `url`.
        public let url: String?
        /// The digest's hex part.
        public var digestHex: String { digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest }
    }

    /// The `datasets` entries that have a name.
    public var datasets: [Dataset] {
        guard case let .array(items)? = fields["datasets"] else { return [] }
        return items.compactMap(\.objectValue).compactMap { item in
            guard let name = item["name"]?.stringValue else { return nil }
            return Dataset(name: name, sha256: item["sha256"]?.stringValue, role: item["role"]?.stringValue ?? "training",
                           version: item["version"]?.stringValue, url: item["url"]?.stringValue,
                           license: item["license"]?.stringValue, classification: item["classification"]?.stringValue,
                           description: item["description"]?.stringValue)
        }
    }

    /// The `metrics` entries with a name and a numeric value.
    public var metrics: [Metric] {
        guard case let .array(items)? = fields["metrics"] else { return [] }
        return items.compactMap(\.objectValue).compactMap { item in
            guard let name = item["name"]?.stringValue, let value = item["value"]?.doubleValue else { return nil }
            return Metric(name: name, value: value, dataset: item["dataset"]?.stringValue, slice: item["slice"]?.stringValue,
                          confidenceLower: item["confidence_lower"]?.doubleValue, confidenceUpper: item["confidence_upper"]?.doubleValue)
        }
    }

    /// `base_model`, when it has a name and a digest.
    public var baseModel: BaseModel? {
        guard let item = fields["base_model"]?.objectValue, let name = item["name"]?.stringValue,
              let digest = item["digest"]?.stringValue else { return nil }
        return BaseModel(name: name, version: item["version"]?.stringValue, digest: digest, url: item["url"]?.stringValue)
    }

    /// `model_parameters.hyperparameters` as text, sorted by name (byte order).
    public var hyperparameters: [(String, String)] {
        guard let map = fields["model_parameters"]?.objectValue?["hyperparameters"]?.objectValue else { return [] }
        return map.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { key in
            let value = map[key]!
            switch value {
            case let .integer(n): return (key, String(n))
            case let .number(n): return (key, EvidenceJSON.numberText(n))
            case let .bool(b): return (key, String(b))
            default: return (key, value.stringValue ?? value.description)
            }
        }
    }

    /// `training_data` when it is a string.
    var trainingDataText: String? { trainingData?.stringValue }
}

extension MetadataValue {
    /// The number, when this is an integer or other number.
    public var doubleValue: Double? {
        switch self {
        case let .integer(n): return Double(n)
        case let .number(n): return n
        default: return nil
        }
    }
}
