import Foundation
import ModelSecCrypto

/// The release's CycloneDX 1.6 ML-BOM (`bom.cdx.json`, docs/evidence.md):
/// the model as the `machine-learning-model` metadata component (each file
/// as a nested `file` component with its SHA-256, the OMS manifest digest as
/// the model's own hash, the licence expression and the `modelCard` from the
/// model card), every data set as a `data` component, the base model as a
/// `machine-learning-model` component, and the model's dependencies on them.
///
/// The output is a function of its inputs only (sorted keys, the release's
/// creation time as the timestamp, a serial number derived from the release
/// digests), so the same release inputs give the same bytes.
public enum CycloneDXBOM {
    /// The media type recorded in release.json.
    public static let mediaType = "application/vnd.cyclonedx+json"
    /// The evidence kind recorded in release.json.
    public static let kind = "cyclonedx-1.6"
    /// The bom-ref of the model component.
    static let modelRef = "model"

    /// The BOM for a release, as canonical bytes (pretty JSON, sorted keys, final newline).
    public static func encode(_ subject: EvidenceSubject) throws -> [UInt8] {
        try EvidenceJSON.encode(document(subject))
    }

    /// The BOM as a JSON value.
    static func document(_ subject: EvidenceSubject) -> MetadataValue {
        let card = subject.card
        let datasets = card?.datasets ?? []
        var components: [MetadataValue] = datasets.enumerated().map { dataset($0.element, ref: datasetRef($0.offset)) }
        if let base = card?.baseModel { components.append(baseModel(base)) }
        let dependsOn = datasets.indices.map { MetadataValue.string(datasetRef($0)) } + (card?.baseModel == nil ? [] : [.string(baseModelRef)])
        return EvidenceJSON.object([
            ("$schema", .string("http://cyclonedx.org/schema/bom-1.6.schema.json")),
            ("bomFormat", .string("CycloneDX")),
            ("specVersion", .string("1.6")),
            ("serialNumber", .string(serialNumber(subject))),
            ("version", .integer(1)),
            ("metadata", EvidenceJSON.object([
                ("timestamp", .string(subject.createdAt)),
                ("tools", .object(["components": .array([EvidenceJSON.object([
                    ("type", .string("application")), ("name", .string("modelsec")), ("version", .string(subject.toolVersion)),
                ])])])),
                ("component", model(subject)),
            ])),
            ("components", components.isEmpty ? nil : .array(components)),
            ("dependencies", .array([
                EvidenceJSON.object([("ref", .string(modelRef)), ("dependsOn", .array(dependsOn))]),
            ] + datasets.indices.map { .object(["ref": .string(datasetRef($0)), "dependsOn": .array([])]) }
              + (card?.baseModel == nil ? [] : [.object(["ref": .string(baseModelRef), "dependsOn": .array([])])]))),
        ])
    }

    static func datasetRef(_ index: Int) -> String { "dataset-\(index + 1)" }
    static let baseModelRef = "base-model"

    /// `urn:uuid:` of a version-8 UUID made from the SHA-256 of the release's name, version and OMS digest.
    static func serialNumber(_ subject: EvidenceSubject) -> String {
        var bytes = SHA2.SHA256.hash(data: Array("modelsec-bom\0\(subject.name)\0\(subject.version)\0\(subject.omsDigest)".utf8)).bytes.prefix(16).map { $0 }
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Hex.encode(bytes)
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(hex[hex.index(hex.startIndex, offsetBy: range.lowerBound)..<hex.index(hex.startIndex, offsetBy: range.upperBound)])
        }
        return "urn:uuid:" + parts.joined(separator: "-")
    }

    static func hashes(_ sha256: String) -> MetadataValue {
        .array([.object(["alg": .string("SHA-256"), "content": .string(sha256)])])
    }

    static func licenses(_ expression: String?) -> MetadataValue? {
        expression.map { .array([.object(["expression": .string($0)])]) }
    }

    static func strings(_ values: [String]) -> MetadataValue? { values.isEmpty ? nil : .array(values.map(MetadataValue.string)) }

    static func property(_ name: String, _ value: String) -> MetadataValue {
        .object(["name": .string(name), "value": .string(value)])
    }

    static func model(_ subject: EvidenceSubject) -> MetadataValue {
        let card = subject.card
        let files = subject.files.map { file in
            EvidenceJSON.object([
                ("type", .string("file")), ("bom-ref", .string("file:\(file.path)")), ("name", .string(file.path)),
                ("hashes", hashes(file.sha256)), ("properties", .array([property("modelsec:size", String(file.size))])),
            ])
        }
        var properties = [property("modelsec:oms-manifest-digest", "sha256:\(subject.omsDigest)")]
        for (name, value) in (card?.hyperparameters ?? []) { properties.append(property("modelsec:hyperparameter:\(name)", value)) }
        if let training = card?.trainingDataText { properties.append(property("modelsec:training-data", training)) }
        return EvidenceJSON.object([
            ("type", .string("machine-learning-model")), ("bom-ref", .string(modelRef)),
            ("name", .string(subject.name)), ("version", .string(subject.version)),
            ("description", card?.fields["description"]),
            ("authors", card?.owner.map { .array([.object(["name": .string($0)])]) }),
            ("licenses", licenses(card?.license)),
            ("hashes", hashes(subject.omsDigest)),
            ("properties", .array(properties)),
            ("components", .array(files)),
            ("modelCard", card.map { modelCard($0, datasetCount: $0.datasets.count) }),
        ])
    }

    static func modelCard(_ card: ModelCard, datasetCount: Int) -> MetadataValue {
        let parameters = card.fields["model_parameters"]?.objectValue ?? [:]
        func text(_ key: String) -> MetadataValue? { parameters[key] }
        func formats(_ key: String) -> MetadataValue? {
            guard case let .array(items)? = parameters[key], !items.isEmpty else { return nil }
            return .array(items.map { .object(["format": $0]) })
        }
        let modelParameters = EvidenceJSON.object([
            ("approach", parameters["approach"].map { .object(["type": $0]) }),
            ("task", text("task")),
            ("architectureFamily", text("architecture_family")),
            ("modelArchitecture", text("model_architecture")),
            ("datasets", datasetCount == 0 ? nil : .array((0..<datasetCount).map { .object(["ref": .string(datasetRef($0))]) })),
            ("inputs", formats("inputs")),
            ("outputs", formats("outputs")),
        ])
        let metrics = card.metrics.map { metric in
            EvidenceJSON.object([
                ("type", .string(metric.name)),
                ("value", .string(EvidenceJSON.numberText(metric.value))),
                ("slice", (metric.slice ?? metric.dataset).map(MetadataValue.string)),
                ("confidenceInterval", (metric.confidenceLower != nil || metric.confidenceUpper != nil) ? EvidenceJSON.object([
                    ("lowerBound", metric.confidenceLower.map { .string(EvidenceJSON.numberText($0)) }),
                    ("upperBound", metric.confidenceUpper.map { .string(EvidenceJSON.numberText($0)) }),
                ]) : nil),
            ])
        }
        let considerations = card.fields["considerations"]?.objectValue ?? [:]
        func list(_ key: String) -> [String] {
            guard case let .array(items)? = considerations[key] else { return [] }
            return items.compactMap(\.stringValue)
        }
        let ethical: [MetadataValue] = {
            guard case let .array(items)? = considerations["ethical_considerations"] else { return [] }
            return items.compactMap(\.objectValue).map { item in
                EvidenceJSON.object([("name", item["name"]), ("mitigationStrategy", item["mitigation"])])
            }
        }()
        let useCases = (card.intendedUse.map { [$0] } ?? []) + list("use_cases")
        let considerationsValue = EvidenceJSON.object([
            ("users", strings(list("users"))),
            ("useCases", strings(useCases)),
            ("technicalLimitations", strings(list("technical_limitations"))),
            ("performanceTradeoffs", strings(list("performance_tradeoffs"))),
            ("ethicalConsiderations", ethical.isEmpty ? nil : .array(ethical)),
        ])
        return EvidenceJSON.object([
            ("modelParameters", modelParameters == .object([:]) ? nil : modelParameters),
            ("quantitativeAnalysis", metrics.isEmpty ? nil : .object(["performanceMetrics": .array(metrics)])),
            ("considerations", considerationsValue == .object([:]) ? nil : considerationsValue),
        ])
    }

    static func dataset(_ dataset: ModelCard.Dataset, ref: String) -> MetadataValue {
        EvidenceJSON.object([
            ("type", .string("data")), ("bom-ref", .string(ref)),
            ("name", .string(dataset.name)), ("version", dataset.version.map(MetadataValue.string)),
            ("description", dataset.description.map(MetadataValue.string)),
            ("licenses", licenses(dataset.license)),
            ("hashes", dataset.sha256.map(hashes)),
            ("externalReferences", dataset.url.map { .array([.object(["type": .string("distribution"), "url": .string($0)])]) }),
            ("properties", .array([property("modelsec:dataset-role", dataset.role)])),
            ("data", .array([EvidenceJSON.object([
                ("type", .string("dataset")), ("name", .string(dataset.name)),
                ("classification", dataset.classification.map(MetadataValue.string)),
            ])])),
        ])
    }

    static func baseModel(_ base: ModelCard.BaseModel) -> MetadataValue {
        EvidenceJSON.object([
            ("type", .string("machine-learning-model")), ("bom-ref", .string(baseModelRef)),
            ("name", .string(base.name)), ("version", base.version.map(MetadataValue.string)),
            ("hashes", hashes(base.digestHex)),
            ("externalReferences", base.url.map { .array([.object(["type": .string("distribution"), "url": .string($0)])]) }),
            ("properties", .array([property("modelsec:release-subject-digest", base.digest)])),
        ])
    }
}
