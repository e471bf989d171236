import CPKCS11
import ModelSecCrypto
import ModelSecKeys

/// A private signing key that stays in a PKCS#11 token: modelsec asks the
/// token to sign and never sees the key.
///
/// Ed25519 keys sign the message with `CKM_EDDSA`. ECDSA keys sign a digest
/// computed here with `CKM_ECDSA` (SoftHSM2 and many HSMs refuse
/// `CKM_ECDSA_SHA256`), and the token's raw `r ‖ s` is returned as DER, the
/// encoding file keys produce, so callers cannot tell the two apart.
///
/// The public half comes from the token's public-key object with the same
/// `CKA_ID` (or label); its key id is the SHA-256 of its SPKI PEM, exactly
/// as for key files, so trust stores do not care where the private key lives.
public final class PKCS11SigningKey: Signer {
    /// The URI the key was opened from (canonical form, no PIN).
    public let uri: PKCS11URI
    /// The signing algorithm.
    public let curve: PKCS11Curve
    /// DER SubjectPublicKeyInfo of the public key.
    public let subjectPublicKeyInfo: [UInt8]
    /// The public key, as file keys hold it (its ``PublicKey/keyID`` is the
    /// key id trust stores use).
    public let publicKey: PublicKey
    /// What the token says about the private key.
    public let attributes: PKCS11KeyAttributes
    private let session: PKCS11Session
    private let object: CK_OBJECT_HANDLE

    /// Opens the private key the URI names (exactly one must match) and its public half.
    public convenience init(uri: PKCS11URI) throws {
        try self.init(uri: uri, session: PKCS11Session(uri: uri))
    }

    init(uri: PKCS11URI, session: PKCS11Session) throws {
        self.uri = uri
        self.session = session
        let uriText = uri.description
        if let type = uri.type, type != "private" {
            throw PKCS11Error.unsupportedKey(uri: uriText, reason: "type=\(type) does not name a private key")
        }
        let keys = try session.findObjects(class: CK_OBJECT_CLASS(CKO_PRIVATE_KEY), label: uri.object, id: uri.id)
        guard keys.count == 1 else { throw PKCS11Error.object(matching: keys.count, uri: uriText) }
        object = keys[0]

        let keyType = try session.ulong(CK_ATTRIBUTE_TYPE(CKA_KEY_TYPE), of: object, name: "CKA_KEY_TYPE")
        guard keyType == CK_KEY_TYPE(CKK_EC) || keyType == CK_KEY_TYPE(CKK_EC_EDWARDS) else {
            throw PKCS11Error.unsupportedKey(uri: uriText, reason: "the key is not an EC or Edwards key (CKA_KEY_TYPE \(keyType.map { String($0) } ?? "unknown")); modelsec signs with Ed25519, P-256, P-384 and P-521")
        }
        guard let params = try session.attribute(CK_ATTRIBUTE_TYPE(CKA_EC_PARAMS), of: object, name: "CKA_EC_PARAMS"),
              let curve = PKCS11Curve(ecParams: params),
              (curve == .ed25519) == (keyType == CK_KEY_TYPE(CKK_EC_EDWARDS)) else {
            throw PKCS11Error.unsupportedKey(uri: uriText, reason: "the key's curve is not one modelsec signs with (Ed25519, P-256, P-384, P-521)")
        }
        self.curve = curve
        let id = try session.attribute(CK_ATTRIBUTE_TYPE(CKA_ID), of: object, name: "CKA_ID") ?? []
        let label = try session.attribute(CK_ATTRIBUTE_TYPE(CKA_LABEL), of: object, name: "CKA_LABEL") ?? []
        attributes = PKCS11KeyAttributes(
            id: id, label: label,
            sensitive: try session.bool(CK_ATTRIBUTE_TYPE(CKA_SENSITIVE), of: object, name: "CKA_SENSITIVE"),
            extractable: try session.bool(CK_ATTRIBUTE_TYPE(CKA_EXTRACTABLE), of: object, name: "CKA_EXTRACTABLE"),
            alwaysSensitive: try session.bool(CK_ATTRIBUTE_TYPE(CKA_ALWAYS_SENSITIVE), of: object, name: "CKA_ALWAYS_SENSITIVE"),
            neverExtractable: try session.bool(CK_ATTRIBUTE_TYPE(CKA_NEVER_EXTRACTABLE), of: object, name: "CKA_NEVER_EXTRACTABLE"),
            canSign: try session.bool(CK_ATTRIBUTE_TYPE(CKA_SIGN), of: object, name: "CKA_SIGN"))
        guard attributes.canSign != false else {
            throw PKCS11Error.unsupportedKey(uri: uriText, reason: "the key is not allowed to sign (CKA_SIGN is false)")
        }

        // The public half: the public-key object with the same id (else label).
        var publics = try session.findObjects(class: CK_OBJECT_CLASS(CKO_PUBLIC_KEY), label: nil, id: id.isEmpty ? nil : id)
        if publics.count != 1 {
            publics = try session.findObjects(class: CK_OBJECT_CLASS(CKO_PUBLIC_KEY), label: label, id: id.isEmpty ? nil : id)
        }
        guard publics.count == 1,
              let ecPoint = try session.attribute(CK_ATTRIBUTE_TYPE(CKA_EC_POINT), of: publics[0], name: "CKA_EC_POINT"),
              let publicParams = try session.attribute(CK_ATTRIBUTE_TYPE(CKA_EC_PARAMS), of: publics[0], name: "CKA_EC_PARAMS"),
              PKCS11Curve(ecParams: publicParams) == curve,
              let point = curve.point(fromECPoint: ecPoint) else {
            throw PKCS11Error.unsupportedKey(uri: uriText, reason: "the token has no single matching public-key object (same CKA_ID) with a valid CKA_EC_POINT for this key")
        }
        subjectPublicKeyInfo = curve.subjectPublicKeyInfo(point: point)
        do { publicKey = try PublicKey(spkiDER: subjectPublicKeyInfo) } catch {
            throw PKCS11Error.unsupportedKey(uri: uriText, reason: "the token's public key is not a valid point on its curve")
        }
    }

    /// The public key as SPKI PEM, byte for byte what `openssl pkey -pubout` writes.
    public var publicKeyPEM: String { PEMBlock.encode(label: "PUBLIC KEY", der: subjectPublicKeyInfo) }

    /// The key id: lowercase hex SHA-256 of ``publicKeyPEM`` (the same rule as key files).
    public var keyID: String { SHA2.SHA256.hash(data: Array(publicKeyPEM.utf8)).hex }

    /// Signs `message`: a 64-byte Ed25519 signature, or a DER ECDSA signature
    /// over SHA-256/384/512 of the message for P-256/384/521.
    public func signature(for message: [UInt8]) throws -> [UInt8] {
        switch curve {
        case .ed25519:
            let raw = try sign(mechanism: CK_MECHANISM_TYPE(CKM_EDDSA), data: message)
            guard raw.count == 64 else { throw PKCS11Error.malformedResponse(function: "C_Sign", reason: "Ed25519 signature of \(raw.count) bytes") }
            return raw
        case .p256, .p384, .p521:
            let digest: SHA2.Digest
            switch curve {
            case .p256: digest = SHA2.SHA256.hash(data: message)
            case .p384: digest = SHA2.SHA384.hash(data: message)
            default: digest = SHA2.SHA512.hash(data: message)
            }
            let raw = try sign(mechanism: CK_MECHANISM_TYPE(CKM_ECDSA), data: digest.bytes)
            guard let der = ECDSASignatureEncoding.der(fromRaw: raw, scalarSize: curve.scalarLength) else {
                throw PKCS11Error.malformedResponse(function: "C_Sign", reason: "ECDSA signature of \(raw.count) bytes")
            }
            return der
        }
    }

    private func sign(mechanism: CK_MECHANISM_TYPE, data: [UInt8]) throws -> [UInt8] {
        try session.locked { f in
            var mech = CK_MECHANISM(mechanism: mechanism, pParameter: nil, ulParameterLen: 0)
            try session.module.check("C_SignInit", f.C_SignInit(session.handle, &mech, object))
            var input = data
            var length: CK_ULONG = CK_ULONG(2 * curve.scalarLength)
            var out = [UInt8](repeating: 0, count: Int(length))
            let rv = f.C_Sign(session.handle, &input, CK_ULONG(input.count), &out, &length)
            try session.module.check("C_Sign", rv)
            guard length <= out.count else { throw PKCS11Error.malformedResponse(function: "C_Sign", reason: "length grew") }
            return Array(out.prefix(Int(length)))
        }
    }
}

/// What a token reports about a private key (nil where it does not say).
public struct PKCS11KeyAttributes: Sendable, Equatable {
    /// `CKA_ID`.
    public let id: [UInt8]
    /// `CKA_LABEL`.
    public let label: [UInt8]
    /// `CKA_SENSITIVE`: the key's value cannot be read in plaintext.
    public let sensitive: Bool?
    /// `CKA_EXTRACTABLE`: the key can be wrapped out of the token.
    public let extractable: Bool?
    /// `CKA_ALWAYS_SENSITIVE`: the key has been sensitive since it was made.
    public let alwaysSensitive: Bool?
    /// `CKA_NEVER_EXTRACTABLE`: the key has never been extractable.
    public let neverExtractable: Bool?
    /// `CKA_SIGN`.
    public let canSign: Bool?
}
