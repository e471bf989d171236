import Foundation
import ModelSecCrypto

/// Dead Simple Signing Envelope (DSSE) v1, the signed wrapper around the
/// in-toto statement.
public struct DSSEEnvelope: Codable, Sendable, Equatable {
    /// One signature of an envelope.
    public struct Signature: Codable, Sendable, Equatable {
        /// Base64 (standard alphabet, padded) of the signature bytes: 64 raw
        /// bytes for Ed25519, DER for ECDSA P-256.
        public var sig: String
        /// Always written as `""` (the key is named by the bundle's hint);
        /// may be absent in bundles from other tools.
        public var keyid: String?

        /// A signature entry.
        public init(sig: String, keyid: String? = "") {
            self.sig = sig
            self.keyid = keyid
        }
    }

    /// The in-toto payload type, the only one OMS uses.
    public static let inTotoPayloadType = "application/vnd.in-toto+json"

    /// Base64 of the payload bytes (the statement JSON).
    public var payload: String
    /// `application/vnd.in-toto+json`.
    public var payloadType: String
    /// The signatures; verifiers check the first (as the reference tool does).
    public var signatures: [Signature]

    /// An envelope.
    public init(payload: String, payloadType: String, signatures: [Signature]) {
        self.payload = payload
        self.payloadType = payloadType
        self.signatures = signatures
    }

    /// Signs `payload` with `signer` over the pre-authentication encoding:
    /// one signature, base64 (standard, padded), with an empty `keyid`.
    public static func sign(payload: [UInt8], payloadType: String, signer: any Signer) throws -> DSSEEnvelope {
        let signature = try signer.signature(for: preAuthenticationEncoding(payloadType: payloadType, payload: payload))
        return DSSEEnvelope(payload: Data(payload).base64EncodedString(), payloadType: payloadType,
                            signatures: [.init(sig: Data(signature).base64EncodedString(), keyid: "")])
    }

    /// The DSSE pre-authentication encoding that signatures cover:
    /// `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`, lengths as
    /// ASCII decimal byte counts, the payload as raw bytes.
    public static func preAuthenticationEncoding(payloadType: String, payload: [UInt8]) -> [UInt8] {
        let type = Array(payloadType.utf8)
        var out = Array("DSSEv1 \(type.count) ".utf8)
        out += type
        out += Array(" \(payload.count) ".utf8)
        out += payload
        return out
    }
}
