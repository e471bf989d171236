import COpenSSL
import Foundation

/// Builds and checks a certification path from a leaf to one of a set of
/// trusted roots with OpenSSL's X.509 verification (RFC 5280 path
/// validation), at a chosen time, optionally against CRLs.
///
/// Roots are trust anchors; certificates that come with a signature are only
/// untrusted intermediates. On top of the path, the leaf must be allowed to
/// sign: key usage (when present) allows digitalSignature and extended key
/// usage (when present) includes codeSigning.
public struct X509ChainVerifier: Sendable {
    /// The trust anchors.
    public let roots: [X509Certificate]
    /// DER certificate revocation lists; when any is given, the leaf's
    /// issuer must have a current CRL and the leaf must not be on it.
    public let crls: [[UInt8]]

    /// A verifier trusting `roots`, checking revocation against `crls` when given.
    public init(roots: [X509Certificate], crls: [[UInt8]] = []) {
        self.roots = roots
        self.crls = crls
    }

    /// Reads CRLs from PEM text (`-----BEGIN X509 CRL-----` blocks).
    public static func crls(pem: String) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var rest = Substring(pem)
        while let begin = rest.range(of: "-----BEGIN X509 CRL-----") {
            guard let end = rest.range(of: "-----END X509 CRL-----") else { throw X509Error.malformed("a CRL block without its END line") }
            guard let block = try? PEMBlock(parsing: String(rest[begin.lowerBound..<end.upperBound])) else {
                throw X509Error.malformed("invalid CRL PEM")
            }
            out.append(block.der)
            rest = rest[end.upperBound...]
        }
        guard !out.isEmpty else { throw X509Error.malformed("no X509 CRL block") }
        return out
    }

    /// Verifies `leaf` with `intermediates` at `time`; returns the path from
    /// the leaf to the root it ends at.
    public func verify(leaf: X509Certificate, intermediates: [X509Certificate], at time: Date) throws -> [X509Certificate] {
        guard !roots.isEmpty else { throw X509Error.noTrustAnchor }
        guard let store = X509_STORE_new() else { throw X509Error.malformed("out of memory") }
        defer { X509_STORE_free(store) }
        for root in roots { X509_STORE_add_cert(store, root.pointer) }
        var parsedCRLs: [OpaquePointer] = []
        defer { parsedCRLs.forEach { X509_CRL_free($0) } }
        for der in crls {
            let crl = der.withUnsafeBufferPointer { buf -> OpaquePointer? in
                var p: UnsafePointer<UInt8>? = buf.baseAddress
                return d2i_X509_CRL(nil, &p, buf.count)
            }
            guard let crl else { throw X509Error.malformed("not a DER X.509 CRL") }
            parsedCRLs.append(crl)
            X509_STORE_add_crl(store, crl)
        }

        guard let untrusted = OPENSSL_sk_new_null() else { throw X509Error.malformed("out of memory") }
        defer { OPENSSL_sk_free(untrusted) }
        for certificate in intermediates { OPENSSL_sk_push(untrusted, UnsafeRawPointer(certificate.pointer)) }

        guard let ctx = X509_STORE_CTX_new() else { throw X509Error.malformed("out of memory") }
        defer { X509_STORE_CTX_free(ctx) }
        guard X509_STORE_CTX_init(ctx, store, leaf.pointer, untrusted) == 1 else { throw X509Error.malformed("X509_STORE_CTX_init failed") }
        let param = X509_STORE_CTX_get0_param(ctx)
        X509_VERIFY_PARAM_set_time(param, time_t(time.timeIntervalSince1970))
        if !crls.isEmpty { X509_VERIFY_PARAM_set_flags(param, UInt(X509_V_FLAG_CRL_CHECK)) }

        guard X509_verify_cert(ctx) == 1 else {
            let code = X509_STORE_CTX_get_error(ctx)
            let depth = Int(X509_STORE_CTX_get_error_depth(ctx))
            throw X509Error.path(X509PathProblem(openSSLCode: code), depth: depth,
                                 detail: String(cString: X509_verify_cert_error_string(Int(code))))
        }
        var chain: [X509Certificate] = []
        if let stack = X509_STORE_CTX_get1_chain(ctx) {
            for i in 0..<OPENSSL_sk_num(stack) {
                // get1_chain took a reference on every element; the certificates own them.
                if let p = OPENSSL_sk_value(stack, i) { chain.append(X509Certificate(owning: OpaquePointer(p))) }
            }
            OPENSSL_sk_free(stack)
        }

        let usage = leaf.usage
        if usage.digitalSignature == false { throw X509Error.keyUsage }
        if usage.codeSigning == false { throw X509Error.extendedKeyUsage }
        // OpenSSL checked no purpose (it has none for code signing): an
        // issuer whose extended key usage shuts out code signing may not
        // vouch for a signing leaf, as Go's x509 rules for every certificate
        // of the chain.
        for (depth, issuer) in chain.enumerated().dropFirst() where !issuer.extendedKeyUsagePermitsCodeSigning {
            throw X509Error.issuerExtendedKeyUsage(depth: depth)
        }
        return chain
    }
}

/// Why a certification path was refused.
public enum X509PathProblem: Sendable, Equatable {
    case expired
    case notYetValid
    case revoked
    case unknownIssuer
    case selfSignedNotTrusted
    case badSignature
    case noCRL
    case crlExpiredOrNotYetValid
    case notACA
    case other(Int32)

    init(openSSLCode code: Int32) {
        switch code {
        case X509_V_ERR_CERT_HAS_EXPIRED: self = .expired
        case X509_V_ERR_CERT_NOT_YET_VALID: self = .notYetValid
        case X509_V_ERR_CERT_REVOKED: self = .revoked
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: self = .unknownIssuer
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: self = .selfSignedNotTrusted
        case X509_V_ERR_CERT_SIGNATURE_FAILURE, X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE: self = .badSignature
        case X509_V_ERR_UNABLE_TO_GET_CRL: self = .noCRL
        case X509_V_ERR_CRL_HAS_EXPIRED, X509_V_ERR_CRL_NOT_YET_VALID: self = .crlExpiredOrNotYetValid
        case X509_V_ERR_INVALID_CA: self = .notACA
        default: self = .other(code)
        }
    }
}

/// Errors of certificate parsing and path validation.
public enum X509Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input is not a well-formed certificate, chain or CRL.
    case malformed(String)
    /// No trusted root was given.
    case noTrustAnchor
    /// The path from the leaf to a trusted root failed at `depth` (0 = leaf).
    case path(X509PathProblem, depth: Int, detail: String)
    /// The leaf's key usage does not allow digitalSignature.
    case keyUsage
    /// The leaf's extended key usage does not include codeSigning.
    case extendedKeyUsage
    /// The issuer at `depth` of the chain has an extended key usage with
    /// neither codeSigning nor anyExtendedKeyUsage.
    case issuerExtendedKeyUsage(depth: Int)

    /// A stable identifier for reports and `--json` output.
    public var code: String {
        switch self {
        case .malformed: return "certificate.malformed"
        case .noTrustAnchor: return "certificate.no-trust-anchor"
        case .path(let problem, _, _):
            switch problem {
            case .expired: return "certificate.expired"
            case .notYetValid: return "certificate.not-yet-valid"
            case .revoked: return "certificate.revoked"
            case .unknownIssuer, .selfSignedNotTrusted: return "certificate.untrusted"
            case .badSignature: return "certificate.bad-signature"
            case .noCRL, .crlExpiredOrNotYetValid: return "certificate.crl-unusable"
            case .notACA: return "certificate.issuer-not-ca"
            case .other: return "certificate.path-invalid"
            }
        case .keyUsage: return "certificate.key-usage"
        case .extendedKeyUsage, .issuerExtendedKeyUsage: return "certificate.extended-key-usage"
        }
    }

    public var description: String {
        switch self {
        case let .malformed(reason): return "malformed certificate data: \(reason)"
        case .noTrustAnchor: return "no trusted root certificate was given"
        case let .path(problem, depth, detail):
            let which = depth == 0 ? "the signing certificate" : "the certificate at depth \(depth) of the chain"
            switch problem {
            case .expired: return "\(which) has expired"
            case .notYetValid: return "\(which) is not yet valid"
            case .revoked: return "\(which) is revoked"
            case .unknownIssuer: return "\(which) does not chain to a trusted root (\(detail))"
            case .selfSignedNotTrusted: return "the chain ends at a self-signed certificate that is not a trusted root"
            case .badSignature: return "\(which) has a signature that does not verify"
            case .noCRL: return "no CRL from the issuer of \(which) was given"
            case .crlExpiredOrNotYetValid: return "the CRL for \(which) is not current (\(detail))"
            case .notACA: return "an issuer in the chain is not a CA certificate"
            case .other: return "certificate path invalid at \(which): \(detail)"
            }
        case .keyUsage: return "the signing certificate's key usage does not allow digitalSignature"
        case .extendedKeyUsage: return "the signing certificate's extended key usage does not include codeSigning"
        case let .issuerExtendedKeyUsage(depth):
            return "the issuing certificate at depth \(depth) of the chain is limited by its extended key usage to purposes other than code signing"
        }
    }
}
