import Foundation
import ModelSecCrypto
import ModelSecKeys
import ModelSigning

/// The release signature: a plain OMS v1.0 signature (Sigstore bundle, DSSE,
/// in-toto statement) whose resources are the plaintext model files, by
/// path, plus `release.json` under the name `.modelsec/release.json`. One
/// signature thus binds both the plaintext digests and everything
/// release.json says, and a deployed model directory (which holds
/// `.modelsec/release.json` and `.modelsec/release.sig`) verifies with
/// `modelsec verify` or the OpenSSF `model_signing` tool as it is.
///
/// The statement is signed with ``ModelSigner/sign(subjectName:resources:ignorePaths:signer:)``
/// because the digests are already known (computed while encrypting, in the
/// same read) and the release.json resource does not exist in the model
/// directory; re-hashing a staging view would read every model file twice.
public enum ReleaseSignature {
    /// The outcome of checking a release signature.
    public enum Authentication: Sendable {
        /// A trusted key signed it; the statement's content.
        case trusted(signerKeyID: String, manifest: SignedManifest)
        /// It did not verify: why.
        case rejected(reason: String)
    }

    /// Signs the statement listing `resources` (name, lowercase hex SHA-256)
    /// for the model `subjectName`, recording the release's ignored paths.
    public static func sign(subjectName: String, resources: [(name: String, sha256: String)], signer: any Signer) throws -> SignatureBundle {
        let digested = try resources.map { resource -> DigestedResource in
            guard let digest = Hex.decode(resource.sha256), digest.count == SHA2.SHA256.byteCount else {
                throw ReleaseInputError(path: resource.name, reason: "the SHA-256 is not 64 hex digits")
            }
            return DigestedResource(name: resource.name, sha256: digest)
        }
        return try ModelSigner.sign(subjectName: subjectName, resources: digested,
                                    ignorePaths: ReleaseLayout.ignoredTopLevelNames + [ReleaseLayout.deployedSignaturePath],
                                    signer: signer)
    }

    /// Checks the bundle's DSSE signature against `trustedKeys` (the key hint
    /// only orders the attempts; trust comes from a trusted key verifying),
    /// then decodes the statement with ModelSigning's checks (known predicate,
    /// SHA-256, subject digest matching the resources). `label` names the
    /// signature file in errors.
    public static func authenticate(_ bundle: SignatureBundle, trustedKeys: TrustedKeys, label: String) throws -> Authentication {
        guard let payload = Data(base64Encoded: bundle.dsseEnvelope.payload),
              let first = bundle.dsseEnvelope.signatures.first, let signature = Data(base64Encoded: first.sig) else {
            return .rejected(reason: "the DSSE envelope's payload or signature is not base64")
        }
        let message = DSSEEnvelope.preAuthenticationEncoding(payloadType: bundle.dsseEnvelope.payloadType, payload: Array(payload))
        let hint = bundle.keyHint?.lowercased()
        var candidates = trustedKeys.keys.filter { $0.algorithm.canSign }
        if let hint, let index = candidates.firstIndex(where: { $0.keyID == hint }) {
            candidates.insert(candidates.remove(at: index), at: 0)
        }
        guard let signer = candidates.first(where: { $0.isValidSignature(signature, for: message) }) else {
            if let hint, trustedKeys.key(withID: hint) == nil {
                return .rejected(reason: "signed by key \(hint), which is not a trusted key")
            }
            return .rejected(reason: "the signature does not verify with \(hint.map { "the trusted key \($0)" } ?? "any trusted key")")
        }
        let manifest: SignedManifest
        do {
            manifest = try bundle.manifest(label: label)
        } catch let error as SignatureFormatError {
            return .rejected(reason: "the signed statement is unusable: \(error.reason)")
        }
        return .trusted(signerKeyID: signer.keyID, manifest: manifest)
    }
}
