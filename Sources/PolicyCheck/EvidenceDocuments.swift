import Foundation
import ModelRelease
import ModelSecCrypto
import ModelSecIO

/// The evidence files a release lists in release.json (`evidence`, see
/// docs/evidence.md), read for the evidence checks. Each file is read from
/// the release directory only if its SHA-256 is the one release.json records
/// (release.json itself is what the signature rules authenticate), so a
/// check never judges a document that is not the signed one.
enum EvidenceDocuments {
    /// Why a document cannot be judged.
    struct Problem: Error {
        let message: String
    }

    /// The parsed JSON of the evidence file `name` of `evidence`'s release.
    static func load(_ name: String, _ evidence: ReleaseEvidence) -> Result<JSONValue, Problem> {
        let entries = evidence.manifest["evidence"]?.arrayValue ?? []
        guard let entry = entries.first(where: { $0["path"]?.stringValue.map { Array($0.utf8) == Array(name.utf8) } == true }) else {
            return .failure(Problem(message: "the release lists no \(name) in release.json (made without evidence files)"))
        }
        guard let recorded = entry["sha256"]?.stringValue, let expected = Hex.decode(recorded), expected.count == SHA2.SHA256.byteCount else {
            return .failure(Problem(message: "release.json records no SHA-256 for \(name)"))
        }
        let path = (evidence.directory as NSString).appendingPathComponent(name)
        let bytes: [UInt8]
        do { bytes = try FileIO.readRegularFile(path, limit: ReleaseAuthentication.maximumEvidenceSize) } catch {
            return .failure(Problem(message: "\(name) cannot be read: \((error as? FileError)?.reason ?? "unreadable")"))
        }
        guard ConstantTime.equals(SHA2.SHA256.hash(data: bytes).bytes, expected) else {
            return .failure(Problem(message: "\(name) is not the file release.json records (its SHA-256 differs)"))
        }
        do { return .success(try JSONValue(parsing: Data(bytes))) } catch let ambiguity as UnambiguousJSON.Ambiguity {
            return .failure(Problem(message: "\(name) is JSON that readers could read two ways: \(ambiguity)"))
        } catch {
            return .failure(Problem(message: "\(name) is not JSON"))
        }
    }

    /// The CycloneDX BOM.
    static func bom(_ evidence: ReleaseEvidence) -> Result<JSONValue, Problem> {
        load(ReleaseLayout.cycloneDXFile, evidence).flatMap { bom in
            guard bom["bomFormat"]?.stringValue == "CycloneDX", bom["metadata"]?["component"]?.objectValue != nil else {
                return .failure(Problem(message: "\(ReleaseLayout.cycloneDXFile) is not a CycloneDX BOM with a model component"))
            }
            return .success(bom)
        }
    }

    /// The in-toto statement inside the provenance envelope (an in-toto v1
    /// statement with a SLSA provenance v1 predicate).
    static func provenance(_ evidence: ReleaseEvidence) -> Result<JSONValue, Problem> {
        load(ReleaseLayout.provenanceFile, evidence).flatMap { envelope in
            let name = ReleaseLayout.provenanceFile
            guard envelope["payloadType"]?.stringValue == "application/vnd.in-toto+json",
                  let encoded = envelope["payload"]?.stringValue, let payload = Data(base64Encoded: encoded) else {
                return .failure(Problem(message: "\(name) is not a DSSE envelope of an in-toto statement"))
            }
            let statement: JSONValue
            do { statement = try JSONValue(parsing: payload) } catch let ambiguity as UnambiguousJSON.Ambiguity {
                return .failure(Problem(message: "\(name)'s statement is JSON that readers could read two ways: \(ambiguity)"))
            } catch {
                return .failure(Problem(message: "\(name) is not a DSSE envelope of an in-toto statement"))
            }
            guard statement["_type"]?.stringValue == SLSAProvenance.statementType,
                  statement["predicateType"]?.stringValue == SLSAProvenance.predicateType else {
                return .failure(Problem(message: "\(name) is not an in-toto v1 statement of SLSA provenance v1"))
            }
            return .success(statement)
        }
    }

    /// The BOM's model component.
    static func model(_ bom: JSONValue) -> JSONValue { bom["metadata"]?["component"] ?? .null }

    /// The BOM's data set components (type `data`).
    static func datasets(_ bom: JSONValue) -> [JSONValue] {
        (bom["components"]?.arrayValue ?? []).filter { $0["type"]?.stringValue == "data" }
    }

    /// The SHA-256 of a component (`hashes` entry with `alg` SHA-256), if any.
    static func sha256(_ component: JSONValue) -> String? {
        (component["hashes"]?.arrayValue ?? []).first { $0["alg"]?.stringValue == "SHA-256" }?["content"]?.stringValue
    }

    /// The licence expression of a component (its `licenses[].expression`), if it has exactly one.
    static func licenseExpression(_ component: JSONValue) -> String? {
        let expressions = (component["licenses"]?.arrayValue ?? []).compactMap { $0["expression"]?.stringValue }
        return expressions.count == 1 ? expressions[0] : nil
    }

    /// A component's name for messages.
    static func label(_ component: JSONValue) -> String {
        component["name"]?.stringValue ?? component["bom-ref"]?.stringValue ?? "?"
    }
}
