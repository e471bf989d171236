import Foundation
import ModelRelease
import ModelSecCrypto
import ModelSecKeys
import ModelSecIO
import ModelSigning

/// Verifies a release directory's signature with the release module's
/// `ReleaseAuthentication.check` (signature by a trusted key, release.json
/// exactly as signed, artifact list as signed; nothing decrypted), and makes
/// sure the release.json the policy judged is byte for byte the authentic one.
/// `@unchecked Sendable`: the only mutable state, `cache`, is read and written under `lock`.
public final class ReleaseDirectoryAuthenticator: ReleaseAuthenticator, @unchecked Sendable {
    /// The release directory.
    public let directory: String
    /// SHA-256 of the release.json bytes the evidence was parsed from.
    private let evaluatedManifestDigest: [UInt8]
    private let lock = NSLock()
    private var cache: [[String]: AuthenticityVerdict] = [:]

    /// An authenticator for `directory` whose evidence came from release.json bytes with SHA-256 `manifestDigest`.
    public init(directory: String, manifestDigest: [UInt8]) {
        self.directory = directory
        self.evaluatedManifestDigest = manifestDigest
    }

    public func authenticate(trusting trustedKeys: [PublicKey]) -> AuthenticityVerdict {
        let cacheKey = trustedKeys.map(\.keyID).sorted()
        lock.lock()
        if let cached = cache[cacheKey] { lock.unlock(); return cached }
        lock.unlock()
        let verdict: AuthenticityVerdict
        switch ReleaseAuthentication.check(directory: directory, trustedKeys: TrustedKeys(trustedKeys)) {
        case let .rejected(step, reason):
            verdict = .failed(reason: "\(step.rawValue) step: \(reason)")
        case let .authentic(release):
            if ConstantTime.equals(SHA2.SHA256.hash(data: release.manifestBytes).bytes, evaluatedManifestDigest) {
                verdict = .verified(keyID: release.signerKeyID)
            } else {
                verdict = .failed(reason: "release.json changed while it was being audited")
            }
        }
        lock.lock()
        cache[cacheKey] = verdict
        lock.unlock()
        return verdict
    }
}

extension ReleaseDirectoryAuthenticator {
    /// Reads release.sig, finds the signing certificate's key through
    /// `trust` (path to its roots at `trust.time`, revocation, identity),
    /// then verifies the whole release with that key as the only trusted one.
    public func authenticate(certifiedBy trust: CertificateTrust) -> AuthenticityVerdict {
        let path = directory + "/" + ReleaseLayout.signatureFile
        let signer: CertifiedSigner
        do {
            let bytes = try FileIO.readRegularFile(path, limit: ReleaseAuthentication.maximumFileSize)
            let bundle = try SignatureBundle(jsonData: Data(bytes), label: path)
            signer = try trust.signer(of: bundle, label: path)
        } catch let error as FileError {
            return .failed(reason: "\(path): \(error.reason)")
        } catch {
            return .failed(reason: "\(error)")
        }
        switch authenticate(trusting: [signer.publicKey]) {
        case let .verified(keyID), let .certified(keyID, _, _):
            return .certified(keyID: keyID, subject: signer.certificate.subject, identities: signer.subjectAlternativeNames)
        case let .failed(reason):
            return .failed(reason: reason)
        }
    }
}

/// The evidence loader `modelsec audit` uses: release.json read from the
/// release directory, signatures verified by the release module.
public enum DefaultReleaseLoading {
    /// The loader for release directories made by `modelsec release create`.
    public static var loader: any ReleaseEvidenceLoader {
        ManifestEvidenceLoader { directory, manifestDigest in
            ReleaseDirectoryAuthenticator(directory: directory, manifestDigest: manifestDigest)
        }
    }
}
