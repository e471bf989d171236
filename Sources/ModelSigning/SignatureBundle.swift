import Foundation
import ModelSecIO

/// A Sigstore bundle (v0.3, public-key flavour) holding an OMS v1.0 model
/// signature: the file `modelsec sign` and `model_signing sign key` write.
public struct SignatureBundle: Codable, Sendable, Equatable {
    /// The only media type readers accept.
    public static let mediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json"

    /// Names the signing key.
    public struct PublicKeyIdentifier: Codable, Sendable, Equatable {
        /// The key id: lowercase hex SHA-256 of the signer's SPKI PEM text.
        public var hint: String?
        /// Names the key by its id.
        public init(hint: String?) { self.hint = hint }
    }

    /// The bundle's verification material: the signer's key id (the `key`
    /// method) or its X.509 certificate chain (the `certificate` method).
    /// Transparency-log entries are written empty and ignored when read
    /// (these signatures have none).
    public struct VerificationMaterial: Codable, Sendable, Equatable {
        /// At most this many certificates are read from a bundle.
        public static let maximumCertificateCount = 16

        /// The signer's key id.
        public var publicKey: PublicKeyIdentifier?
        /// The DER certificates of `x509CertificateChain`, signing
        /// certificate first, then the intermediates (empty for `key`).
        public var certificateChain: [[UInt8]]
        /// Number of transparency-log entries read (their content is not used).
        public var transparencyLogEntryCount: Int

        /// Material naming the key `hint`.
        public init(keyHint: String?) {
            publicKey = PublicKeyIdentifier(hint: keyHint)
            certificateChain = []
            transparencyLogEntryCount = 0
        }

        /// Material carrying `certificateChain` (DER, signing certificate first).
        public init(certificateChain: [[UInt8]]) {
            publicKey = nil
            self.certificateChain = certificateChain
            transparencyLogEntryCount = 0
        }

        private struct Ignored: Codable {}
        /// `{"certificates":[{"rawBytes":BASE64-DER}, …]}` (Sigstore's X509CertificateChain).
        private struct Chain: Codable {
            struct Certificate: Codable { let rawBytes: String }
            let certificates: [Certificate]
        }
        enum CodingKeys: String, CodingKey { case publicKey, x509CertificateChain, tlogEntries }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            publicKey = try c.decodeIfPresent(PublicKeyIdentifier.self, forKey: .publicKey)
            let chain = try c.decodeIfPresent(Chain.self, forKey: .x509CertificateChain)?.certificates ?? []
            guard chain.count <= Self.maximumCertificateCount else {
                throw DecodingError.dataCorruptedError(forKey: .x509CertificateChain, in: c,
                                                       debugDescription: "more than \(Self.maximumCertificateCount) certificates")
            }
            certificateChain = try chain.map {
                guard let der = Data(base64Encoded: $0.rawBytes), !der.isEmpty else {
                    throw DecodingError.dataCorruptedError(forKey: .x509CertificateChain, in: c, debugDescription: "a certificate is not base64")
                }
                return Array(der)
            }
            // Sigstore's verification material is one of its members, never both.
            if publicKey != nil && !certificateChain.isEmpty {
                throw DecodingError.dataCorruptedError(forKey: .x509CertificateChain, in: c,
                                                       debugDescription: "both publicKey and x509CertificateChain")
            }
            transparencyLogEntryCount = try c.decodeIfPresent([Ignored].self, forKey: .tlogEntries)?.count ?? 0
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            if certificateChain.isEmpty {
                try c.encodeIfPresent(publicKey, forKey: .publicKey)
            } else {
                try c.encode(Chain(certificates: certificateChain.map { .init(rawBytes: Data($0).base64EncodedString()) }),
                             forKey: .x509CertificateChain)
            }
            try c.encode([Ignored](), forKey: .tlogEntries)
        }
    }

    /// `application/vnd.dev.sigstore.bundle.v0.3+json`.
    public var mediaType: String
    /// The signer's key id.
    public var verificationMaterial: VerificationMaterial
    /// The signed statement.
    public var dsseEnvelope: DSSEEnvelope

    /// Assembles a bundle.
    public init(mediaType: String = SignatureBundle.mediaTypeV03, verificationMaterial: VerificationMaterial, dsseEnvelope: DSSEEnvelope) {
        self.mediaType = mediaType
        self.verificationMaterial = verificationMaterial
        self.dsseEnvelope = dsseEnvelope
    }

    /// The key id the bundle names (`verificationMaterial.publicKey.hint`), if any.
    public var keyHint: String? {
        guard let hint = verificationMaterial.publicKey?.hint, !hint.isEmpty else { return nil }
        return hint
    }

    /// The most JSON values a bundle may hold. A bundle is decoded before its
    /// signature is checked, and JSONDecoder's tree of a document of small
    /// values costs 13 to 27 times its size (880 MB for 32 MiB of `["",…]`).
    /// Its size is in the payload, one string; a Sigstore bundle with a
    /// certificate chain and a transparency-log entry holds about fifty.
    public static let maximumJSONValues = 10_000

    /// Parses and checks the bundle's structure (media type, payload type, one
    /// base64 signature). `label` names the source in errors.
    public init(jsonData data: Data, label: String = "<signature>") throws {
        let decoded: SignatureBundle
        do {
            try UnambiguousJSON.check(Array(data), maximumValues: Self.maximumJSONValues)
            decoded = try JSONDecoder().decode(SignatureBundle.self, from: data)
        } catch let ambiguity as UnambiguousJSON.Ambiguity {
            throw SignatureFormatError(path: label, problem: .notABundle(detail: "readers could disagree on it: \(ambiguity)"))
        } catch let tooLarge as StrictJSON.TooManyValues {
            throw SignatureFormatError(path: label, problem: .notABundle(detail: "\(tooLarge)"))
        } catch {
            throw SignatureFormatError(path: label, problem: .notABundle(detail: Self.describe(error)))
        }
        guard decoded.mediaType == Self.mediaTypeV03 else {
            throw SignatureFormatError(path: label, problem: .unsupportedMediaType(decoded.mediaType))
        }
        guard decoded.dsseEnvelope.payloadType == DSSEEnvelope.inTotoPayloadType else {
            throw SignatureFormatError(path: label, problem: .unsupportedPayloadType(decoded.dsseEnvelope.payloadType))
        }
        guard let first = decoded.dsseEnvelope.signatures.first else {
            throw SignatureFormatError(path: label, problem: .noSignature)
        }
        guard Data(base64Encoded: first.sig) != nil else {
            throw SignatureFormatError(path: label, problem: .signatureNotBase64)
        }
        guard Data(base64Encoded: decoded.dsseEnvelope.payload) != nil else {
            throw SignatureFormatError(path: label, problem: .payloadNotBase64)
        }
        self = decoded
    }

    /// Reads a signature file (at most 256 MiB: a statement lists one digest per file).
    public static func read(from path: String) throws -> SignatureBundle {
        let bytes: [UInt8]
        do { bytes = try FileIO.readRegularFile(path, limit: 256 << 20) } catch let error as FileError {
            throw SignatureFormatError(path: path, problem: .unreadable(reason: error.reason))
        }
        return try SignatureBundle(jsonData: Data(bytes), label: path)
    }

    /// Compact JSON without a trailing newline, as the reference tool writes it.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Writes the bundle atomically (temporary file, then rename).
    /// Unless `overwrite` is set, an existing file at `path` is refused.
    public func write(to path: String, overwrite: Bool = true) throws {
        try AtomicFileWriter.write(jsonData(), to: path, mode: 0o644, overwrite: overwrite)
    }

    /// The raw payload bytes.
    var payloadBytes: [UInt8] { Array(Data(base64Encoded: dsseEnvelope.payload) ?? Data()) }
    /// The raw bytes of the first signature.
    var signatureBytes: [UInt8] { Array(Data(base64Encoded: dsseEnvelope.signatures.first?.sig ?? "") ?? Data()) }

    static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, context):
            return "missing field \(path(context.codingPath + [key]))"
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
            return "wrong type at \(path(context.codingPath))"
        case let DecodingError.dataCorrupted(context):
            return context.codingPath.isEmpty ? "not valid JSON" : "invalid value at \(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "not valid JSON"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
