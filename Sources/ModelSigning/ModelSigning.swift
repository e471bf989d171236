import ModelSecCrypto

/// Signing and verification of model versions in the OpenSSF Model Signing
/// (OMS) v1.0 format: a Sigstore bundle whose DSSE envelope carries an in-toto
/// statement listing the digest of every file of the model.
public enum ModelSigning {}

extension ModelSigning {
    /// The OMS subject digest of resources whose SHA-256 digests are
    /// `digests`, in the statement's order: the SHA-256 of the raw digests
    /// concatenated (what `model_signing` computes for the files method).
    /// The one implementation; the statement builder and the release
    /// evidence both use it.
    public static func subjectDigest(of digests: [[UInt8]]) -> SHA2.Digest {
        ModelSerializer.rootDigest(digests)
    }
}
