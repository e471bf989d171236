import Foundation
import ModelSecIO

/// Where things are in a release directory and in a deployed model directory.
///
/// ```
/// RELEASE_DIR/
///   release.json                 the manifest (ReleaseManifest), signed
///   release.sig                  OMS v1.0 Sigstore bundle over the model files + release.json
///   artifacts/<path>.enc         each model file, encrypted (modelsec encryption format v1)
///   bom.cdx.json                 CycloneDX 1.6 ML-BOM, signed (docs/evidence.md)
///   bom.spdx.json                SPDX 3.0.1 JSON-LD with the AI profile, signed (--bom-format spdx|both)
///   provenance.dsse.json         SLSA provenance v1 in a DSSE envelope, signed
/// MODEL_DIR/                     (written by the deploy gate)
///   <path>                       each model file, decrypted and checked
///   .modelsec/release.json       the manifest, byte for byte
///   .modelsec/release.sig        the signature
///   .modelsec/<evidence file>    each evidence file release.json lists, byte for byte
/// ```
public enum ReleaseLayout {
    /// The manifest's file name in a release directory.
    public static let manifestFile = "release.json"
    /// The signature's file name in a release directory.
    public static let signatureFile = "release.sig"
    /// The directory holding the encrypted artifacts.
    public static let artifactsDirectory = "artifacts"
    /// Appended to a model file's path to name its encrypted artifact.
    public static let encryptedSuffix = ".enc"
    /// The top-level directory of a model that holds release provenance; a
    /// model given to `release create` must not have one.
    public static let provenanceDirectory = ".modelsec"
    /// The signed resource name of `release.json` (also its path in a deployed model directory).
    public static let manifestResourceName = ".modelsec/release.json"
    /// The signature's path in a deployed model directory.
    public static let deployedSignaturePath = ".modelsec/release.sig"
    /// The CycloneDX ML-BOM's file name (release directory; `.modelsec/` when deployed).
    public static let cycloneDXFile = "bom.cdx.json"
    /// The SPDX 3.0.1 document's file name.
    public static let spdxFile = "bom.spdx.json"
    /// The signed SLSA provenance's file name (a DSSE envelope).
    public static let provenanceFile = "provenance.dsse.json"
    /// Every evidence file name a release may list, in the order it lists them.
    public static let evidenceFiles = [cycloneDXFile, spdxFile, provenanceFile]

    /// An evidence file's signed resource name, which is also its path in a
    /// deployed model directory: `.modelsec/<name>`.
    public static func evidenceResourceName(_ name: String) -> String { "\(provenanceDirectory)/\(name)" }

    /// Top-level names left out of a release, as OMS signing leaves them out.
    public static let ignoredTopLevelNames = [".git", ".gitattributes", ".github", ".gitignore"]

    /// The encrypted artifact path (relative to the release directory) of a model file.
    public static func encryptedPath(for modelPath: String) -> String {
        "\(artifactsDirectory)/\(modelPath)\(encryptedSuffix)"
    }

    /// The encrypted artifact path (relative to the release directory) of a model file.
    public static func encryptedPath(for modelPath: ModelPath) -> ModelPath {
        ModelPath(bytes: Array("\(artifactsDirectory)/".utf8) + modelPath.bytes + Array(encryptedSuffix.utf8))
    }

    /// True when `path` is a safe relative path (``ModelPath/safeRelative(_:)``:
    /// judged on its UTF-8 bytes, split on `/`, no empty, `.` or `..`
    /// components, no NUL, at most 4096 bytes). Release paths are joined to
    /// output directories, so anything else could escape them.
    public static func isSafeRelativePath(_ path: String) -> Bool {
        ModelPath.safeRelative(path) != nil
    }
}
