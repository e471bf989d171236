import ModelSecIO

/// Why a directory given to an audit could not be judged as a release.
/// `ReleaseEvidenceLoader`s throw it; an audit reports each one as a failed
/// `release-readable` result and goes on with the other releases.
public enum AuditError: ModelSecError, Equatable {
    /// The path does not exist or is not a directory.
    case notADirectory(path: String)
    /// The directory has no `release.json`.
    case noManifest(directory: String, manifest: String)
    /// `release.json` is not JSON.
    case manifestNotJSON(manifest: String, reason: String? = nil)
    /// `release.json` is JSON but not an object.
    case manifestNotObject(manifest: String)
    /// `release.json` has no non-empty string `name` or `version` (named by
    /// `missing`), so the release cannot be identified or waived.
    case manifestUnidentified(manifest: String, missing: String)
    /// A private temporary directory for rescanning could not be made.
    case scratchUnavailable(path: String)

    public var category: FailureCategory { .invalidInput }

    public var code: String {
        switch self {
        case .notADirectory: return "audit.not-a-directory"
        case .noManifest: return "audit.not-a-release"
        case .manifestNotJSON: return "audit.release-json-not-json"
        case .manifestNotObject: return "audit.release-json-not-object"
        case .manifestUnidentified: return "audit.release-json-unidentified"
        case .scratchUnavailable: return "audit.scratch-unavailable"
        }
    }

    public var path: String? {
        switch self {
        case let .notADirectory(path), let .scratchUnavailable(path): return path
        case let .noManifest(_, manifest), let .manifestNotJSON(manifest, _), let .manifestNotObject(manifest),
             let .manifestUnidentified(manifest, _): return manifest
        }
    }

    public var description: String {
        switch self {
        case let .notADirectory(path): return "\(path): not a release directory (it does not exist or is not a directory)"
        case let .noManifest(directory, _): return "\(directory): not a release directory (it has no release.json)"
        case let .manifestNotJSON(manifest, reason): return "\(manifest): not valid JSON" + (reason.map { ": \($0)" } ?? "")
        case let .manifestNotObject(manifest): return "\(manifest): release.json is not a JSON object"
        case let .manifestUnidentified(manifest, missing): return "\(manifest): release.json has no \(missing)"
        case let .scratchUnavailable(path): return "\(path): cannot create a private temporary directory for rescanning"
        }
    }
}
