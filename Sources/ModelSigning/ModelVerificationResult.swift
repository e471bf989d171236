/// The outcome of verifying a model against a signature, with enough detail
/// for a deploy step to say exactly what is wrong.
public struct ModelVerificationResult: Sendable, Equatable, Codable {
    /// What the verification concluded.
    public enum Outcome: String, Sendable, Codable {
        /// The model is exactly what a trusted key signed.
        case verified
        /// The signature is good but files were modified, are missing, or are
        /// extra (see the lists).
        case contentMismatch = "content-mismatch"
        /// The signature names a key that is not trusted (see `claimedKeyID`).
        case untrustedSigner = "untrusted-signer"
        /// No trusted key's signature verifies over the statement.
        case invalidSignature = "invalid-signature"
    }

    /// The conclusion.
    public let outcome: Outcome
    /// The model's name as signed.
    public let modelName: String?
    /// The trusted key whose signature verified (nil unless the signature is good).
    public let signerKeyID: String?
    /// The key id the signature claims (its hint), which may be untrusted.
    public let claimedKeyID: String?
    /// The subject digest of the statement, when the signature verified.
    public let subjectDigest: String?
    /// `files` or `shards`.
    public let method: String?
    /// Files whose content was checked and matched.
    public let verifiedFileCount: Int
    /// Files present in both but with different content (paths relative to the model).
    public let modified: [String]
    /// Signed files absent from the model.
    public let missing: [String]
    /// Files in the model that the signature does not cover.
    public let extra: [String]
    /// A one-line summary for people.
    public let summary: String

    /// True only for `.verified`.
    public var isVerified: Bool { outcome == .verified }

    init(outcome: Outcome, modelName: String?, signerKeyID: String?, claimedKeyID: String?, subjectDigest: String?,
         method: String?, verifiedFileCount: Int, modified: [String] = [], missing: [String] = [], extra: [String] = [], summary: String) {
        self.outcome = outcome
        self.modelName = modelName
        self.signerKeyID = signerKeyID
        self.claimedKeyID = claimedKeyID
        self.subjectDigest = subjectDigest
        self.method = method
        self.verifiedFileCount = verifiedFileCount
        self.modified = modified
        self.missing = missing
        self.extra = extra
        self.summary = summary
    }
}
