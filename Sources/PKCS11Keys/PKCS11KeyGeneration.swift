import CPKCS11
import ModelSecCrypto

extension PKCS11SigningKey {
    /// Generates a key pair inside the token the URI names, labelled with the
    /// URI's `object=` and identified by its `id=` (16 random bytes when the
    /// URI gives none). The private key is a token object that is private,
    /// sensitive and not extractable, allowed only to sign; nothing of it ever
    /// leaves the token.
    ///
    /// Refuses when a private or public key with that label or id already
    /// exists, so a second run never shadows the key a trust store knows.
    public static func generate(_ curve: PKCS11Curve, at uri: PKCS11URI) throws -> PKCS11SigningKey {
        guard let label = uri.object else {
            throw PKCS11Error.invalidURI(uri.description, reason: .noObject)
        }
        let session = try PKCS11Session(uri: uri, readWrite: true)
        for objectClass in [CKO_PRIVATE_KEY, CKO_PUBLIC_KEY] {
            let byLabel = try session.findObjects(class: CK_OBJECT_CLASS(objectClass), label: label, id: nil)
            let byID = try uri.id.map { try session.findObjects(class: CK_OBJECT_CLASS(objectClass), label: nil, id: $0) } ?? []
            guard byLabel.isEmpty && byID.isEmpty else {
                throw PKCS11Error.keyExists(uri: uri.description)
            }
        }
        let id = uri.id ?? SecureRandom.bytes(count: 16)

        var publicTemplate = PKCS11Template()
        publicTemplate.append(CK_ATTRIBUTE_TYPE(CKA_TOKEN), bool: true)
        publicTemplate.append(CK_ATTRIBUTE_TYPE(CKA_VERIFY), bool: true)
        publicTemplate.append(CK_ATTRIBUTE_TYPE(CKA_EC_PARAMS), bytes: curve.ecParams)
        publicTemplate.append(CK_ATTRIBUTE_TYPE(CKA_LABEL), bytes: label)
        publicTemplate.append(CK_ATTRIBUTE_TYPE(CKA_ID), bytes: id)

        var privateTemplate = PKCS11Template()
        privateTemplate.append(CK_ATTRIBUTE_TYPE(CKA_TOKEN), bool: true)
        privateTemplate.append(CK_ATTRIBUTE_TYPE(CKA_PRIVATE), bool: true)
        privateTemplate.append(CK_ATTRIBUTE_TYPE(CKA_SENSITIVE), bool: true)
        privateTemplate.append(CK_ATTRIBUTE_TYPE(CKA_EXTRACTABLE), bool: false)
        privateTemplate.append(CK_ATTRIBUTE_TYPE(CKA_SIGN), bool: true)
        privateTemplate.append(CK_ATTRIBUTE_TYPE(CKA_DECRYPT), bool: false)
        privateTemplate.append(CK_ATTRIBUTE_TYPE(CKA_DERIVE), bool: false)
        privateTemplate.append(CK_ATTRIBUTE_TYPE(CKA_LABEL), bytes: label)
        privateTemplate.append(CK_ATTRIBUTE_TYPE(CKA_ID), bytes: id)

        let mechanismType = curve == .ed25519 ? CK_MECHANISM_TYPE(CKM_EC_EDWARDS_KEY_PAIR_GEN) : CK_MECHANISM_TYPE(CKM_EC_KEY_PAIR_GEN)
        try session.locked { f in
            var mechanism = CK_MECHANISM(mechanism: mechanismType, pParameter: nil, ulParameterLen: 0)
            var publicHandle: CK_OBJECT_HANDLE = 0
            var privateHandle: CK_OBJECT_HANDLE = 0
            try publicTemplate.withAttributes { pub, pubCount in
                try privateTemplate.withAttributes { priv, privCount in
                    try session.module.check("C_GenerateKeyPair", f.C_GenerateKeyPair(
                        session.handle, &mechanism, pub, pubCount, priv, privCount, &publicHandle, &privateHandle))
                }
            }
        }
        var named = uri
        named.id = id
        return try PKCS11SigningKey(uri: named, session: session)
    }
}
