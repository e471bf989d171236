import ArgumentParser

/// Every top-level subcommand, in the order `--help` lists them. Each module's
/// commands are registered on their own line.
enum CommandRegistry {
    static let all: [any ParsableCommand.Type] = [
        // keys
        Keygen.self,
        KeyCommand.self,
        DPCommand.self,
        Sign.self, Verify.self,
        TokenCommand.self,
        Encrypt.self, Decrypt.self, InspectEncrypted.self,
        ReleaseCommand.self,
        Scan.self,
        PolicyCommand.self, Audit.self,
    ]
}
