import ModelSecCrypto

/// The release's SPDX 3.0.1 document with the AI and Dataset profiles
/// (`bom.spdx.json`, JSON-LD, docs/evidence.md): the same facts as the
/// CycloneDX BOM. The model is an `ai_AIPackage` containing one
/// `software_File` per model file, the data sets are
/// `dataset_DatasetPackage`s it was `trainedOn` / `testedOn`, the base model
/// an `ai_AIPackage` that is its `ancestorOf`, and licences are
/// `simplelicensing_LicenseExpression`s it `hasDeclaredLicense`.
/// Deterministic like the BOM; element ids are `urn:modelsec:spdx:<uuid>:<local>`
/// with the UUID of the CycloneDX serial number.
public enum SPDXDocument {
    /// The media type recorded in release.json.
    public static let mediaType = "application/spdx+json"
    /// The evidence kind recorded in release.json.
    public static let kind = "spdx-3.0.1"

    /// The document's canonical bytes.
    public static func encode(_ subject: EvidenceSubject) throws -> [UInt8] {
        try EvidenceJSON.encode(document(subject))
    }

    static func document(_ subject: EvidenceSubject) -> MetadataValue {
        let uuid = String(CycloneDXBOM.serialNumber(subject).dropFirst("urn:uuid:".count))
        let base = "urn:modelsec:spdx:\(uuid):"
        func id(_ local: String) -> MetadataValue { .string(base + local) }
        let info: (String, MetadataValue?) = ("creationInfo", .string("_:creationinfo"))
        func hash(_ sha256: String) -> MetadataValue {
            .array([.object(["type": .string("Hash"), "algorithm": .string("sha256"), "hashValue": .string(sha256)])])
        }
        func entries(_ pairs: [(String, String)]) -> MetadataValue? {
            pairs.isEmpty ? nil : .array(pairs.map { .object(["type": .string("DictionaryEntry"), "key": .string($0.0), "value": .string($0.1)]) })
        }
        let card = subject.card
        var graph: [MetadataValue] = []
        var elements: [MetadataValue] = []
        func add(_ element: MetadataValue) {
            graph.append(element)
            if let spdxID = element.objectValue?["spdxId"] { elements.append(spdxID) }
        }
        var relationshipCount = 0
        func relate(_ from: MetadataValue, _ type: String, _ to: [MetadataValue]) {
            guard !to.isEmpty else { return }
            relationshipCount += 1
            add(EvidenceJSON.object([
                ("type", .string("Relationship")), ("spdxId", id("relationship-\(relationshipCount)")), info,
                ("from", from), ("relationshipType", .string(type)), ("to", .array(to)),
            ]))
        }
        var licenseCount = 0
        func declareLicense(of element: MetadataValue, _ expression: String?) {
            guard let expression else { return }
            licenseCount += 1
            let licenseID = id("license-\(licenseCount)")
            add(EvidenceJSON.object([
                ("type", .string("simplelicensing_LicenseExpression")), ("spdxId", licenseID), info,
                ("simplelicensing_licenseExpression", .string(expression)),
            ]))
            relate(element, "hasDeclaredLicense", [licenseID])
        }

        let creationInfo = MetadataValue.object([
            "type": .string("CreationInfo"), "@id": .string("_:creationinfo"), "specVersion": .string("3.0.1"),
            "created": .string(subject.createdAt), "createdBy": .array([id("agent-modelsec")]), "createdUsing": .array([id("tool-modelsec")]),
        ])
        add(EvidenceJSON.object([("type", .string("SoftwareAgent")), ("spdxId", id("agent-modelsec")), info, ("name", .string("modelsec"))]))
        add(EvidenceJSON.object([("type", .string("Tool")), ("spdxId", id("tool-modelsec")), info, ("name", .string("modelsec \(subject.toolVersion)"))]))
        if let owner = card?.owner {
            add(EvidenceJSON.object([("type", .string("Organization")), ("spdxId", id("owner")), info, ("name", .string(owner))]))
        }

        let model = id("model")
        let parameters = card?.fields["model_parameters"]?.objectValue ?? [:]
        let considerations = card?.fields["considerations"]?.objectValue ?? [:]
        let limitations: [String] = {
            guard case let .array(items)? = considerations["technical_limitations"] else { return [] }
            return items.compactMap(\.stringValue)
        }()
        let typeOfModel = ["architecture_family", "model_architecture"].compactMap { parameters[$0]?.stringValue }
        add(EvidenceJSON.object([
            ("type", .string("ai_AIPackage")), ("spdxId", model), info,
            ("name", .string(subject.name)), ("software_packageVersion", .string(subject.version)),
            ("software_primaryPurpose", .string("model")), ("releaseTime", .string(subject.createdAt)),
            ("description", card?.fields["description"]),
            ("suppliedBy", card?.owner == nil ? nil : id("owner")),
            ("verifiedUsing", hash(subject.omsDigest)),
            ("ai_typeOfModel", typeOfModel.isEmpty ? nil : .array(typeOfModel.map(MetadataValue.string))),
            ("ai_domain", parameters["task"].map { .array([$0]) }),
            ("ai_hyperparameter", entries(card?.hyperparameters ?? [])),
            ("ai_metric", entries((card?.metrics ?? []).map { ($0.name, EvidenceJSON.numberText($0.value)) })),
            ("ai_limitation", limitations.isEmpty ? nil : .string(limitations.joined(separator: "; "))),
            ("ai_informationAboutApplication", card?.intendedUse.map(MetadataValue.string)),
            ("ai_informationAboutTraining", card?.trainingDataText.map(MetadataValue.string)),
        ]))

        let files = subject.files.enumerated().map { index, file -> MetadataValue in
            let fileID = id("file-\(index + 1)")
            add(EvidenceJSON.object([
                ("type", .string("software_File")), ("spdxId", fileID), info, ("name", .string(file.path)), ("verifiedUsing", hash(file.sha256)),
            ]))
            return fileID
        }
        relate(model, "contains", files)
        declareLicense(of: model, card?.license)

        var trainedOn: [MetadataValue] = [], testedOn: [MetadataValue] = []
        for (index, dataset) in (card?.datasets ?? []).enumerated() {
            let datasetID = id("dataset-\(index + 1)")
            add(EvidenceJSON.object([
                ("type", .string("dataset_DatasetPackage")), ("spdxId", datasetID), info,
                ("name", .string(dataset.name)), ("software_packageVersion", dataset.version.map(MetadataValue.string)),
                ("software_primaryPurpose", .string("data")), ("software_downloadLocation", dataset.url.map(MetadataValue.string)),
                ("description", dataset.description.map(MetadataValue.string)),
                ("verifiedUsing", dataset.sha256.map(hash)), ("dataset_datasetType", .array([.string("noAssertion")])),
            ]))
            declareLicense(of: datasetID, dataset.license)
            if ["training", "fine-tuning"].contains(dataset.role) { trainedOn.append(datasetID) } else { testedOn.append(datasetID) }
        }
        relate(model, "trainedOn", trainedOn)
        relate(model, "testedOn", testedOn)
        if let baseModel = card?.baseModel {
            let baseID = id("base-model")
            add(EvidenceJSON.object([
                ("type", .string("ai_AIPackage")), ("spdxId", baseID), info, ("name", .string(baseModel.name)),
                ("software_packageVersion", baseModel.version.map(MetadataValue.string)),
                ("software_downloadLocation", baseModel.url.map(MetadataValue.string)),
                ("software_primaryPurpose", .string("model")), ("verifiedUsing", hash(baseModel.digestHex)),
            ]))
            relate(baseID, "ancestorOf", [model])
        }

        let document = EvidenceJSON.object([
            ("type", .string("SpdxDocument")), ("spdxId", id("document")), info,
            ("name", .string("\(subject.name)@\(subject.version)")),
            ("profileConformance", .array(["core", "software", "ai", "dataset", "simpleLicensing"].map(MetadataValue.string))),
            ("rootElement", .array([model])),
            ("element", .array(elements)),
        ])
        return .object([
            "@context": .string("https://spdx.org/rdf/3.0.1/spdx-context.jsonld"),
            "@graph": .array([creationInfo, document] + graph),
        ])
    }
}
