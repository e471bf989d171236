/// The steps of the deploy gate, in the order they run.
public enum DeployStepName: String, Codable, Sendable, CaseIterable {
    /// release.sig verifies with a trusted key.
    case signature
    /// release.json is exactly what was signed and agrees with the signed file list.
    case manifest
    /// The release is in the transparency log: its tlog-proof checks against
    /// the log key (and witnesses) for exactly this release's entry.
    case log
    /// The deploy token is valid and grants `model:deploy:NAME@VERSION`.
    case token
    /// Every artifact decrypts and its plaintext size and SHA-256 match.
    case decrypt
    /// The decrypted plaintext is scanned afresh; it fails when the plaintext
    /// holds a finding that release.json's recorded scan does not.
    case scan
    /// The policy passes.
    case policy
    /// MODEL_DIR is put in place (one rename).
    case install
}

/// How a step turned out.
public enum DeployStepStatus: String, Codable, Sendable {
    /// It ran and passed.
    case passed
    /// It ran and failed: the gate stopped here.
    case failed
    /// It was not asked for (no token, no policy).
    case skipped
    /// An earlier step failed, so it did not run.
    case notRun = "not-run"
}

/// One step of the report.
public struct DeployStep: Codable, Sendable, Equatable {
    /// Which step.
    public let name: DeployStepName
    /// How it turned out.
    public let status: DeployStepStatus
    /// What it found (for a failure: why).
    public let detail: String
}

/// What the deploy gate did: every step, the first failure, and the outcome.
public struct DeployReport: Codable, Sendable, Equatable {
    /// The release directory checked.
    public let releaseDirectory: String
    /// Where the model was to go.
    public let output: String
    /// `NAME@VERSION`, once release.json is authentic.
    public let release: String?
    /// The signer's key id, once the signature verified.
    public let signerKeyID: String?
    /// Every step, in order.
    public let steps: [DeployStep]
    /// True only when every step passed or was skipped and MODEL_DIR is in place.
    public let deployed: Bool
    /// The gate's own scan of the decrypted plaintext, once the `scan` step ran.
    public let scan: ReleaseManifest.ScanResult?

    /// The step that failed, if any.
    public var failedStep: DeployStep? { steps.first { $0.status == .failed } }

    /// One line for people: what was deployed, or which step failed and why.
    public var summary: String {
        if let failed = failedStep { return "deploy gate refused \(releaseDirectory): \(failed.name.rawValue) step failed: \(failed.detail)" }
        return "deployed \(release ?? "release") to \(output) (signed by \(signerKeyID ?? "?"))"
    }
}
