import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys
import ModelSigning

/// A release whose signature verified with a trusted key and whose
/// `release.json` is exactly what was signed.
public struct AuthenticRelease: Sendable {
    /// The release directory.
    public let directory: String
    /// The parsed release.json.
    public let manifest: ReleaseManifest
    /// release.json's exact bytes.
    public let manifestBytes: [UInt8]
    /// The signature bundle's exact bytes.
    public let signatureBytes: [UInt8]
    /// The trusted key that signed it.
    public let signerKeyID: String
    /// The signed statement's subject digest.
    public let subjectDigest: String
    /// Each evidence file release.json lists, with its exact bytes (checked
    /// against the signed digest), in release.json's order.
    public let evidence: [(entry: ReleaseManifest.EvidenceFile, bytes: [UInt8])]

    /// The bytes of the evidence file named `path`, if the release has it.
    public func evidenceBytes(_ path: String) -> [UInt8]? {
        evidence.first { Array($0.entry.path.utf8) == Array(path.utf8) }?.bytes
    }
}

/// The first two steps of the deploy gate, usable on their own (by `release
/// inspect --trusted-keys`, or a policy checker that needs to know a release
/// is authentic): the signature verifies with a trusted key, and release.json
/// matches the signed resource and agrees with the signed artifact list.
/// Nothing is decrypted.
public enum ReleaseAuthentication {
    /// The outcome.
    public enum Outcome: Sendable {
        /// Authentic.
        case authentic(AuthenticRelease)
        /// Not: which step (`signature` or `manifest`) and why.
        case rejected(step: DeployStepName, reason: String)
    }

    /// Largest release.json and release.sig read (both list one entry per file).
    public static let maximumFileSize = 256 << 20
    /// Largest evidence file read (a BOM lists every model file).
    public static let maximumEvidenceSize = 64 << 20

    /// Checks the release in `directory` against `trustedKeys`.
    public static func check(directory: String, trustedKeys: TrustedKeys) -> Outcome {
        let signaturePath = directory + "/" + ReleaseLayout.signatureFile
        let manifestPath = directory + "/" + ReleaseLayout.manifestFile

        // Step 1: the signature.
        let signatureBytes: [UInt8]
        switch read(signaturePath, limit: maximumFileSize) {
        case let .success(bytes): signatureBytes = bytes
        case let .failure(unreadable): return .rejected(step: .signature, reason: unreadable.reason)
        }
        let bundle: SignatureBundle
        do { bundle = try SignatureBundle(jsonData: Data(signatureBytes), label: signaturePath) } catch {
            return .rejected(step: .signature, reason: "\(error)")
        }
        let signerKeyID: String, signed: SignedManifest
        do {
            switch try ReleaseSignature.authenticate(bundle, trustedKeys: trustedKeys, label: signaturePath) {
            case let .rejected(reason): return .rejected(step: .signature, reason: "\(signaturePath): \(reason)")
            case let .trusted(keyID, manifest): (signerKeyID, signed) = (keyID, manifest)
            }
        } catch {
            return .rejected(step: .signature, reason: "\(error)")
        }

        // Step 2: release.json is what was signed, and agrees with the signed list.
        func reject(_ reason: String) -> Outcome { .rejected(step: .manifest, reason: "\(manifestPath): \(reason)") }
        guard signed.method == .files else { return reject("the release signature must use the files method") }
        // Names are matched as exact bytes: a String-keyed dictionary would
        // treat NFC and NFD spellings (two different files) as one.
        var signedDigests: [[UInt8]: String] = [:]
        for resource in signed.resources {
            guard resource.algorithm == "sha256" else { return reject("signed resource \"\(resource.name)\" is not sha256") }
            guard signedDigests.updateValue(resource.digest, forKey: Array(resource.name.utf8)) == nil else {
                return reject("the signature lists \(ReleaseManifest.quoted(resource.name)) twice")
            }
        }
        guard let signedManifestDigest = signedDigests.removeValue(forKey: Array(ReleaseLayout.manifestResourceName.utf8)) else {
            return reject("the signature does not cover release.json (no \(ReleaseLayout.manifestResourceName) resource): not a release signature")
        }
        let manifestBytes: [UInt8]
        switch read(manifestPath, limit: maximumFileSize) {
        case let .success(bytes): manifestBytes = bytes
        case let .failure(unreadable): return .rejected(step: .manifest, reason: unreadable.reason)
        }
        guard let expected = Hex.decode(signedManifestDigest),
              ConstantTime.equals(SHA2.SHA256.hash(data: manifestBytes).bytes, expected) else {
            return reject("release.json was modified after signing (its SHA-256 does not match the signed digest)")
        }
        let manifest: ReleaseManifest
        do { manifest = try ReleaseManifest(jsonData: Data(manifestBytes), label: manifestPath) } catch {
            return reject("\((error as? ReleaseVerificationError)?.reason ?? "\(error)")")
        }
        guard Array(manifest.signer.keyID.lowercased().utf8) == Array(signerKeyID.utf8) else {
            return reject("names signer \(manifest.signer.keyID) but the trusted key \(signerKeyID) signed it")
        }
        guard Array(signed.modelName.utf8) == Array(manifest.name.utf8) else {
            return reject("names the release \"\(manifest.name)\" but the signature's subject is \"\(signed.modelName)\"")
        }
        for artifact in manifest.artifacts {
            guard let digest = signedDigests.removeValue(forKey: Array(artifact.path.utf8)) else {
                return reject("artifact \(ReleaseManifest.quoted(artifact.path)) is not covered by the signature")
            }
            guard Array(digest.utf8) == Array(artifact.sha256.utf8) else {
                return reject("artifact \(ReleaseManifest.quoted(artifact.path)) has a digest different from the signed one")
            }
        }
        var evidence: [(entry: ReleaseManifest.EvidenceFile, bytes: [UInt8])] = []
        for entry in manifest.evidence ?? [] {
            let name = ReleaseLayout.evidenceResourceName(entry.path)
            guard let digest = signedDigests.removeValue(forKey: Array(name.utf8)) else {
                return reject("evidence file \(entry.path) is not covered by the signature (no \(name) resource)")
            }
            guard Array(digest.utf8) == Array(entry.sha256.utf8) else {
                return reject("evidence file \(entry.path) has a digest different from the signed one")
            }
            let path = directory + "/" + entry.path
            let bytes: [UInt8]
            switch read(path, limit: maximumEvidenceSize) {
            case let .success(read): bytes = read
            case let .failure(unreadable): return .rejected(step: .manifest, reason: unreadable.reason)
            }
            guard let expected = Hex.decode(digest), ConstantTime.equals(SHA2.SHA256.hash(data: bytes).bytes, expected) else {
                return .rejected(step: .manifest, reason: "\(path): modified after signing (its SHA-256 does not match the signed digest)")
            }
            evidence.append((entry, bytes))
        }
        if let extra = signedDigests.keys.map({ String(decoding: $0, as: UTF8.self) }).sorted().first {
            return reject("the signature covers \(ReleaseManifest.quoted(extra)), which release.json does not list")
        }
        return .authentic(AuthenticRelease(directory: directory, manifest: manifest, manifestBytes: manifestBytes,
                                           signatureBytes: signatureBytes, signerKeyID: signerKeyID,
                                           subjectDigest: signed.subjectDigest, evidence: evidence))
    }

    /// Why a file of the release could not be read: `PATH: reason`.
    private struct Unreadable: Error {
        let reason: String
    }

    /// The regular file at `path` (at most `limit` bytes), or why not.
    private static func read(_ path: String, limit: Int) -> Result<[UInt8], Unreadable> {
        do { return .success(try FileIO.readRegularFile(path, limit: limit)) } catch let error as FileError {
            return .failure(Unreadable(reason: "\(path): \(error.reason)"))
        } catch {
            return .failure(Unreadable(reason: "\(path): unreadable"))
        }
    }
}
