import ArgumentParser
import ModelSec

/// `modelsec release …`: release bundles (signed + encrypted) and the deploy gate.
struct ReleaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Create signed, encrypted release bundles; verify and deploy them (the deploy gate); inspect them.",
        discussion: """
        A release directory holds release.json (name, version, digests, \
        encryption parameters, model card, DP report, scanner findings), \
        release.sig (an OpenSSF Model Signing signature over the plaintext files \
        and release.json) and artifacts/*.enc. The layout is documented in \
        docs/release-format.md.

        Examples:
          modelsec release create bert/ --name bert --version 1.0.0 \\
            --signing-key release.pem --recipient deploy.pub \\
            --metadata model-card.yaml --output bert-1.0.0
          modelsec release verify bert-1.0.0 --trusted-keys trusted/ \\
            --identity deploy.pem --output /models/bert
          modelsec release inspect bert-1.0.0 --json
        """,
        subcommands: [ReleaseCreate.self, ReleaseVerify.self, ReleaseInspect.self]
    )
}
