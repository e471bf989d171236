import Foundation
import ModelSecCrypto

/// A JWS in compact serialization (RFC 7515 §7.1), split and decoded strictly:
/// exactly three segments of strict base64url. No JSON is parsed here.
public struct CompactJWS: Sendable {
    /// The decoded protected header (JSON bytes).
    public let header: [UInt8]
    /// The decoded payload.
    public let payload: [UInt8]
    /// The decoded signature.
    public let signature: [UInt8]
    /// `BASE64URL(header) '.' BASE64URL(payload)`: the bytes the signature covers.
    public let signingInput: [UInt8]

    /// Splits and decodes `token`, throwing ``TokenRejection/malformed(_:)``
    /// for anything but three strict base64url segments (a JSON-serialized JWS
    /// is named as such).
    public init(parsing token: String) throws {
        var copy = token
        let parsed: (header: [UInt8], payload: [UInt8], signature: [UInt8], input: [UInt8])? = try copy.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            if raw.first == UInt8(ascii: "{") {
                throw TokenRejection.malformed("JSON-serialized JWS is not accepted; use the compact form")
            }
            // memchr: the token is scanned for dots at memory speed.
            func dot(after start: Int) -> Int? {
                guard start < raw.count, let base = raw.baseAddress,
                      let found = memchr(base + start, Int32(UInt8(ascii: ".")), raw.count - start) else { return nil }
                return UnsafeRawPointer(found) - base
            }
            guard let first = dot(after: 0), let second = dot(after: first + 1), dot(after: second + 1) == nil else {
                throw TokenRejection.malformed("expected three base64url segments separated by '.'")
            }
            let dots = [first, second]
            let headerPart = UnsafeRawBufferPointer(rebasing: raw[0..<dots[0]])
            let payloadPart = UnsafeRawBufferPointer(rebasing: raw[(dots[0] + 1)..<dots[1]])
            let signaturePart = UnsafeRawBufferPointer(rebasing: raw[(dots[1] + 1)...])
            guard let header = Base64URL.decode(headerPart), !header.isEmpty else {
                throw TokenRejection.malformed("header is not strict base64url")
            }
            guard let payload = Base64URL.decode(payloadPart) else {
                throw TokenRejection.malformed("payload is not strict base64url")
            }
            guard let signature = Base64URL.decode(signaturePart) else {
                throw TokenRejection.malformed("signature is not strict base64url")
            }
            return (header, payload, signature, Array(UnsafeRawBufferPointer(rebasing: raw[0..<dots[1]])))
        }
        guard let parsed else { throw TokenRejection.malformed("empty token") }
        header = parsed.header
        payload = parsed.payload
        signature = parsed.signature
        signingInput = parsed.input
    }

    /// Signs `payload` under the protected header `header` (both as given,
    /// byte for byte) and returns the compact JWS. Ed25519 signatures are the
    /// raw 64 bytes (RFC 8037), ECDSA signatures raw `r ‖ s` (RFC 7518 §3.4).
    public static func sign(header: [UInt8], payload: [UInt8], with signer: any Signer) throws -> String {
        let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        var signature = try signer.signature(for: Array(input.utf8))
        switch signer.algorithm {
        case .ed25519: break
        case .p256, .p384, .p521:
            // The Signer gives DER; JWS wants r ‖ s, each the curve's scalar size.
            let size = signer.algorithm.ecdsaCurve?.scalarSize ?? 0
            guard let raw = ECDSASignatureEncoding.raw(fromDER: signature, scalarSize: size) else {
                throw CryptoBackendError.backend("the signer returned a malformed ECDSA signature")
            }
            signature = raw
        case .x25519:
            throw TokenInputError.keyCannotSign(algorithm: .x25519, path: nil)
        }
        return input + "." + Base64URL.encode(signature)
    }
}
