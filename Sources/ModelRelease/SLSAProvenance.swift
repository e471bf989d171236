import Foundation
import ModelSecCrypto
import ModelSigning

/// The release's SLSA provenance v1 (`provenance.dsse.json`, docs/evidence.md):
/// an in-toto v1 statement whose subjects are the released model files (path
/// and SHA-256, as release.json lists them) and whose predicate is a SLSA
/// v1 provenance built from ``ProvenanceBuild``, in a DSSE envelope signed
/// by the release key through ``DSSEEnvelope/sign(payload:payloadType:signer:)``.
public enum SLSAProvenance {
    /// The media type recorded in release.json.
    public static let mediaType = "application/vnd.dsse.envelope.v1+json"
    /// The evidence kind recorded in release.json.
    public static let kind = "slsa-provenance-v1"
    /// The in-toto statement type.
    public static let statementType = "https://in-toto.io/Statement/v1"
    /// The SLSA provenance v1 predicate type.
    public static let predicateType = "https://slsa.dev/provenance/v1"

    /// The statement as a JSON value.
    static func statement(_ subject: EvidenceSubject, build: ProvenanceBuild) -> MetadataValue {
        let subjects = subject.files.map { file in
            MetadataValue.object(["name": .string(file.path), "digest": .object(["sha256": .string(file.sha256)])])
        }
        let builder = EvidenceJSON.object([
            ("id", .string(build.builderID)),
            ("version", .object(["modelsec": .string(subject.toolVersion)])),
        ])
        let metadata = EvidenceJSON.object([
            ("invocationId", build.invocationID.map(MetadataValue.string)),
            ("startedOn", build.startedOn.map(MetadataValue.string)),
            ("finishedOn", build.finishedOn.map(MetadataValue.string)),
        ])
        return .object([
            "_type": .string(statementType),
            "subject": .array(subjects),
            "predicateType": .string(predicateType),
            "predicate": .object([
                "buildDefinition": EvidenceJSON.object([
                    ("buildType", .string(build.buildType)),
                    ("externalParameters", .object(build.externalParameters)),
                    ("internalParameters", build.internalParameters.isEmpty ? nil : .object(build.internalParameters)),
                    ("resolvedDependencies", build.resolvedDependencies.isEmpty ? nil : .array(build.resolvedDependencies)),
                ]),
                "runDetails": .object(["builder": builder, "metadata": metadata]),
            ]),
        ])
    }

    /// The signed envelope's canonical bytes (pretty JSON, sorted keys, final newline).
    public static func encode(_ subject: EvidenceSubject, build: ProvenanceBuild, signer: any Signer) throws -> [UInt8] {
        let payload = try EvidenceJSON.encode(statement(subject, build: build))
        let envelope = try DSSEEnvelope.sign(payload: payload, payloadType: DSSEEnvelope.inTotoPayloadType, signer: signer)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(envelope)) + [UInt8(ascii: "\n")]
    }
}
