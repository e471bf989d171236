import ArgumentParser
import ModelSec

/// `modelsec token jwks`: publish verification keys as a JWK Set.
struct TokenJWKS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwks",
        abstract: "Print a JWK Set (RFC 7517) of public keys for token verifiers.",
        discussion: """
        Ed25519 keys become OKP keys (RFC 8037, crv Ed25519, alg EdDSA); P-256 keys \
        EC keys (crv P-256, alg ES256). Each kid is the key's id, as token issue \
        writes by default. List old and new keys together while rotating.

        Examples:
          modelsec token jwks --public-key issuer.pem.pub > jwks.json
          modelsec token jwks --public-key new.pem.pub --public-key old.pem.pub \\
            --out public/jwks.json
        """
    )

    @Option(name: .customLong("public-key"), help: ArgumentHelp("A public key (SPKI PEM); repeat for more.", valueName: "PUB.pem"))
    var publicKeys: [String] = []

    @Option(name: [.customLong("out"), .customLong("output"), .customShort("o")],
            help: ArgumentHelp("Write the JWKS to FILE (atomically) instead of stdout ('-': stdout).", valueName: "FILE"))
    var out: String?

    @Flag(help: "Overwrite FILE if it exists (without it an existing FILE is refused).")
    var force = false

    func validate() throws {
        guard !publicKeys.isEmpty else { throw ValidationError("Give at least one --public-key.") }
    }

    func run() throws {
        // `--out -` is standard output, as without --out.
        let out = self.out == "-" ? nil : self.out
        if let out { try OutputGuard.refuseExisting(out, force: force) }
        let keys = try publicKeys.map(VerificationKey.load(publicKeyFile:))
        let document = try JSONWebKeySet.document(for: keys) + "\n"
        if let out {
            try AtomicFileWriter.write(Array(document.utf8), to: out, mode: 0o644, overwrite: force)
            CLI.info("wrote \(keys.count) key\(keys.count == 1 ? "" : "s") to \(out)")
        } else {
            print(document, terminator: "")
        }
    }
}
