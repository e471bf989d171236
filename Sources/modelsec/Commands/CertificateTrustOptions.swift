import ArgumentParser
import ModelSec

/// `--ca-roots`, `--certificate-identity`, `--certificate-oidc-issuer` and
/// `--crl`: how `verify` and the deploy gate (`release verify`) trust a
/// certificate signature (the OMS certificate method), in place of a list of
/// trusted keys.
struct CertificateTrustOptions: ParsableArguments {
    @Option(name: .customLong("ca-roots"), help: ArgumentHelp("Trusted root certificates (PEM; repeatable) for a certificate signature, instead of --trusted-keys or --public-key.", valueName: "ROOTS.pem"))
    var caRoots: [String] = []

    @Option(name: .customLong("certificate-identity"), help: ArgumentHelp("An e-mail or URI name the signing certificate must hold (exact; never a DNS name; with --ca-roots).", valueName: "SAN"))
    var identity: String?

    @Option(name: .customLong("certificate-oidc-issuer"), help: ArgumentHelp("The OIDC issuer the signing certificate must record (Fulcio extension; with --ca-roots).", valueName: "URL"))
    var oidcIssuer: String?

    @Option(help: ArgumentHelp("A CRL (PEM) from the signing certificate's issuer to check it against (repeatable; with --ca-roots).", valueName: "CRL.pem"))
    var crl: [String] = []

    /// True when `--ca-roots` was given: the signature is trusted through its certificate.
    var isGiven: Bool { !caRoots.isEmpty }

    /// Refuses the certificate conditions without `--ca-roots`. The command
    /// calls it from its own `validate()`, after its choice of trust source,
    /// so that error comes first.
    func validateNeedsRoots() throws {
        if caRoots.isEmpty, identity != nil || oidcIssuer != nil || !crl.isEmpty {
            throw ValidationError("--certificate-identity, --certificate-oidc-issuer and --crl need --ca-roots")
        }
    }

    /// The signing certificate of `bundle` (read from `label`), once its
    /// chain leads to one of the roots, valid now, and it holds the identity
    /// and issuer asked for: the one check both commands make.
    func signer(of bundle: SignatureBundle, label: String) throws -> CertifiedSigner {
        let trust = try CLI.certificateTrust(caRoots: caRoots, crls: crl, identity: identity, oidcIssuer: oidcIssuer)
        return try trust.signer(of: bundle, label: label)
    }
}
