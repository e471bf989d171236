import ArgumentParser

/// Every top-level subcommand, in the order `--help` lists them: keys first,
/// then the release pipeline's commands, the deploy side, audits, and privacy.
enum CommandRegistry {
    static let all: [any ParsableCommand.Type] = [
        Keygen.self, KeyCommand.self,                       // keys
        Sign.self, Verify.self,                             // signing
        Encrypt.self, Decrypt.self, InspectEncrypted.self,  // encryption
        TokenCommand.self,                                  // access tokens
        ReleaseCommand.self,                                // release bundles and the deploy gate
        Scan.self,                                          // model scanner
        PolicyCommand.self, Audit.self,                     // policies and audits
        DPCommand.self,                                     // differential privacy
        LogCommand.self,                                    // transparency log of releases
        StoreCommand.self,                                  // the shared state store
        ServeCommand.self,                                  // the OAuth 2.0 token service
    ]
}
