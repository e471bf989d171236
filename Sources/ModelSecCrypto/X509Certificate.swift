import COpenSSL
import Foundation

/// An X.509 certificate (RFC 5280), parsed and checked by OpenSSL.
///
/// Only what signature verification and reports need is exposed: names,
/// validity, subject alternative names, key usage, the public key and raw
/// extension values. Parsing is strict: a DER certificate must be the whole
/// input (no trailing bytes), and a PEM file may hold only CERTIFICATE blocks.
/// `@unchecked Sendable`: every property is set once in `init` and never changed; the
/// OpenSSL `X509` it owns is only read (OpenSSL's read-only X509 calls are thread-safe) and freed in `deinit`.
public final class X509Certificate: @unchecked Sendable {
    // @unchecked: the X509 object is never mutated after parsing; OpenSSL's
    // read accessors are thread-safe on a fully parsed certificate.
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }

    deinit { X509_free(pointer) }

    /// Parses one DER certificate; the certificate must span all of `der`.
    public init(der: [UInt8]) throws {
        var parsed: OpaquePointer?
        let consumed = der.withUnsafeBufferPointer { buf -> Int in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            parsed = d2i_X509(nil, &p, buf.count)
            guard let p, let base = buf.baseAddress else { return -1 }
            return p - base
        }
        guard let parsed else { throw X509Error.malformed("not a DER X.509 certificate") }
        guard consumed == der.count else {
            X509_free(parsed)
            throw X509Error.malformed("\(der.count - consumed) bytes after the certificate")
        }
        pointer = parsed
    }

    /// Whether the certificate names the DNS host `name` in a subject
    /// alternative name of type dNSName (RFC 6125 as OpenSSL's
    /// `X509_check_host` applies it, wildcards only as a whole left-most
    /// label). An IP address entry never matches a host name, and the
    /// subject's common name is never consulted.
    public func matchesDNSName(_ name: String) -> Bool {
        let flags = UInt32(X509_CHECK_FLAG_NEVER_CHECK_SUBJECT) | UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS)
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, !bytes.contains(0) else { return false }
        return bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { X509_check_host(pointer, $0.baseAddress, $0.count, flags, nil) == 1 }
        }
    }

    /// Every certificate in a PEM text, in order. Refuses other PEM blocks
    /// (a private key pasted into a chain file is an error, not ignored) and
    /// text outside blocks other than whitespace.
    public static func chain(pem: String) throws -> [X509Certificate] {
        var certificates: [X509Certificate] = []
        var rest = Substring(pem)
        while let begin = rest.range(of: "-----BEGIN ") {
            guard rest[..<begin.lowerBound].allSatisfy(\.isWhitespace) else {
                throw X509Error.malformed("text outside a PEM block")
            }
            guard let labelEnd = rest[begin.upperBound...].range(of: "-----") else { throw X509Error.malformed("unterminated PEM header") }
            let label = rest[begin.upperBound..<labelEnd.lowerBound]
            guard label == "CERTIFICATE" else { throw X509Error.malformed("a \(label) block where certificates were expected") }
            guard let end = rest.range(of: "-----END CERTIFICATE-----") else { throw X509Error.malformed("a CERTIFICATE block without its END line") }
            guard let block = try? PEMBlock(parsing: String(rest[begin.lowerBound..<end.upperBound])) else {
                throw X509Error.malformed("invalid PEM base64")
            }
            certificates.append(try X509Certificate(der: block.der))
            rest = rest[end.upperBound...]
            guard certificates.count <= 64 else { throw X509Error.malformed("more than 64 certificates") }
        }
        guard rest.allSatisfy(\.isWhitespace) else { throw X509Error.malformed("text outside a PEM block") }
        guard !certificates.isEmpty else { throw X509Error.malformed("no CERTIFICATE block") }
        return certificates
    }

    /// The DER encoding.
    public var derRepresentation: [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_X509(pointer, &out)
        guard n > 0, let out else { return [] }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    /// The PEM encoding (`-----BEGIN CERTIFICATE-----`).
    public var pemRepresentation: String { PEMBlock.encode(label: "CERTIFICATE", der: derRepresentation) }

    /// The subject as an RFC 2253 string (`CN=release,O=Example`).
    public var subject: String { Self.rfc2253(X509_get_subject_name(pointer)) }

    /// The issuer as an RFC 2253 string.
    public var issuer: String { Self.rfc2253(X509_get_issuer_name(pointer)) }

    /// The serial number in lowercase hex.
    public var serialNumber: String {
        guard let bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(pointer), nil) else { return "" }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return "" }
        defer { CRYPTO_free(hex, #fileID, #line) }
        return String(cString: hex).lowercased()
    }

    /// Start of the validity period.
    public var notBefore: Date { Self.date(X509_get0_notBefore(pointer)) }
    /// End of the validity period.
    public var notAfter: Date { Self.date(X509_get0_notAfter(pointer)) }

    /// DER SubjectPublicKeyInfo of the certified key.
    public var subjectPublicKeyInfo: [UInt8] {
        guard let key = X509_get0_pubkey(pointer) else { return [] }
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_PUBKEY(key, &out)
        guard n > 0, let out else { return [] }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    /// The subject alternative names (DNS names, URIs, e-mail addresses).
    public var subjectAlternativeNames: [X509GeneralName] {
        guard let raw = X509_get_ext_d2i(pointer, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var out: [X509GeneralName] = []
        for i in 0..<OPENSSL_sk_num(names) {
            guard let entry = OPENSSL_sk_value(names, i)?.assumingMemoryBound(to: GENERAL_NAME.self) else { continue }
            let name = entry.pointee
            switch name.type {
            case GEN_DNS: out.append(.dns(Self.text(name.d.dNSName)))
            case GEN_URI: out.append(.uri(Self.text(name.d.uniformResourceIdentifier)))
            case GEN_EMAIL: out.append(.email(Self.text(name.d.rfc822Name)))
            default: out.append(.other(Int(name.type)))
            }
        }
        return out
    }

    /// Whether the certificate's extended key usage, when it has one, leaves
    /// code signing open: it lists codeSigning or anyExtendedKeyUsage. Go's
    /// x509 (and with it sigstore-go and cosign) applies this to every
    /// certificate of a code-signing chain, so an issuing CA limited to
    /// serverAuth cannot issue a code-signing leaf.
    public var extendedKeyUsagePermitsCodeSigning: Bool {
        guard X509_get_extension_flags(pointer) & UInt32(EXFLAG_XKUSAGE) != 0 else { return true }
        return X509_get_extended_key_usage(pointer) & UInt32(XKU_CODE_SIGN | XKU_ANYEKU) != 0
    }

    /// Whether the certificate may sign code-like artifacts: a key usage
    /// extension, when present, allows digitalSignature, and an extended key
    /// usage extension, when present, includes codeSigning.
    public var usage: X509Usage {
        let flags = X509_get_extension_flags(pointer)
        let keyUsagePresent = flags & UInt32(EXFLAG_KUSAGE) != 0
        let ekuPresent = flags & UInt32(EXFLAG_XKUSAGE) != 0
        return X509Usage(
            digitalSignature: keyUsagePresent ? X509_get_key_usage(pointer) & UInt32(KU_DIGITAL_SIGNATURE) != 0 : nil,
            codeSigning: ekuPresent ? X509_get_extended_key_usage(pointer) & UInt32(XKU_CODE_SIGN) != 0 : nil)
    }

    /// The raw value (the OCTET STRING's contents) of the extension with
    /// dotted object identifier `oid`, or nil when the certificate has none.
    public func extensionValue(oid: String) -> [UInt8]? {
        guard let object = OBJ_txt2obj(oid, 1) else { return nil }
        defer { ASN1_OBJECT_free(object) }
        let index = X509_get_ext_by_OBJ(pointer, object, -1)
        guard index >= 0, let ext = X509_get_ext(pointer, index), let data = X509_EXTENSION_get_data(ext) else { return nil }
        return Self.bytes(UnsafePointer(data))
    }

    /// Whether the certificate's signature verifies with `issuer`'s key (no path rules).
    func isSigned(by issuer: X509Certificate) -> Bool {
        guard let key = X509_get0_pubkey(issuer.pointer) else { return false }
        return X509_verify(pointer, key) == 1
    }

    private static func rfc2253(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        // RFC 2253 order and separators, UTF-8 output (ASN1_STRFLGS_RFC2253
        // without ESC_MSB), as `openssl x509 -nameopt RFC2253,utf8`.
        let flags = UInt(ASN1_STRFLGS_ESC_2253 | ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_DUMP_UNKNOWN | ASN1_STRFLGS_DUMP_DER)
            | UInt(XN_FLAG_SEP_COMMA_PLUS) | UInt(XN_FLAG_DN_REV) | UInt(XN_FLAG_FN_SN) | UInt(XN_FLAG_DUMP_UNKNOWN_FIELDS)
        guard X509_NAME_print_ex(bio, name, 0, flags) >= 0 else { return "" }
        var data: UnsafeMutablePointer<CChar>?
        let n = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data)
        guard n > 0, let data else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        var t = tm()
        guard let time, ASN1_TIME_to_tm(time, &t) == 1 else { return Date(timeIntervalSince1970: 0) }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&t)))
    }

    private static func bytes(_ string: UnsafePointer<ASN1_STRING>?) -> [UInt8] {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string))))
    }

    private static func text(_ string: UnsafeMutablePointer<ASN1_STRING>?) -> String {
        String(decoding: bytes(string.map { UnsafePointer($0) }), as: UTF8.self)
    }
}

/// One subject alternative name.
public enum X509GeneralName: Sendable, Equatable, CustomStringConvertible {
    /// A dNSName.
    case dns(String)
    /// A uniformResourceIdentifier (Sigstore-style workload identities).
    case uri(String)
    /// An rfc822Name (e-mail address).
    case email(String)
    /// Another GeneralName type (its number), not matched on.
    case other(Int)

    /// The name's value, or nil for types modelsec does not match on.
    public var value: String? {
        switch self {
        case let .dns(v), let .uri(v), let .email(v): return v
        case .other: return nil
        }
    }

    public var description: String {
        switch self {
        case let .dns(v): return "DNS:\(v)"
        case let .uri(v): return "URI:\(v)"
        case let .email(v): return "email:\(v)"
        case let .other(t): return "type \(t)"
        }
    }
}

/// What a certificate's usage extensions allow (nil: the extension is absent).
public struct X509Usage: Sendable, Equatable {
    /// Key usage digitalSignature, when the certificate has a key usage extension.
    public let digitalSignature: Bool?
    /// Extended key usage codeSigning, when the certificate has an extended key usage extension.
    public let codeSigning: Bool?

    /// What a certificate's extensions say (nil for an absent extension).
    public init(digitalSignature: Bool?, codeSigning: Bool?) {
        self.digitalSignature = digitalSignature
        self.codeSigning = codeSigning
    }
}
