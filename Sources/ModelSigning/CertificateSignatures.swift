import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelSecKeys

/// The OMS `certificate` method: the signer's X.509 chain travels in the
/// bundle (`verificationMaterial.x509CertificateChain`, signing certificate
/// first), and a verifier trusts CA roots instead of keys. The DSSE signature
/// does not cover the verification material, so the chain is attached to a
/// bundle signed the usual way, after checking that it names the signing key.
extension SignatureBundle {
    /// This bundle with `chain` (signing certificate first, then
    /// intermediates) as its verification material instead of a key id.
    /// Refused unless the signing certificate holds `publicKey`, the key that
    /// made the signature.
    public func attachingCertificateChain(_ chain: [X509Certificate], publicKey: PublicKey) throws -> SignatureBundle {
        try Self.checkSigningChain(chain, publicKey: publicKey)
        var copy = self
        copy.verificationMaterial = VerificationMaterial(certificateChain: chain.map(\.derRepresentation))
        return copy
    }

    /// Checks that `chain` can go in a bundle signed by `publicKey`: at least
    /// one and at most ``VerificationMaterial/maximumCertificateCount``
    /// certificates, the first holding exactly that key (call it before
    /// hashing a large model, to fail early).
    public static func checkSigningChain(_ chain: [X509Certificate], publicKey: PublicKey) throws {
        guard let leaf = chain.first else { throw CertificateError.noCertificates(path: nil) }
        guard chain.count <= VerificationMaterial.maximumCertificateCount else { throw CertificateError.tooManyCertificates(path: nil) }
        guard leaf.subjectPublicKeyInfo == publicKey.spkiDER else { throw CertificateError.keyMismatch(subject: leaf.subject) }
    }
}

/// Who a certificate says signed: the validated signing certificate and the
/// path to the root it chains to.
public struct CertifiedSigner: Sendable {
    /// The signing (leaf) certificate.
    public let certificate: X509Certificate
    /// The validated path, signing certificate first, trusted root last.
    public let path: [X509Certificate]
    /// The signing certificate's public key (it must verify the signature).
    public let publicKey: PublicKey

    /// The signing certificate's subject alternative names, as text.
    public var subjectAlternativeNames: [String] { certificate.subjectAlternativeNames.map(\.description) }
}

/// Trust in signers by certificate: CA roots, optional CRLs, and the
/// identity (a subject alternative name) and OIDC issuer the signing
/// certificate must carry. The path is validated with OpenSSL at ``time``
/// (now by default; the reference tool uses the leaf's start date, which lets
/// expired certificates pass). The signing certificate must have a key
/// usage extension allowing digitalSignature and an extended key usage
/// extension including codeSigning (both required, as sigstore-python
/// requires them; docs/signing.md compares the peers).
public struct CertificateTrust: Sendable {
    /// Trusted root certificates.
    public var roots: [X509Certificate]
    /// DER CRLs; when any is given the signing certificate is checked against its issuer's CRL (OpenSSL's CRL_CHECK: intermediates are not checked).
    public var crls: [[UInt8]]
    /// A subject alternative name the signing certificate must hold: an
    /// e-mail (rfc822Name) or URI name, compared as exact bytes (never a DNS
    /// name or IP address).
    public var identity: String?
    /// The OIDC issuer the signing certificate must record (Fulcio's
    /// extension 1.3.6.1.4.1.57264.1.8, or the older 1.3.6.1.4.1.57264.1.1).
    public var oidcIssuer: String?
    /// When the path must be valid.
    public var time: Date

    /// Trust in `roots`, checked at `time`.
    public init(roots: [X509Certificate], crls: [[UInt8]] = [], identity: String? = nil, oidcIssuer: String? = nil,
                time: Date = Date()) {
        self.roots = roots
        self.crls = crls
        self.identity = identity
        self.oidcIssuer = oidcIssuer
        self.time = time
    }

    /// The validated signer of `bundle` (`label` names the signature file in
    /// errors). The caller then verifies the signature with
    /// ``CertifiedSigner/publicKey`` (for example as the only trusted key of
    /// ``ModelVerifier/verify(model:bundle:trustedKeys:options:)``).
    public func signer(of bundle: SignatureBundle, label: String) throws -> CertifiedSigner {
        let ders = bundle.verificationMaterial.certificateChain
        guard !ders.isEmpty else { throw CertificateError.noCertificates(path: label) }
        let certificates: [X509Certificate]
        do { certificates = try ders.map { try X509Certificate(der: $0) } } catch let error as X509Error {
            throw CertificateError.path(error, path: label)
        }
        let leaf = certificates[0]
        let path: [X509Certificate]
        do {
            path = try X509ChainVerifier(roots: roots, crls: crls).verify(leaf: leaf, intermediates: Array(certificates.dropFirst()), at: time)
        } catch let error as X509Error {
            throw CertificateError.path(error, path: label)
        }
        // Present and allowing signing, as sigstore-python requires of a
        // signing certificate (the path check refused a present extension
        // without digitalSignature or codeSigning already).
        let usage = leaf.usage
        guard usage.digitalSignature == true else { throw CertificateError.notForSigning(.keyUsage, subject: leaf.subject, path: label) }
        guard usage.codeSigning == true else { throw CertificateError.notForSigning(.extendedKeyUsage, subject: leaf.subject, path: label) }
        if let identity {
            guard Self.signerIdentities(of: leaf).contains(where: { Array($0.utf8) == Array(identity.utf8) }) else {
                throw CertificateError.identityMismatch(expected: identity, subject: leaf.subject,
                                                        found: leaf.subjectAlternativeNames.map(\.description), path: label)
            }
        }
        if let oidcIssuer {
            let found = Self.oidcIssuer(of: leaf)
            guard let found, ExactString(found) == ExactString(oidcIssuer) else {
                throw CertificateError.issuerMismatch(expected: oidcIssuer, found: found, path: label)
            }
        }
        let key: PublicKey
        do { key = try PublicKey(spkiDER: leaf.subjectPublicKeyInfo) } catch {
            throw CertificateError.unsupportedKey(subject: leaf.subject, path: label)
        }
        guard key.algorithm.canSign else { throw CertificateError.unsupportedKey(subject: leaf.subject, path: label) }
        return CertifiedSigner(certificate: leaf, path: path, publicKey: key)
    }

    /// The names an identity is matched against: the signing certificate's
    /// rfc822Name (e-mail) and uniformResourceIdentifier subject alternative
    /// names, as sigstore-python and sigstore-go match them. A dNSName (or an
    /// IP address) names a host, not a signer: a TLS certificate the same CA
    /// issued for a host spelled like the identity must not sign models.
    /// Both types are IA5String (ASCII), so a value with any other byte is
    /// never matched (the text OpenSSL hands over could not be compared byte
    /// for byte with the certificate's).
    static func signerIdentities(of certificate: X509Certificate) -> [String] {
        certificate.subjectAlternativeNames.compactMap { name in
            switch name {
            case let .email(value), let .uri(value): return value.utf8.allSatisfy({ $0 < 0x80 }) ? value : nil
            case .dns, .other: return nil
            }
        }
    }

    /// Fulcio's OIDC issuer extension: v2 (…57264.1.8) holds a DER
    /// UTF8String, v1 (…57264.1.1) the raw string. Nil when absent or not
    /// UTF-8.
    static func oidcIssuer(of certificate: X509Certificate) -> String? {
        if let value = certificate.extensionValue(oid: "1.3.6.1.4.1.57264.1.8") {
            // UTF8String (tag 12) with a definite length of at most two length bytes.
            guard value.count >= 2, value[0] == 0x0C else { return nil }
            var offset = 2
            var length = Int(value[1])
            if value[1] == 0x81, value.count >= 3 { length = Int(value[2]); offset = 3 }
            else if value[1] == 0x82, value.count >= 4 { length = Int(value[2]) << 8 | Int(value[3]); offset = 4 }
            else if value[1] >= 0x80 { return nil }
            guard offset + length == value.count else { return nil }
            return String(validating: value[offset...], as: UTF8.self)
        }
        if let value = certificate.extensionValue(oid: "1.3.6.1.4.1.57264.1.1") {
            return String(validating: value, as: UTF8.self)
        }
        return nil
    }
}

/// Which usage extension a signing certificate lacks.
public enum MissingUsage: String, Sendable, Equatable {
    /// No key usage extension (a signer needs digitalSignature).
    case keyUsage
    /// No extended key usage extension (a signer needs codeSigning).
    case extendedKeyUsage
}

/// Why a certificate signature is not trusted (exit 1), or its material is
/// unusable (exit 2).
public enum CertificateError: ModelSecError, Equatable {
    /// The bundle carries no certificate (it is a `key`-method signature).
    case noCertificates(path: String?)
    /// More certificates than a bundle may carry.
    case tooManyCertificates(path: String?)
    /// Signing: the certificate does not hold the signing key.
    case keyMismatch(subject: String)
    /// The certificates or their path to a root (``X509Error`` says which check).
    case path(X509Error, path: String)
    /// The signing certificate (`subject`) holds no e-mail or URI subject
    /// alternative name equal to the required identity; `found` lists every
    /// name it holds (a DNS name equal to the identity does not count).
    case identityMismatch(expected: String, subject: String, found: [String], path: String)
    /// The signing certificate (`subject`) lacks a usage extension a signer
    /// needs: key usage with digitalSignature, or extended key usage with
    /// codeSigning (an extension present without them is ``path(_:path:)``
    /// with ``X509Error/keyUsage`` or ``X509Error/extendedKeyUsage``).
    case notForSigning(MissingUsage, subject: String, path: String)
    /// The signing certificate records another OIDC issuer, or none.
    case issuerMismatch(expected: String, found: String?, path: String)
    /// The signing certificate's key is not one modelsec verifies with.
    case unsupportedKey(subject: String, path: String)

    public var category: FailureCategory {
        switch self {
        case .noCertificates, .tooManyCertificates, .keyMismatch: return .invalidInput
        case let .path(error, _):
            if case .malformed = error { return .invalidInput }
            if case .noTrustAnchor = error { return .invalidInput }
            return .verificationFailed
        case .identityMismatch, .notForSigning, .issuerMismatch, .unsupportedKey: return .verificationFailed
        }
    }

    /// `certificate.…`; path failures keep the ``X509Error`` code.
    public var code: String {
        switch self {
        case .noCertificates: return "certificate.none-in-signature"
        case .tooManyCertificates: return "certificate.too-many"
        case .keyMismatch: return "certificate.key-mismatch"
        case let .path(error, _): return error.code
        case .identityMismatch: return "certificate.identity-mismatch"
        case .notForSigning(.keyUsage, _, _): return "certificate.key-usage"
        case .notForSigning(.extendedKeyUsage, _, _): return "certificate.extended-key-usage"
        case .issuerMismatch: return "certificate.oidc-issuer-mismatch"
        case .unsupportedKey: return "certificate.unsupported-key"
        }
    }

    public var path: String? {
        switch self {
        case let .noCertificates(path), let .tooManyCertificates(path): return path
        case .keyMismatch: return nil
        case let .path(_, path), let .identityMismatch(_, _, _, path), let .notForSigning(_, _, path), let .issuerMismatch(_, _, path),
             let .unsupportedKey(_, path): return path
        }
    }

    public var description: String {
        var text: String
        switch self {
        case .noCertificates: text = "the signature carries no certificate chain (it names a key; verify it with a public key)"
        case .tooManyCertificates: text = "more than \(SignatureBundle.VerificationMaterial.maximumCertificateCount) certificates"
        case let .keyMismatch(subject): text = "the certificate (\(subject)) does not hold the signing key's public key"
        case let .path(error, _): text = error.description
        case let .identityMismatch(expected, subject, found, _):
            text = "the signing certificate (\(subject)) holds no e-mail or URI name \(expected) (its names: \(found.isEmpty ? "none" : found.joined(separator: ", ")))"
            if found.contains(where: { Array($0.utf8) == Array("DNS:\(expected)".utf8) }) {
                text += "; a DNS name is a host, not a signer"
            }
        case let .notForSigning(.keyUsage, subject, _):
            text = "the signing certificate (\(subject)) has no key usage extension (a signer needs digitalSignature)"
        case let .notForSigning(.extendedKeyUsage, subject, _):
            text = "the signing certificate (\(subject)) has no extended key usage extension (a signer needs codeSigning)"
        case let .issuerMismatch(expected, found, _):
            text = "the signing certificate records OIDC issuer \(found ?? "(none)"), not \(expected)"
        case let .unsupportedKey(subject, _): text = "the signing certificate (\(subject)) holds a key modelsec cannot verify with"
        }
        if let path { return "\(path): \(text)" }
        return text
    }
}
